"""`read_body` reads an ASGI request's messages as Starlette's `Request.stream` would."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request

from app.web.requests import BodyTooLarge, read_body


def _request(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]] = []) -> Request:  # noqa: B006
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    scope = {"type": "http", "method": "POST", "headers": headers, "path": "/", "query_string": b""}
    return Request(scope, receive)


def _body(*chunks: bytes) -> list[dict[str, Any]]:
    return [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]


@pytest.mark.parametrize(
    "chunks", [(b"",), (b"abc",), (b"ab", b"c"), (b"", b"abc", b""), (b"a", b"", b"bc")]
)
def test_a_body_in_any_chunks_reads_whole(chunks: tuple[bytes, ...]) -> None:
    assert asyncio.run(read_body(_request(_body(*chunks)), 10)) == b"".join(chunks)


@pytest.mark.parametrize("chunks", [(b"x" * 11,), (b"x" * 6, b"x" * 5), (b"x" * 11, b"")])
def test_a_body_past_the_limit_is_refused(chunks: tuple[bytes, ...]) -> None:
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(_request(_body(*chunks)), 10))


def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    request = _request([], headers=[(b"content-length", b"11")])
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(request, 10))


def test_a_disconnect_mid_body_is_a_client_disconnect() -> None:
    messages = [*_body(b"ab", b"c")[:1], {"type": "http.disconnect"}]
    with pytest.raises(ClientDisconnect):
        asyncio.run(read_body(_request(messages), 10))
