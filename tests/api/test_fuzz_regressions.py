"""What fuzzing turned up, pinned as plain tests (see tests/fuzz/).

JSON nested about a thousand levels deep reached the interpreter's recursion limit: in the json
module while reading the body (any depth past it) and, just below that, in the idempotency
fingerprint's `json.dumps` of the variables. Both were bare 500s. Request JSON nesting more than
MAX_JSON_DEPTH levels is now refused with a 400 before anything else reads it.

Then (issue 13):
- a REST bracket index that `str.isdigit` admits but `int` cannot read (`expand[²]`) was a 500;
- a lone surrogate (`"\\ud800"`), which only the json fallback reads, was stored in metadata
  and broke every later list of the account, and failed in the driver elsewhere;
- REST percent-escapes that are not UTF-8 were stored as U+FFFD;
- `$` let a trailing newline through the e-mail, phone, customer and id patterns;
- REST read `metadata[0]=v` as a list, refusing the key "0" that GraphQL accepts;
- a WebSocket text frame that is not UTF-8 made uvicorn log tracebacks at ERROR (and, sent
  with a close frame, fail to answer on the closing socket): now one-line warnings;
- a WebSocket operation answering into a socket the client (or uvicorn) had closed logged
  "unexpected error running a WebSocket operation" with a traceback;
- a WebSocket close reason quoting a client's type or id in four-byte characters did not fit
  a close frame, and the socket dropped without a close code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.logs import ClientTextFilter
from app.web.graphql import MAX_JSON_DEPTH
from tests.conftest import Api, run
from tests.fuzz.state import account_state
from tests.helpers import CREATE
from tests.ws_client import PROTOCOL

TYPENAME = "{ __typename }"

UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) { userErrors { field code } }
}
"""


def nested(depth: int) -> str:
    """A JSON array `depth` levels deep, as text (json.dumps itself could not write it)."""
    return "[" * depth + "1" + "]" * depth


def post_raw(api: Api, body: str, **headers: str) -> httpx.Response:
    return api.http.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {api.key}",
            "Content-Type": "application/json",
            **headers,
        },
    )


def metadata_body(value: str) -> str:
    """An update whose metadata value is the JSON text `value`: at depth 5 of the body (body,
    variables, input, metadata, value)."""
    return (
        f'{{"query": {json.dumps(UPDATE)}, '
        f'"variables": {{"input": {{"id": "vs_x", "metadata": {{"k": {value}}}}}}}}}'
    )


def assert_too_deep(response: httpx.Response, what: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "errors": [
            {
                "message": f"{what} nests JSON more than {MAX_JSON_DEPTH} levels deep.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 1_000, 100_000])
def test_a_body_nested_past_the_limit_is_a_bad_request(api: Api, depth: int) -> None:
    # when
    response = post_raw(api, f'{{"query": "{TYPENAME}", "variables": {{"a": {nested(depth)}}}}}')
    # then: the body, variables and the array's levels: past the limit whatever the depth
    assert_too_deep(response, "The request body")


def test_keyed_mutation_with_variables_nested_near_the_recursion_limit_is_a_bad_request(
    api: Api,
) -> None:
    # given: one depth (about 970 levels; where exactly depends on the stack) used to parse
    # and then fail in the idempotency fingerprint, so every depth around the limit is tried
    depths = range(900, 1_000)
    # when
    statuses = {
        depth: post_raw(
            api, metadata_body(nested(depth)), **{"Idempotency-Key": f"deep-{depth}"}
        ).status_code
        for depth in depths
    }
    # then
    assert {depth: status for depth, status in statuses.items() if status != 400} == {}


def test_json_nested_up_to_the_limit_is_still_read(api: Api) -> None:
    # given: the metadata value sits at level 5, so this body nests exactly MAX_JSON_DEPTH levels
    value = nested(MAX_JSON_DEPTH - 4)
    # when
    response = post_raw(api, metadata_body(value), **{"Idempotency-Key": "deep-at-the-limit"})
    # then: read and answered (the session does not exist), not refused
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["updateVerificationSession"]
    assert payload == {"userErrors": [{"field": ["id"], "code": "RESOURCE_MISSING"}]}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 3_000])
def test_get_variables_nested_past_the_limit_are_a_bad_request(api: Api, depth: int) -> None:
    # when
    response = api.http.get(
        "/graphql",
        params={"query": TYPENAME, "variables": f'{{"a": {nested(depth)}}}'},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert_too_deep(response, "`variables`")


def post_form(api: Api, path: str, body: str) -> httpx.Response:
    return api.http.post(
        path,
        content=body,
        headers={
            "Authorization": f"Bearer {api.key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


@pytest.mark.parametrize(
    ("pair", "param"),
    [
        ("expand[\u00b2]=verified_outputs", "expand"),
        ("metadata[a][\u00b2]=x", "metadata[a]"),
        ("options[document][allowed_types][\u00b2]=passport", "options[document][allowed_types]"),
        ("options[document][allowed_types][\u0663]=passport", "options[document][allowed_types]"),
    ],
)
def test_a_bracket_index_that_is_not_ascii_digits_is_a_bad_request(
    api: Api, pair: str, param: str
) -> None:
    # given
    before = account_state(api)
    # when
    created = post_form(api, "/v1/identity/verification_sessions", f"type=document&{pair}")
    listed = api.http.get(
        f"/v1/identity/verification_sessions?{pair}", headers={"Authorization": f"Bearer {api.key}"}
    )
    # then
    assert created.status_code == 400, created.text
    assert created.json()["error"]["param"] == param
    assert listed.status_code == 400, listed.text
    assert account_state(api) == before


def test_percent_escapes_that_are_not_utf8_are_refused_not_replaced(api: Api) -> None:
    # given
    before = account_state(api)
    # when
    created = post_form(
        api, "/v1/identity/verification_sessions", "type=document&metadata[k]=%ED%A0%80"
    )
    listed = api.http.get(
        "/v1/identity/verification_sessions?starting_after=%FF",
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert created.status_code == 400, created.text
    assert created.json()["error"]["message"] == (
        "The body has percent-encoded bytes that are not UTF-8."
    )
    assert listed.status_code == 400, listed.text
    assert "The query string" in listed.json()["error"]["message"]
    assert account_state(api) == before


@pytest.mark.parametrize(
    "input_json",
    [
        '{"type": "DOCUMENT", "metadata": {"k": "\\ud800"}}',
        '{"type": "DOCUMENT", "metadata": {"\\udfff": "v"}}',
        '{"type": "DOCUMENT", "clientReferenceId": "a\\ud83d"}',
        '{"type": "DOCUMENT", "providedDetails": {"email": "\\ud800@example.com"}}',
    ],
)
def test_a_lone_surrogate_in_graphql_json_is_a_bad_request_and_stores_nothing(
    api: Api, input_json: str
) -> None:
    # given
    before = account_state(api)
    # when
    response = post_raw(
        api, f'{{"query": {json.dumps(CREATE)}, "variables": {{"input": {input_json}}}}}'
    )
    # then
    assert response.status_code == 400, response.text
    assert "lone UTF-16 surrogate" in response.json()["errors"][0]["message"]
    assert account_state(api) == before
    # and the account still lists
    listed = api.http.get(
        "/v1/identity/verification_sessions", headers={"Authorization": f"Bearer {api.key}"}
    )
    assert listed.status_code == 200, listed.text


def test_a_lone_surrogate_in_get_variables_is_a_bad_request(api: Api) -> None:
    response = api.http.get(
        "/graphql",
        params={
            "query": "query($c: String) { verificationSessions(filter: {clientReferenceId: $c})"
            " { nodes { id } } }",
            "variables": '{"c": "\\ud800"}',
        },
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"].startswith("`variables` holds a lone UTF-16")


def test_a_surrogate_pair_is_ordinary_text(api: Api) -> None:
    # given: json.dumps writes the emoji as a pair of escapes, and the long number sends the
    # body down the json path, the one that reads lone surrogates too
    variables = {"input": {"type": "DOCUMENT", "metadata": {"k": "\U0001f600"}}}
    body = json.dumps({"query": CREATE, "variables": variables, "n": 12345678901234567890})
    assert "\\ud83d\\ude00" in body
    # when
    response = post_raw(api, body)
    # then
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["createVerificationSession"]
    assert payload["verificationSession"]["metadata"] == {"k": "\U0001f600"}, payload


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("providedDetails", {"email": "jenny@example.com\n"}),
        ("providedDetails", {"email": "jenny\x07@example.com"}),
        ("providedDetails", {"phone": "+14155550123\n"}),
        ("relatedCustomer", "cus_123\n"),
        ("relatedPerson", {"account": "acct_1\n", "person": "person_1"}),
    ],
)
def test_a_trailing_newline_or_control_character_breaks_the_rule(
    api: Api, field: str, value: Any
) -> None:
    # given
    before = account_state(api)
    # when
    response = api.post(CREATE, {"input": {"type": "DOCUMENT", field: value}})
    # then
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["createVerificationSession"]
    assert payload["verificationSession"] is None
    assert [error["code"] for error in payload["userErrors"]] == ["PARAMETER_INVALID"], payload
    assert account_state(api) == before


@pytest.mark.parametrize(
    "pair",
    [
        "provided_details[email]=jenny%40example.com%0A",
        "provided_details[phone]=%2B14155550123%0A",
        "related_customer=cus_123%0A",
        "metadata%5Bk%5D%0A=v",
    ],
)
def test_a_trailing_newline_is_refused_over_rest(api: Api, pair: str) -> None:
    before = account_state(api)
    response = post_form(api, "/v1/identity/verification_sessions", f"type=document&{pair}")
    assert response.status_code == 400, response.text
    assert account_state(api) == before


async def close_of(api: Api, *messages: str) -> tuple[int, str]:
    url = api.server.base_url.replace("http://", "ws://", 1) + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {api.key}"}}
            )
        )
        await socket.recv()
        for message in messages:
            await socket.send(message)
        with pytest.raises(ConnectionClosed):
            while True:
                await socket.recv()
        frame = socket.protocol.close_rcvd
        assert frame is not None, "the socket dropped without a close frame"
        return frame.code, frame.reason


def test_a_close_reason_quoting_a_long_type_still_fits_a_close_frame(api: Api) -> None:
    code, reason = run(close_of(api, json.dumps({"type": "\U0001f600" * 40})))
    assert code == 4400
    assert reason.startswith("Invalid message type") and len(reason.encode()) <= 123


def test_a_close_reason_quoting_a_duplicate_id_still_fits_a_close_frame(api: Api) -> None:
    subscribe = json.dumps(
        {
            "id": "\U0001f600" * 64,
            "type": "subscribe",
            "payload": {"query": "subscription { events { cursor } }"},
        }
    )
    code, reason = run(close_of(api, subscribe, subscribe))
    assert code == 4409
    assert reason.startswith("Subscriber for") and len(reason.encode()) <= 123


def test_a_metadata_key_of_digits_is_a_key_on_both_surfaces(api: Api) -> None:
    # given: what an SDK sends for {"0": "v", "": ""} (the empty key refused, as on GraphQL)
    rest = post_form(api, "/v1/identity/verification_sessions", "type=document&metadata[0]=v")
    gql = api.post(CREATE, {"input": {"type": "DOCUMENT", "metadata": {"0": "v"}}})
    empty = post_form(api, "/v1/identity/verification_sessions", "type=document&metadata[]=v")
    # then
    assert rest.status_code == 200, rest.text
    assert rest.json()["metadata"] == {"0": "v"}
    created = gql.json()["data"]["createVerificationSession"]["verificationSession"]
    assert created["metadata"] == {"0": "v"}
    assert empty.status_code == 400, empty.text
    assert empty.json()["error"]["message"] == "Metadata keys must not be empty."


async def text_not_utf8_then_close(api: Api) -> None:
    """A text frame that is not UTF-8 and a close frame in one write, as a client may send."""
    url = api.server.base_url.replace("http://", "ws://", 1) + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        socket.protocol.send_text(b"\xff")
        socket.protocol.send_close(1000)
        socket.transport.write(b"".join(socket.protocol.data_to_send()))
        await asyncio.sleep(0.05)


def test_a_text_frame_not_utf8_with_a_close_logs_no_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # given: the filter `python -m app serve` sets (logs.configure)
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "asyncio")]
    text_filter = ClientTextFilter()
    for logger in loggers:
        logger.addFilter(text_filter)
    caplog.set_level(logging.WARNING)
    try:
        # when: uvicorn (0.54) fails to send its 1007 on the closing socket, every time
        for _ in range(5):
            run(text_not_utf8_then_close(api))
        time.sleep(0.5)  # the server's loop logs on its own thread
    finally:
        for logger in loggers:
            logger.removeFilter(text_filter)
    # then: warnings, one line each; and the server still answers
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(record.exc_info is None for record in caplog.records)
    assert api.post(TYPENAME).json() == {"data": {"__typename": "Query"}}


async def operations_then_gone(api: Api) -> None:
    """Two operations and a bad frame, then the client's close, without waiting for answers."""
    url = api.server.base_url.replace("http://", "ws://", 1) + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {api.key}"}}
            )
        )
        await socket.recv()
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": TYPENAME}})
        )
        await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": {}}))
        await socket.send("{")


def test_a_client_gone_under_running_operations_logs_no_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.ERROR)
    # when: the operations' answers meet a closing socket (it did so 57 times in 30 runs)
    for _ in range(10):
        run(operations_then_gone(api))
    time.sleep(0.5)  # the server's loop logs on its own thread
    # then
    assert [record.getMessage() for record in caplog.records] == []
    assert api.post(TYPENAME).json() == {"data": {"__typename": "Query"}}


def test_a_message_nesting_json_deeper_than_the_limit_closes_with_4400(api: Api) -> None:
    # given: a subscribe whose variables nest 500 levels (HTTP refuses more than 64 with a 400)
    nested: object = "leaf"
    for _ in range(500):
        nested = [nested]
    subscribe = json.dumps(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": "query($v: JSON) { __typename }", "variables": {"v": nested}},
        }
    )
    # then: the socket closes naming the rule, as for any message the protocol cannot take
    code, reason = run(close_of(api, subscribe))
    assert (code, reason) == (4400, "The message nests JSON more than 64 levels deep")
