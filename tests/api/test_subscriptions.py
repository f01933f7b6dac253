"""GraphQL over WebSocket (`graphql-transport-ws` on /graphql) against a live server: auth in
`connection_init`, the protocol's close codes, queries and mutations as over HTTP, and the two
subscriptions (`events` with its resume cursor, `verificationSession`)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from app.settings import Settings
from tests.clients.conftest import ROOT
from tests.conftest import Api, Database, Server, client_of, run, running_server
from tests.helpers import CANCEL, CREATE, CREATE_CREDENTIALS, UPDATE
from tests.ws_client import Closed, connected, session

EVENTS_SUBSCRIPTION = """
subscription Events($since: String, $filter: EventSubscriptionFilter) {
  events(since: $since, filter: $filter) {
    cursor
    node { id type verificationSession { id status } }
  }
}
"""

SESSION_SUBSCRIPTION = """
subscription Watch($id: ID!) {
  verificationSession(id: $id) { id status metadata }
}
"""

EVENT_CURSORS = """
query Cursors($filter: EventFilter) {
  events(first: 100, filter: $filter) { edges { cursor node { id type } } }
}
"""

CREATE_ID = """
mutation Create {
  createVerificationSession(input: {type: DOCUMENT}) {
    verificationSession { id }
    userErrors { code }
  }
}
"""


@pytest.fixture(scope="module")
def live_server(database: Database) -> Iterator[Server]:
    settings = Settings(
        database_url=database.url,
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
        subscription_poll_seconds=0.05,
        subscriptions_per_connection=3,
        websocket_connections_per_key=2,
        websocket_init_timeout_seconds=1,
        cors_origins=("https://shop.example",),
    )
    with running_server(settings) as started:
        yield started


@pytest.fixture
def live_api(live_server: Server) -> Iterator[Api]:
    with client_of(live_server) as client:
        yield client


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    payload = api.gql(CREATE, {"input": {"type": "DOCUMENT", **overrides}})[
        "createVerificationSession"
    ]
    assert payload["userErrors"] == []
    return payload["verificationSession"]  # type: ignore[no-any-return]


def close_of(api: Api, payload: dict[str, Any] | None, **connect: Any) -> Closed:
    async def go() -> Closed:
        async with connected(api.server.base_url, **connect) as client:
            with pytest.raises(Closed) as closed:
                await client.init(payload)
            return closed.value

    result: Closed = run(go())
    return result


# Connecting and authenticating.


def test_connection_init_with_a_key_is_acknowledged(live_api: Api) -> None:
    async def go() -> dict[str, Any]:
        async with connected(live_api.server.base_url) as client:
            return await client.init({"Authorization": f"Bearer {live_api.key}"})

    assert run(go()) == {"type": "connection_ack"}


def test_lowercase_authorization_is_accepted(live_api: Api) -> None:
    async def go() -> dict[str, Any]:
        async with connected(live_api.server.base_url) as client:
            return await client.init({"authorization": f"Bearer {live_api.key}"})

    assert run(go())["type"] == "connection_ack"


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer sk_test_forged"}],
    ids=["no-payload", "no-key", "not-bearer", "forged"],
)
def test_bad_credentials_close_with_4403_before_any_operation(
    live_api: Api, payload: dict[str, Any] | None
) -> None:
    closed = close_of(live_api, payload)
    assert closed.code == 4403
    assert "sk_test_forged" not in closed.reason


def test_a_spent_client_secret_closes_with_4403(live_api: Api) -> None:
    # given a session canceled, which spends its client secret
    created = live_api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})
    session_row = created["createVerificationSession"]["verificationSession"]
    live_api.gql(CANCEL, {"id": session_row["id"]})
    # when / then
    closed = close_of(live_api, {"Authorization": f"Bearer {session_row['clientSecret']}"})
    assert closed.code == 4403


def test_a_subscribe_before_the_ack_closes_with_4401(live_api: Api) -> None:
    async def go() -> Closed:
        async with connected(live_api.server.base_url) as client:
            await client.subscribe("1", EVENTS_SUBSCRIPTION)
            return await client.wait_closed()

    assert run(go()).code == 4401


def test_no_connection_init_in_time_closes_with_4408(live_api: Api) -> None:
    async def go() -> Closed:
        async with connected(live_api.server.base_url) as client:
            return await client.wait_closed()

    assert run(go()).code == 4408


def test_a_second_connection_init_closes_with_4429(live_api: Api) -> None:
    async def go() -> Closed:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.send({"type": "connection_init"})
            return await client.wait_closed()

    assert run(go()).code == 4429


def test_an_invalid_message_closes_with_4400(live_api: Api) -> None:
    async def go() -> Closed:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.socket.send("not json")
            return await client.wait_closed()

    assert run(go()).code == 4400


def test_without_the_subprotocol_the_socket_closes_with_4406(live_api: Api) -> None:
    closed = close_of(
        live_api, {"Authorization": f"Bearer {live_api.key}"}, subprotocols=["graphql-ws"]
    )
    assert closed.code == 4406


def test_an_origin_outside_cors_origins_is_refused(live_api: Api) -> None:
    from websockets.exceptions import InvalidStatus

    async def go() -> None:
        async with connected(live_api.server.base_url, origin="https://evil.example"):
            pass

    with pytest.raises(InvalidStatus) as refused:
        run(go())
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["https://shop.example", "same-origin"])
def test_cors_origins_and_the_same_origin_may_connect(live_api: Api, origin: str) -> None:
    base_url = live_api.server.base_url
    origin = base_url if origin == "same-origin" else origin

    async def go() -> dict[str, Any]:
        async with connected(base_url, origin=origin) as client:
            return await client.init({"Authorization": f"Bearer {live_api.key}"})

    assert run(go())["type"] == "connection_ack"


def test_connections_per_key_are_limited(live_api: Api) -> None:
    async def go() -> Closed:
        base_url, key = live_api.server.base_url, live_api.key
        async with session(base_url, key), session(base_url, key), connected(base_url) as third:
            with pytest.raises(Closed) as closed:
                await third.init({"Authorization": f"Bearer {key}"})
            return closed.value

    closed = run(go())
    assert closed.code == 4429
    assert "WEBSOCKET_CONNECTIONS_PER_KEY" in closed.reason


# Queries and mutations over the socket.


def test_a_query_and_a_mutation_answer_as_over_http(live_api: Api) -> None:
    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("m", CREATE_ID)
            created = await client.message("m")
            assert (await client.message("m"))["type"] == "complete"
            session_id = created["payload"]["data"]["createVerificationSession"][
                "verificationSession"
            ]["id"]
            await client.subscribe(
                "q",
                "query($id: ID!) { verificationSession(id: $id) { id status } }",
                {"id": session_id},
            )
            return [created, await client.message("q"), await client.message("q")]

    created, read, complete = run(go())
    session_id = created["payload"]["data"]["createVerificationSession"]["verificationSession"][
        "id"
    ]
    assert read == {
        "id": "q",
        "type": "next",
        "payload": {
            "data": {"verificationSession": {"id": session_id, "status": "REQUIRES_INPUT"}}
        },
    }
    assert complete == {"id": "q", "type": "complete"}
    over_http = live_api.post("query { nope }").json()
    assert over_http["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_a_document_over_the_query_limits_gets_the_same_error_as_over_http(
    live_api: Api,
) -> None:
    too_deep = (
        "query { events { nodes { "
        + "verificationSession { lastVerificationReport { verificationSession { " * 5
        + "id"
        + " } } }" * 5
        + " } } }"
    )
    deep_subscription = too_deep.replace(
        "query { events { nodes {", "subscription { events { node {", 1
    )

    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("bad", "query { nope }")
            await client.subscribe("deep", too_deep)
            await client.subscribe("deep-subscription", deep_subscription)
            return [await client.message(each) for each in ("bad", "deep", "deep-subscription")]

    bad, deep, deep_subscription_error = run(go())
    assert bad["type"] == deep["type"] == deep_subscription_error["type"] == "error"
    assert bad["payload"] == live_api.post("query { nope }").json()["errors"]
    assert deep["payload"] == live_api.post(too_deep).json()["errors"]
    assert deep["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert deep_subscription_error["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


def test_subscriptions_per_connection_are_limited(live_api: Api) -> None:
    async def go() -> dict[str, Any]:
        async with session(live_api.server.base_url, live_api.key) as client:
            for operation_id in ("1", "2", "3"):
                await client.subscribe(operation_id, EVENTS_SUBSCRIPTION)
            await client.subscribe("4", EVENTS_SUBSCRIPTION)
            return await client.message("4")

    refused = run(go())
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"


def test_a_duplicate_operation_id_closes_with_4409(live_api: Api) -> None:
    async def go() -> Closed:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("same", EVENTS_SUBSCRIPTION)
            await client.subscribe("same", EVENTS_SUBSCRIPTION)
            return await client.wait_closed()

    assert run(go()).code == 4409


# The events subscription.


def test_events_replays_after_since_then_goes_live_without_gap_or_repeat(live_api: Api) -> None:
    # given two events before the cursor and one after it
    first = create(live_api)
    cursor = live_api.gql(EVENT_CURSORS)["events"]["edges"][0]["cursor"]
    second = create(live_api)

    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("e", EVENTS_SUBSCRIPTION, {"since": cursor})
            replayed = await client.payloads("e", 1)
            # when a third event is committed while subscribed
            await asyncio.to_thread(live_api.gql, CANCEL, {"id": second["id"]})
            return replayed + await client.payloads("e", 1)

    received = run(go())
    # then: what came after the cursor, oldest first, with the `events` query's cursors; each
    # node's session as it was when the message was sent (not cached across messages)
    listed = list(reversed(live_api.gql(EVENT_CURSORS)["events"]["edges"]))
    assert listed[0]["node"]["id"] != received[0]["data"]["events"]["node"]["id"]
    assert [payload["data"]["events"] for payload in received] == [
        {
            "cursor": edge["cursor"],
            "node": {
                "id": edge["node"]["id"],
                "type": edge["node"]["type"],
                "verificationSession": {"id": second["id"], "status": status},
            },
        }
        for edge, status in zip(listed[1:], ["REQUIRES_INPUT", "CANCELED"], strict=True)
    ]
    assert first["id"] != second["id"]


def test_events_without_since_starts_with_the_next_event(live_api: Api) -> None:
    create(live_api)

    async def go() -> dict[str, Any]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("e", EVENTS_SUBSCRIPTION)
            await asyncio.sleep(0.2)  # let the subscription start before the next change
            created = await asyncio.to_thread(create, live_api)
            (payload,) = await client.payloads("e", 1)
            assert payload["data"]["events"]["node"]["verificationSession"]["id"] == created["id"]
            return payload

    payload = run(go())
    assert payload["data"]["events"]["node"]["type"] == "identity.verification_session.created"


def test_events_filter_by_type_and_session(live_api: Api) -> None:
    kept, other = create(live_api), create(live_api)
    cursor = live_api.gql(EVENT_CURSORS)["events"]["edges"][0]["cursor"]
    live_api.gql(CANCEL, {"id": other["id"]})
    live_api.gql(CANCEL, {"id": kept["id"]})
    filter = {
        "types": ["identity.verification_session.canceled"],
        "verificationSession": kept["id"],
    }

    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("e", EVENTS_SUBSCRIPTION, {"since": cursor, "filter": filter})
            return await client.payloads("e", 1)

    (payload,) = run(go())
    node = payload["data"]["events"]["node"]
    assert (node["type"], node["verificationSession"]["id"]) == (
        "identity.verification_session.canceled",
        kept["id"],
    )


@pytest.mark.parametrize("since", ["nonsense", "djE6c2VxOng"], ids=["garbage", "not-a-number"])
def test_a_malformed_since_is_bad_user_input_naming_since(live_api: Api, since: str) -> None:
    async def go() -> dict[str, Any]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("e", EVENTS_SUBSCRIPTION, {"since": since})
            return await client.message("e")

    message = run(go())
    assert message["type"] == "error"
    (error,) = message["payload"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`since`" in error["message"]


def test_a_client_secret_may_not_subscribe_to_events(live_api: Api) -> None:
    created = live_api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})
    secret = created["createVerificationSession"]["verificationSession"]["clientSecret"]

    async def go() -> dict[str, Any]:
        async with session(live_api.server.base_url, secret) as client:
            await client.subscribe("e", EVENTS_SUBSCRIPTION)
            return await client.message("e")

    message = run(go())
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


# The verificationSession subscription.


def test_verification_session_sends_the_state_then_every_change(live_api: Api) -> None:
    created = create(live_api)

    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("s", SESSION_SUBSCRIPTION, {"id": created["id"]})
            states = await client.payloads("s", 1)
            # a plain update records no event, and is still a change
            await asyncio.to_thread(
                live_api.gql, UPDATE, {"input": {"id": created["id"], "metadata": {"order": "7"}}}
            )
            states += await client.payloads("s", 1)
            await asyncio.to_thread(live_api.gql, CANCEL, {"id": created["id"]})
            return states + await client.payloads("s", 1)

    states = [payload["data"]["verificationSession"] for payload in run(go())]
    assert [(state["status"], state["metadata"]) for state in states] == [
        ("REQUIRES_INPUT", {}),
        ("REQUIRES_INPUT", {"order": "7"}),
        ("CANCELED", {"order": "7"}),
    ]


def test_verification_session_of_an_unknown_or_other_accounts_id_is_not_found(
    live_api: Api, live_server: Server
) -> None:
    with client_of(live_server) as other:
        theirs = create(other)

    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, live_api.key) as client:
            await client.subscribe("a", SESSION_SUBSCRIPTION, {"id": theirs["id"]})
            await client.subscribe("b", SESSION_SUBSCRIPTION, {"id": "vs_unknown"})
            return [await client.message("a"), await client.message("b")]

    for message in run(go()):
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_client_secret_may_watch_its_own_session_only(live_api: Api) -> None:
    mine = live_api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})[
        "createVerificationSession"
    ]["verificationSession"]
    other = create(live_api)

    async def go() -> list[dict[str, Any]]:
        async with session(live_api.server.base_url, mine["clientSecret"]) as client:
            await client.subscribe(
                "own",
                "subscription($id: ID!) { verificationSession(id: $id) { id status } }",
                {"id": mine["id"]},
            )
            await client.subscribe("other", SESSION_SUBSCRIPTION, {"id": other["id"]})
            await client.subscribe(
                "secret",
                "subscription($id: ID!) { verificationSession(id: $id) { metadata } }",
                {"id": mine["id"]},
            )
            return [await client.message(each) for each in ("own", "other", "secret")]

    own, other_error, limited = run(go())
    assert own["payload"] == {
        "data": {"verificationSession": {"id": mine["id"], "status": "REQUIRES_INPUT"}}
    }
    assert other_error["type"] == "error"
    assert other_error["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert limited["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_server_pings_and_drops_a_client_that_never_answers(live_server: Server) -> None:
    settings = dataclasses.replace(live_server.settings, websocket_ping_seconds=1)
    with running_server(settings) as quick, client_of(quick) as api:

        async def go() -> tuple[int, Closed]:
            async with session(quick.base_url, api.key) as client:
                client.answer_pings = False
                closed = await client.wait_closed()
                return client.pings, closed

        pings, closed = run(go())
    assert pings >= 1
    assert closed.code == 1013


# Trusted documents only.


def test_with_trusted_documents_only_the_socket_refuses_free_text_and_runs_saved_ones(
    database: Database,
) -> None:
    # given: a gateway that runs trusted documents only
    settings = Settings(
        database_url=database.url,
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
        subscription_poll_seconds=0.05,
        persisted_documents="only",
    )
    watch = (ROOT / "playground" / "operations" / "WatchVerificationSession.graphql").read_text()
    with running_server(settings, run_worker=False) as started, client_of(started) as api:
        made = api.post(CREATE_ID).json()  # free text over HTTP is refused too
        free_text = made["errors"][0]["extensions"]["code"]

        async def go() -> tuple[dict[str, Any], dict[str, Any]]:
            async with session(started.base_url, api.key) as client:
                await client.subscribe("free", "subscription { events { cursor } }")
                refused = await client.message("free")
                document_id = "sha256:" + hashlib.sha256(watch.encode()).hexdigest()
                await client.send(
                    {
                        "id": "saved",
                        "type": "subscribe",
                        "payload": {
                            "documentId": document_id,
                            "variables": {"id": "vs_" + "0" * 24},
                        },
                    }
                )
                return refused, await client.message("saved")

        refused, saved = run(go())
    # then
    assert free_text == "PERSISTED_DOCUMENT_REQUIRED"
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
    # the saved watch ran: an unknown session is NOT_FOUND, not a refusal of the document
    assert saved["type"] == "error"
    assert saved["payload"][0]["extensions"]["code"] == "NOT_FOUND"
