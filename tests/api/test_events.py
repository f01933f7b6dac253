"""Events over HTTP: one per status change plus `created` and `redacted`, listed in the exact order
of the changes, each carrying what a webhook would (and never a credential or verified data)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from app.domain import ids
from tests.conftest import Api
from tests.helpers import (
    CANCEL,
    REDACT,
    SUBMIT,
    ids_of,
    simulate,
    wait_for_redaction,
    wait_until_processed,
)

CreateSession = Callable[..., dict[str, Any]]

PREFIX = "identity.verification_session."
CREATED = PREFIX + "created"
PROCESSING = PREFIX + "processing"
VERIFIED = PREFIX + "verified"
REQUIRES_INPUT = PREFIX + "requires_input"
CANCELED = PREFIX + "canceled"
REDACTED = PREFIX + "redacted"

EVENT = """
query Event($id: ID!) {
  event(id: $id) { id type created livemode data verificationSession { id status } }
}
"""

EVENTS = """
query Events($first: Int, $after: String, $last: Int, $before: String, $filter: EventFilter) {
  events(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    edges { cursor node { id type } }
    nodes { id type }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

EVENTS_DATA = """
query EventsData($filter: EventFilter) {
  events(first: 100, filter: $filter) {
    nodes { id type created livemode data }
  }
}
"""

EVENTS_COUNT = """
query EventsCount($filter: EventFilter) {
  events(first: 1, filter: $filter) { totalCount }
}
"""

EVENTS_WITH_SESSION = """
query EventsWithSession($filter: EventFilter) {
  events(first: 100, filter: $filter) {
    nodes { type verificationSession { id status } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Event { type livemode verificationSession { id } }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) { __typename id }
}
"""

SESSIONS = """
query Sessions {
  verificationSessions(first: 1) { edges { cursor } }
}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) { id status clientSecret url redaction { status } }
}
"""

UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) {
    verificationSession { id }
    userErrors { field message code }
  }
}
"""

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id clientSecret url }
    userErrors { field message code }
  }
}
"""

FORBIDDEN_KEYS = {"client_secret", "url", "verified_outputs"}

ADA = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "idNumber": "S1234567D",
    "email": "ada@example.org",
    "phone": "+442071234567",
}


# --- helpers ---------------------------------------------------------------------------------


def mutate(api: Api, document: str, session_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = next(iter(api.gql(document, {"id": session_id}).values()))
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def events_page(api: Api, *, key: str | None = "default", **arguments: Any) -> dict[str, Any]:
    connection: dict[str, Any] = api.gql(EVENTS, arguments, key=key)["events"]
    assert connection["nodes"] == [edge["node"] for edge in connection["edges"]]
    return connection


def types_of(connection: dict[str, Any]) -> list[str]:
    return [node["type"] for node in connection["nodes"]]


def session_events(api: Api, session_id: str) -> list[dict[str, Any]]:
    """Every event of a session with its payload, newest first."""
    nodes: list[dict[str, Any]] = api.gql(
        EVENTS_DATA, {"filter": {"verificationSession": session_id}}
    )["events"]["nodes"]
    return nodes


def session_event_types(api: Api, session_id: str) -> list[str]:
    return [event["type"] for event in session_events(api, session_id)]


def total(api: Api, filter: dict[str, Any] | None = None) -> int:
    return api.gql(EVENTS_COUNT, {"filter": filter})["events"]["totalCount"]  # type: ignore[no-any-return]


def keys_in(value: Any) -> Iterator[str]:
    """Every key of every object nested in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_in(item)


def unix_seconds(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


def bad_user_input(api: Api, document: str, variables: dict[str, Any]) -> str:
    """Post a document that must fail with one BAD_USER_INPUT error; returns its message."""
    response = api.post(document, variables)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    message: str = body["errors"][0]["message"]
    return message


# --- which changes record an event -----------------------------------------------------------


def test_create_records_a_created_event(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session()
    # when
    events = session_events(api, session["id"])
    # then
    assert [event["type"] for event in events] == [CREATED]
    assert ids.prefix_of(events[0]["id"]) == ids.EVENT
    assert events[0]["livemode"] is False
    assert events[0]["created"] >= session["created"]


def test_update_records_no_event(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session()
    # when
    payload = api.gql(
        UPDATE,
        {
            "input": {
                "id": session["id"],
                "metadata": {"order": "7"},
                "type": "ID_NUMBER",
                "providedDetails": {"email": "jenny@example.com"},
            }
        },
    )["updateVerificationSession"]
    # then
    assert payload["userErrors"] == []
    assert session_event_types(api, session["id"]) == [CREATED]


def test_simulated_verification_records_processing_then_verified(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    simulate(api, session["id"], "VERIFIED")
    # then
    assert session_event_types(api, session["id"]) == [VERIFIED, PROCESSING, CREATED]


def test_simulated_failure_records_processing_then_requires_input(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    simulate(api, session["id"], "REQUIRES_INPUT", lastErrorCode="DOCUMENT_EXPIRED")
    # then
    assert session_event_types(api, session["id"]) == [REQUIRES_INPUT, PROCESSING, CREATED]


def test_simulated_processing_records_one_event_and_finishing_it_one_more(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    simulate(api, session["id"], "PROCESSING")
    assert session_event_types(api, session["id"]) == [PROCESSING, CREATED]
    # when
    simulate(api, session["id"], "VERIFIED")
    # then
    assert session_event_types(api, session["id"]) == [VERIFIED, PROCESSING, CREATED]


def test_submission_records_processing_at_once_and_the_outcome_when_processed(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    payload = api.gql(SUBMIT, {"input": {"id": session["id"]}})["submitVerificationSession"]
    # then
    assert payload == {
        "verificationSession": {"id": session["id"], "status": "PROCESSING"},
        "userErrors": [],
    }
    assert session_event_types(api, session["id"])[-2:] == [PROCESSING, CREATED]
    finished = wait_until_processed(api, session["id"])
    assert finished["status"] == "VERIFIED"
    assert session_event_types(api, session["id"]) == [VERIFIED, PROCESSING, CREATED]


def test_cancel_records_canceled_and_a_second_cancel_records_nothing(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    mutate(api, CANCEL, session["id"])
    # when
    mutate(api, CANCEL, session["id"])
    # then
    events = session_events(api, session["id"])
    assert [event["type"] for event in events] == [CANCELED, CREATED]
    assert events[0]["data"]["object"]["status"] == "canceled"
    assert events[0]["data"]["previous_attributes"] == {"status": "requires_input"}


def test_redacting_a_session_awaiting_input_records_canceled_then_redacted(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    mutate(api, REDACT, session["id"])
    # then
    assert session_event_types(api, session["id"]) == [CANCELED, CREATED]
    done = wait_for_redaction(api, session["id"])
    assert done["redaction"] == {"status": "REDACTED"}
    events = session_events(api, session["id"])
    assert [event["type"] for event in events] == [REDACTED, CANCELED, CREATED]
    assert events[0]["data"]["object"]["redaction"] == {"status": "redacted"}
    assert events[0]["data"]["previous_attributes"] == {"redaction": {"status": "processing"}}


# --- order -----------------------------------------------------------------------------------


def test_events_list_newest_first_across_sessions_in_the_order_of_the_changes(
    api: Api, create_session: CreateSession
) -> None:
    # given
    one = create_session()
    two = create_session()
    simulate(api, one["id"], "REQUIRES_INPUT", lastErrorCode="ABANDONED")
    simulate(api, two["id"], "VERIFIED")
    simulate(api, one["id"], "VERIFIED")
    # when
    connection = api.gql(EVENTS_WITH_SESSION)["events"]
    # then
    assert [(node["type"], node["verificationSession"]["id"]) for node in connection["nodes"]] == [
        (VERIFIED, one["id"]),
        (PROCESSING, one["id"]),
        (VERIFIED, two["id"]),
        (PROCESSING, two["id"]),
        (REQUIRES_INPUT, one["id"]),
        (PROCESSING, one["id"]),
        (CREATED, two["id"]),
        (CREATED, one["id"]),
    ]


def test_events_of_one_transaction_keep_their_order_when_timestamps_are_equal(
    api: Api, create_session: CreateSession
) -> None:
    # given three events whose timestamps are forced to one value (the latest, so that the
    # timestamp would put `created` first if the order followed it)
    session = create_session()
    simulate(api, session["id"], "VERIFIED")
    api.server.database.execute(
        "UPDATE events SET created = (SELECT MAX(created) FROM events WHERE session_id = :id) "
        "WHERE session_id = :id",
        {"id": session["id"]},
    )
    events = session_events(api, session["id"])
    assert len({event["created"] for event in events}) == 1
    moment = events[0]["created"]
    # when
    by_session = session_event_types(api, session["id"])
    by_moment = types_of(events_page(api, filter={"created": {"gte": moment, "lte": moment}}))
    everything = types_of(events_page(api))
    # then
    assert by_session == [VERIFIED, PROCESSING, CREATED]
    assert by_moment == [VERIFIED, PROCESSING, CREATED]
    assert everything == [VERIFIED, PROCESSING, CREATED]


def test_events_page_forward_and_backward_returns_each_event_once(
    api: Api, create_session: CreateSession
) -> None:
    # given 11 events: two sessions left processing (2 each), two verified (3 each), one new
    for index in range(4):
        session = create_session()
        simulate(api, session["id"], "VERIFIED" if index % 2 else "PROCESSING")
    create_session()
    everything = ids_of(events_page(api, first=100))
    assert len(everything) == 11
    # when
    forward: list[list[str]] = []
    after = None
    while True:
        page = events_page(api, first=4, after=after)
        forward.append(ids_of(page))
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backward: list[list[str]] = []
    before = None
    while True:
        page = events_page(api, last=4, before=before)
        backward.insert(0, ids_of(page))
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    # then
    assert forward == [everything[0:4], everything[4:8], everything[8:11]]
    assert backward == [everything[0:3], everything[3:7], everything[7:11]]


def test_events_page_info_cursors_are_the_edge_cursors(
    api: Api, create_session: CreateSession
) -> None:
    # given
    simulate(api, create_session()["id"], "VERIFIED")
    # when
    page = events_page(api, first=2)
    # then
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": page["edges"][0]["cursor"],
        "endCursor": page["edges"][1]["cursor"],
    }
    rest = events_page(api, first=2, after=page["pageInfo"]["endCursor"])
    assert types_of(rest) == [CREATED]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True


def test_empty_events_page_has_null_cursors(api: Api) -> None:
    # when
    page = events_page(api)
    # then
    assert page == {
        "edges": [],
        "nodes": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


# --- filters ---------------------------------------------------------------------------------


def test_events_filter_by_one_type(api: Api, create_session: CreateSession) -> None:
    # given
    one, two = create_session(), create_session()
    simulate(api, one["id"], "VERIFIED")
    simulate(api, two["id"], "REQUIRES_INPUT", lastErrorCode="CONSENT_DECLINED")
    # when
    connection = api.gql(EVENTS_WITH_SESSION, {"filter": {"types": [PROCESSING]}})["events"]
    # then
    assert connection["nodes"] == [
        {"type": PROCESSING, "verificationSession": {"id": two["id"], "status": "REQUIRES_INPUT"}},
        {"type": PROCESSING, "verificationSession": {"id": one["id"], "status": "VERIFIED"}},
    ]
    assert total(api, {"types": [PROCESSING]}) == 2


def test_events_filter_by_several_types(api: Api, create_session: CreateSession) -> None:
    # given
    one, two = create_session(), create_session()
    simulate(api, one["id"], "VERIFIED")
    simulate(api, two["id"], "REQUIRES_INPUT", lastErrorCode="CONSENT_DECLINED")
    # when
    connection = events_page(api, filter={"types": [VERIFIED, REQUIRES_INPUT, CANCELED]})
    # then
    assert types_of(connection) == [REQUIRES_INPUT, VERIFIED]


def test_events_filter_by_an_unknown_type_lists_nothing(
    api: Api, create_session: CreateSession
) -> None:
    # given
    create_session()
    # when
    connection = events_page(api, filter={"types": ["identity.verification_session.nope"]})
    # then
    assert connection["nodes"] == []


def test_events_filter_accepts_twenty_types_and_rejects_more(api: Api) -> None:
    # given
    twenty = [f"{PREFIX}type{index}" for index in range(20)]
    # when
    accepted = events_page(api, filter={"types": twenty})
    message = bad_user_input(api, EVENTS, {"filter": {"types": [*twenty, CREATED]}})
    # then
    assert accepted["nodes"] == []
    assert message == "`filter.types` may hold at most 20 types, got 21."


def test_events_filter_rejects_an_empty_types_list(api: Api, create_session: CreateSession) -> None:
    # given
    create_session()
    # when: an empty list, which would match nothing, and null, which means every type
    message = bad_user_input(api, EVENTS, {"filter": {"types": []}})
    every = events_page(api, filter={"types": None})
    # then
    assert (
        message == "`filter.types` must hold at least 1 type; omit it or pass null for every type."
    )
    assert [event["type"] for event in every["nodes"]] == [CREATED]


def test_events_filter_by_session(api: Api, create_session: CreateSession) -> None:
    # given
    one, two = create_session(), create_session()
    simulate(api, two["id"], "VERIFIED")
    simulate(api, one["id"], "PROCESSING")
    # when
    connection = events_page(api, filter={"verificationSession": one["id"]})
    # then
    assert types_of(connection) == [PROCESSING, CREATED]
    assert total(api, {"verificationSession": one["id"]}) == 2
    assert total(api, {"verificationSession": two["id"], "types": [VERIFIED, CREATED]}) == 2


@pytest.mark.parametrize("session_id", ["vs_unknown", "nope", ""])
def test_events_filter_by_unknown_session_lists_nothing(
    api: Api, create_session: CreateSession, session_id: str
) -> None:
    # given
    create_session()
    # when
    connection = events_page(api, filter={"verificationSession": session_id})
    # then
    assert connection["nodes"] == []


def test_events_filter_by_created(api: Api, create_session: CreateSession) -> None:
    # given
    one = create_session()
    simulate(api, one["id"], "PROCESSING")
    two = create_session()
    events = api.gql(EVENTS_DATA)["events"]["nodes"]
    created = {event["id"]: event["created"] for event in events}
    newest_first = [event["id"] for event in events]
    assert len(newest_first) == 3
    middle = created[newest_first[1]]
    # when
    since = events_page(api, filter={"created": {"gte": middle}})
    after = events_page(api, filter={"created": {"gt": middle}})
    before = events_page(api, filter={"created": {"lt": middle}})
    until = events_page(api, filter={"created": {"lte": middle}})
    # then
    assert ids_of(since) == newest_first[0:2]
    assert ids_of(after) == newest_first[0:1]
    assert ids_of(before) == newest_first[2:3]
    assert ids_of(until) == newest_first[1:3]
    assert events[0]["data"]["object"]["id"] == two["id"]


# --- cursors and arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    ["nope", "", "djE6c2VxOi0x", "djE6c2VxOmFiYw", "djI6c2VxOjE"],
    ids=["garbage", "empty", "negative", "not-a-number", "other-version"],
)
@pytest.mark.parametrize("argument", ["after", "before"])
def test_events_reject_a_malformed_cursor(api: Api, cursor: str, argument: str) -> None:
    # when
    message = bad_user_input(api, EVENTS, {argument: cursor})
    # then
    assert message.startswith(f"`{argument}` is not a cursor returned by this API")


def test_events_reject_a_session_cursor(api: Api, create_session: CreateSession) -> None:
    # given
    create_session()
    session_cursor = api.gql(SESSIONS)["verificationSessions"]["edges"][0]["cursor"]
    # when
    message = bad_user_input(api, EVENTS, {"after": session_cursor})
    # then
    assert message.startswith("`after` is not a cursor returned by this API")


def test_sessions_reject_an_event_cursor(api: Api, create_session: CreateSession) -> None:
    # given
    create_session()
    event_cursor = events_page(api)["edges"][0]["cursor"]
    # when
    message = bad_user_input(
        api,
        "query($after: String) { verificationSessions(after: $after) { nodes { id } } }",
        {"after": event_cursor},
    )
    # then
    assert message.startswith("`after` is not a cursor returned by this API")


@pytest.mark.parametrize(
    "arguments",
    [{"first": 1, "last": 1}, {"first": -1}, {"first": 101}, {"last": 101}],
    ids=["first-and-last", "negative", "first-too-large", "last-too-large"],
)
def test_events_reject_page_sizes_out_of_range(api: Api, arguments: dict[str, Any]) -> None:
    # when
    bad_user_input(api, EVENTS, arguments)


# --- payloads --------------------------------------------------------------------------------


def test_event_data_is_a_json_object_with_the_session_in_stripes_shape(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(
        clientReferenceId="ref-1",
        metadata={"order": "7"},
        options={"document": {"requireMatchingSelfie": True, "allowedTypes": ["PASSPORT"]}},
        providedDetails={"email": "jenny@example.com"},
        relatedCustomer="cus_123",
    )
    # when
    response = api.post(EVENTS_DATA, {"filter": {"verificationSession": session["id"]}})
    # then
    event = response.json()["data"]["events"]["nodes"][0]
    assert event["data"] == {
        "object": {
            "id": session["id"],
            "object": "identity.verification_session",
            "client_reference_id": "ref-1",
            "created": unix_seconds(session["created"]),
            "last_error": None,
            "last_verification_report": None,
            "livemode": False,
            "metadata": {"order": "7"},
            "options": {
                "document": {"allowed_types": ["passport"], "require_matching_selfie": True}
            },
            "provided_details": {"email": "jenny@example.com"},
            "redaction": None,
            "related_customer": "cus_123",
            "related_person": None,
            "status": "requires_input",
            "type": "document",
            "verification_flow": None,
        },
        "previous_attributes": {},
    }
    assert isinstance(event["data"]["object"]["created"], int)


def test_event_data_previous_attributes_hold_the_old_values(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(type="ID_NUMBER")
    simulate(api, session["id"], "REQUIRES_INPUT", lastErrorCode="ID_NUMBER_MISMATCH")
    # when
    simulate(api, session["id"], "VERIFIED")
    # then
    events = session_events(api, session["id"])
    reports = [event["data"]["object"]["last_verification_report"] for event in events]
    first_report, second_report = reports[2], reports[0]
    mismatch = {
        "code": "id_number_mismatch",
        "reason": "The ID number does not match the user's other details.",
    }
    assert [
        (
            event["type"],
            event["data"]["object"]["status"],
            event["data"]["object"]["last_error"],
            event["data"]["previous_attributes"],
        )
        for event in events
    ] == [
        (
            VERIFIED,
            "verified",
            None,
            {
                "status": "processing",
                "last_error": mismatch,
                "last_verification_report": first_report,
            },
        ),
        (PROCESSING, "processing", mismatch, {"status": "requires_input"}),
        (
            REQUIRES_INPUT,
            "requires_input",
            mismatch,
            {"status": "processing", "last_error": None, "last_verification_report": None},
        ),
        (PROCESSING, "processing", None, {"status": "requires_input"}),
        (CREATED, "requires_input", None, {}),
    ]
    assert first_report is not None and second_report is not None
    assert first_report != second_report
    assert all(event["data"]["object"]["type"] == "id_number" for event in events)


def test_no_event_of_a_whole_lifecycle_carries_a_credential_or_verified_data(
    api: Api, create_session: CreateSession
) -> None:
    # given a session that fails once, is verified with test data, then redacted
    created = api.gql(
        CREATE,
        {
            "input": {
                "type": "DOCUMENT",
                "metadata": {"order": "7"},
                "providedDetails": {"email": "jenny@example.com"},
            }
        },
    )["createVerificationSession"]["verificationSession"]
    session_id = created["id"]
    simulate(api, session_id, "REQUIRES_INPUT", lastErrorCode="DOCUMENT_EXPIRED")
    retry = api.gql(SESSION, {"id": session_id})["verificationSession"]
    simulate(api, session_id, "PROCESSING")
    simulate(api, session_id, "VERIFIED", verifiedOutputs=ADA)
    mutate(api, REDACT, session_id)
    wait_for_redaction(api, session_id)
    # when
    events = session_events(api, session_id)
    # then
    assert [event["type"] for event in events] == [
        REDACTED,
        VERIFIED,
        PROCESSING,
        REQUIRES_INPUT,
        PROCESSING,
        CREATED,
    ]
    for event in events:
        assert isinstance(event["data"], dict)
        assert set(event["data"]) == {"object", "previous_attributes"}
        assert event["data"]["object"]["object"] == "identity.verification_session"
        assert event["data"]["object"]["id"] == session_id
        assert FORBIDDEN_KEYS.isdisjoint(keys_in(event["data"])), event["type"]
    text = json.dumps(events)
    secrets = [created["clientSecret"], created["url"], retry["clientSecret"], retry["url"]]
    assert all(secret and secret not in text for secret in secrets)
    assert all(value not in text for value in ADA.values())


def test_event_data_of_a_flow_session_names_the_flow_in_lowercase(
    api: Api, create_session: CreateSession
) -> None:
    # given
    flow_id = api.new_flow(options={"email": {"require_verification": True}})
    session = create_session(type=None, verificationFlow=flow_id)
    # when
    event = session_events(api, session["id"])[0]
    # then
    assert event["data"]["object"]["type"] == "verification_flow"
    assert event["data"]["object"]["verification_flow"] == flow_id
    assert event["data"]["object"]["options"] == {"email": {"require_verification": True}}


# --- lookup ----------------------------------------------------------------------------------


def test_event_returns_one_event_with_its_live_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    created_event = session_events(api, session["id"])[0]
    simulate(api, session["id"], "VERIFIED")
    # when
    found = api.gql(EVENT, {"id": created_event["id"]})["event"]
    # then
    assert found == {
        "id": created_event["id"],
        "type": CREATED,
        "created": created_event["created"],
        "livemode": False,
        "data": created_event["data"],
        "verificationSession": {"id": session["id"], "status": "VERIFIED"},
    }
    assert found["data"]["object"]["status"] == "requires_input"


@pytest.mark.parametrize(
    "event_id",
    ["evt_unknown", "nope", "", "vs_" + "a" * 24, "evt_' OR '1'='1", "evt_" + "a" * 5000],
)
def test_event_returns_null_for_unknown_or_malformed_ids(api: Api, event_id: str) -> None:
    # when
    found = api.gql(EVENT, {"id": event_id})["event"]
    # then
    assert found is None


def test_node_returns_an_event_by_its_id(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session()
    event_id = session_events(api, session["id"])[0]["id"]
    # when
    data = api.gql(NODE, {"id": event_id})
    # then
    assert data == {
        "node": {
            "__typename": "Event",
            "id": event_id,
            "type": CREATED,
            "livemode": False,
            "verificationSession": {"id": session["id"]},
        }
    }


def test_nodes_return_events_among_other_objects_in_the_order_given(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    event_id = session_events(api, session["id"])[0]["id"]
    other = other_api.gql(CREATE, {"input": {"type": "DOCUMENT"}})["createVerificationSession"]
    other_event = session_events(other_api, other["verificationSession"]["id"])[0]["id"]
    # when
    data = api.gql(NODES, {"ids": [session["id"], other_event, event_id, "evt_unknown"]})
    # then
    assert data == {
        "nodes": [
            {"__typename": "VerificationSession", "id": session["id"]},
            None,
            {"__typename": "Event", "id": event_id},
            None,
        ]
    }


def test_redacted_session_events_still_resolve_their_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    simulate(api, session["id"], "VERIFIED")
    mutate(api, REDACT, session["id"])
    wait_for_redaction(api, session["id"])
    # when
    connection = api.gql(EVENTS_WITH_SESSION, {"filter": {"verificationSession": session["id"]}})
    # then
    assert connection["events"]["nodes"] == [
        {"type": kind, "verificationSession": {"id": session["id"], "status": "VERIFIED"}}
        for kind in (REDACTED, VERIFIED, PROCESSING, CREATED)
    ]


# --- visibility ------------------------------------------------------------------------------


def test_other_accounts_events_are_invisible(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    simulate(api, session["id"], "VERIFIED")
    event_id = session_events(api, session["id"])[0]["id"]
    # when
    found = other_api.gql(EVENT, {"id": event_id})["event"]
    node = other_api.gql(NODE, {"id": event_id})["node"]
    listed = events_page(other_api)
    filtered = events_page(other_api, filter={"verificationSession": session["id"]})
    # then
    assert found is None
    assert node is None
    assert listed["nodes"] == []
    assert filtered["nodes"] == []
    assert total(other_api) == 0


def test_live_mode_key_does_not_see_test_mode_events(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    event_id = session_events(api, session["id"])[0]["id"]
    live = api.new_key(livemode=True)
    # when
    found = api.gql(EVENT, {"id": event_id}, key=live)["event"]
    listed = events_page(api, key=live)
    # then
    assert found is None
    assert listed["nodes"] == []


def test_restricted_key_reads_events(api: Api, create_session: CreateSession) -> None:
    # given
    create_session()
    restricted = api.new_key(restricted=True)
    # when
    listed = events_page(api, key=restricted)
    # then
    assert types_of(listed) == [CREATED]


def test_events_without_a_key_are_unauthenticated(api: Api) -> None:
    # when
    response = api.post(EVENTS, {}, key=None)
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
