"""Fuzzing `/graphql` over WebSocket (`graphql-transport-ws`, app/web/subscriptions.py) on a live
server: whatever frames a client sends, before or after `connection_init`, the server answers
with protocol messages or closes with one of the protocol's codes, never 1011 (an internal error)
or a dropped socket without a close frame, never logs an unhandled exception, and a new
connection still works afterwards.

Frames are garbage text and bytes, text frames that are not UTF-8, JSON of any shape, and
messages of the protocol's types with ids and payloads of the wrong types, huge or in four-byte
characters, and JSON nested deeper than the HTTP surface allows. After its frames each example
sends a `ping`: the `pong` shows the server read them all and kept the socket open. Derandomized
and bounded like the other fuzzers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.logs import ClientTextFilter
from tests.conftest import Api, run
from tests.fuzz.test_fuzz_graphql import FUZZ_SETTINGS, LEAK_MARKERS, json_values
from tests.ws_client import PROTOCOL, WAIT_SECONDS

EXAMPLES = 150
# What the protocol closes with for bad input: an unknown or malformed message (4400), a
# subscribe before the ack (4401), bad credentials (4403), a duplicate id (4409), a second init
# (4429), text that is not UTF-8 (1007) or a frame too large (1009).
PROTOCOL_CLOSES = {1007, 1009, 4400, 4401, 4403, 4409, 4429}
SERVER_TYPES = {"connection_ack", "next", "error", "complete", "ping", "pong"}
TYPES = ("connection_init", "subscribe", "complete", "ping", "pong", "next", "error", "", "x")
QUERIES = (
    "{ __typename }",
    "subscription { events { cursor } }",
    "subscription($id: ID!) { verificationSession(id: $id) { id } }",
    "mutation { createVerificationSession(input: {type: DOCUMENT}) { userErrors { code } } }",
    "query($m: Metadata) { __typename }",
    "{",
)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


AWKWARD = st.sampled_from(
    [None, 0, -1, 2**70, 1.5, True, "", "a", "\U0001f600" * 64, "x" * 10_000, [], {}]
)
IDS = st.one_of(AWKWARD, st.text(max_size=20), st.sampled_from(["op", "op", "op2"]))
REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "query": st.one_of(st.sampled_from(QUERIES), AWKWARD, st.text(max_size=40)),
        "variables": st.one_of(
            AWKWARD,
            json_values(st.text(max_size=8)),
            st.builds(lambda depth: {"m": nested(depth)}, st.integers(60, 900)),
        ),
        "operationName": st.one_of(AWKWARD, st.text(max_size=20)),
        "extensions": st.one_of(
            AWKWARD, st.just({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
        ),
        "documentId": st.one_of(AWKWARD, st.text(max_size=20)),
        "Authorization": st.one_of(AWKWARD, st.just("Bearer sk_test_x")),
    },
)
PAYLOADS = st.one_of(AWKWARD, json_values(st.text(max_size=8)), REQUESTS)
# Subscribes with an id and a payload object, so that most reach the operation behind them.
SUBSCRIBES = st.fixed_dictionaries(
    {
        "type": st.just("subscribe"),
        "id": st.sampled_from(["op", "op", "op2", "\U0001f600" * 64]) | st.text(min_size=1),
        "payload": REQUESTS,
    }
)
# Mostly the client's own types, so that most messages get past the type into the rules behind.
CLIENT_TYPES = st.sampled_from(["subscribe", "subscribe", "subscribe", "complete", "ping", "pong"])
MESSAGES = st.fixed_dictionaries(
    {"type": st.one_of(CLIENT_TYPES, CLIENT_TYPES, st.sampled_from(TYPES), AWKWARD, st.text())},
    optional={"id": IDS, "payload": PAYLOADS},
)
# Text frames that are not UTF-8: uvicorn closes with 1007 and drops the TCP connection at once,
# so these are only ever the last frame sent (a frame after it could reset the connection
# before the client reads the close frame), into a socket that is open and idle.
NOT_UTF8 = st.sampled_from([b"\xff\xfe", b"\xc3(", b'{"type": "\xe9"}'])
# A frame: what `websockets` sends, and whether as a text frame.
FRAMES = st.one_of(
    SUBSCRIBES.map(lambda message: (json.dumps(message), True)),
    SUBSCRIBES.map(lambda message: (json.dumps(message), True)),
    SUBSCRIBES.map(lambda message: (json.dumps(message), True)),
    MESSAGES.map(lambda message: (json.dumps(message), True)),
    MESSAGES.map(lambda message: (json.dumps(message), True)),
    MESSAGES.map(lambda message: (json.dumps(message).encode(), False)),
    st.text(max_size=60).map(lambda text: (text, True)),
    st.binary(max_size=60).map(lambda data: (data, False)),
    # Past what orjson reads (1024 levels): json.dumps could not write it.
    st.integers(1020, 1100).map(
        lambda depth: ('{"type": "ping", "x": ' + "[" * depth + "]" * depth + "}", True)
    ),
)


@pytest.fixture
def error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records at ERROR or above from the server (it runs in this process, on another thread),
    with the filter `python -m app serve` puts on uvicorn's log."""
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "asyncio")]
    text_filter = ClientTextFilter()
    for logger in loggers:
        logger.addFilter(text_filter)
    caplog.set_level(logging.ERROR)
    yield caplog
    for logger in loggers:
        logger.removeFilter(text_filter)


def test_any_frames_get_a_protocol_answer_never_an_internal_error(
    api: Api, error_logs: pytest.LogCaptureFixture
) -> None:
    url = api.server.base_url.replace("http://", "ws://", 1) + "/graphql"
    init = json.dumps(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {api.key}"}}
    )

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(
        initialised=st.sampled_from([True, True, True, False]),
        frames=st.lists(FRAMES, min_size=1, max_size=4),
        last=st.none() | st.none() | st.none() | NOT_UTF8,
    )
    def fuzz(initialised: bool, frames: list[tuple[str | bytes, bool]], last: bytes | None) -> None:
        sent = "".join(repr(frame) for frame, _ in frames)
        # when
        received, close = run(exchange(url, init if initialised else None, frames, last))
        # then
        for raw in received:
            message = json.loads(raw)
            assert message["type"] in SERVER_TYPES, raw
            for marker in LEAK_MARKERS:
                if marker not in sent:
                    assert marker not in raw, raw
        if close is not None:
            assert close in PROTOCOL_CLOSES, (close, frames, received)
        # and a new connection still works
        assert run(still_works(url, init)) == {"data": {"__typename": "Query"}}

    fuzz()
    unhandled = [record for record in error_logs.records if record.levelno >= logging.ERROR]
    assert unhandled == [], [record.getMessage() for record in unhandled]


async def exchange(
    url: str, init: str | None, frames: list[tuple[str | bytes, bool]], last: bytes | None
) -> tuple[list[str], int | None]:
    """Send `init` (if any) and the frames, then a ping; once the pong shows the socket open and
    idle, `last` (if any) as a text frame. What the server sent, and its close code: None while
    the socket is open.

    A closed socket without a close frame fails the test: that is what an internal error or a
    close frame that could not be sent looks like from here.
    """
    received: list[str] = []
    async with connect(url, subprotocols=[PROTOCOL], max_size=None) as socket:  # type: ignore[list-item]
        try:
            if init is not None:
                await socket.send(init)
            for frame, text in frames:
                await socket.send(frame, text=text)
            await socket.send('{"type": "ping"}')
            while True:
                raw = await asyncio.wait_for(socket.recv(), WAIT_SECONDS)
                assert isinstance(raw, str), raw
                received.append(raw)
                if orjson.loads(raw).get("type") != "pong":
                    continue
                if last is None:
                    return received, None
                # Only into an idle socket, so that its close cannot cross one of the app's
                # (whether uvicorn's 1007 then goes out is a race).
                await socket.send(last, text=True)
                last = None
        except ConnectionClosed:
            pass
        return received, close_code(socket)


def close_code(socket: ClientConnection) -> int:
    frame = socket.protocol.close_rcvd
    assert frame is not None, "the server dropped the socket without a close frame"
    return frame.code


async def still_works(url: str, init: str) -> Any:
    async with connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(init)
        assert json.loads(await asyncio.wait_for(socket.recv(), WAIT_SECONDS)) == {
            "type": "connection_ack"
        }
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
        )
        message = json.loads(await asyncio.wait_for(socket.recv(), WAIT_SECONDS))
        assert message["type"] == "next", message
        return message["payload"]
