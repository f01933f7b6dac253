"""Objects by id, answered the same in both modes: `node`, `nodes` and `verificationSession`
over sessions, reports and events, with every kind of key (a client secret's limited view and
its FORBIDDEN errors included), and errors that null one field but leave the rest."""

from __future__ import annotations

import pytest

from tests.differential.twins import Twins, data_of
from tests.differential.world import Keys, World

UNKNOWN_IDS = ["vs_" + "0" * 24, "vr_" + "0" * 24, "evt_" + "0" * 24, "vs_short", "nope", ""]
CLIENT_SECRET_FIELD = (
    "This field is not available with a client secret. A client secret may read id, object, "
    "created, livemode, status, type, options, lastError and url."
)

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on VerificationSession { status livemode }
    ... on VerificationReport { reportType: type livemode }
    ... on Event { eventType: type livemode }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on VerificationSession { status clientReferenceId }
    ... on VerificationReport { created verificationSession { id } }
    ... on Event { created verificationSession { id status } }
  }
}
"""


def test_node_finds_sessions_reports_and_events_and_null_for_the_rest(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given
    found = [world.sessions["verified"], world.reports[0], world.events[0]]
    invisible = [world.other_sessions[0], world.live_sessions["open"], *UNKNOWN_IDS]
    # when
    replies = {
        object_id: data_of(twins.post(NODE, {"id": object_id}, key=keys.secret))["node"]
        for object_id in found + invisible
    }
    # then
    assert [replies[object_id]["id"] for object_id in found] == found
    assert [replies[object_id] for object_id in invisible] == [None] * len(invisible)


def test_nodes_keeps_the_order_given_with_null_for_the_unknown(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: every kind of id, one twice, and ids the key cannot see
    visible = [
        *list(world.sessions.values())[:20],
        *world.reports,
        *world.events[:20],
        world.sessions["verified"],
    ]
    invisible = [world.other_sessions[0], world.live_reports[0], *UNKNOWN_IDS]
    # when
    reply = twins.post(NODES, {"ids": visible + invisible}, key=keys.secret)
    # then
    nodes = data_of(reply)["nodes"]
    assert [node and node["id"] for node in nodes] == visible + [None] * len(invisible)


def test_nodes_refuses_more_than_a_hundred_ids(twins: Twins, keys: Keys, world: World) -> None:
    # when
    reply = twins.post(NODES, {"ids": (world.ids * 2)[:101]}, key=keys.secret)
    # then
    assert reply.codes == ["BAD_USER_INPUT"]
    assert reply.data is None


SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id object created status type livemode clientSecret url metadata clientReferenceId
    lastError { code reason }
    redaction { status }
  }
}
"""

LIMITED = """
query Limited($id: ID!) {
  verificationSession(id: $id) {
    id object created livemode status type url
    options { document { allowedTypes requireMatchingSelfie } email { requireVerification } }
    lastError { code reason }
  }
}
"""


@pytest.mark.parametrize(
    "key_name, role, visible",
    [
        ("secret", "rich", True),
        ("secret", "redacted_verified", True),
        ("restricted", "rich", True),
        ("live", "rich", False),
        ("other_account", "rich", False),
    ],
)
def test_verification_session_with_each_key(
    twins: Twins, keys: Keys, world: World, key_name: str, role: str, visible: bool
) -> None:
    # when
    data = data_of(twins.post(SESSION, {"id": world.sessions[role]}, key=keys.all()[key_name]))
    # then
    session = data["verificationSession"]
    assert (session is not None) == visible
    if session is not None and key_name == "restricted":
        assert (session["clientSecret"], session["url"]) == (None, None)


def test_verification_session_of_live_mode_with_the_live_key(
    twins: Twins, keys: Keys, world: World
) -> None:
    # when
    sessions = [
        data_of(twins.post(SESSION, {"id": session_id}, key=keys.live))["verificationSession"]
        for session_id in world.live_sessions.values()
    ]
    # then
    assert [session["livemode"] for session in sessions] == [True] * len(sessions)
    assert {session["status"] for session in sessions} == {"REQUIRES_INPUT", "VERIFIED", "CANCELED"}


def test_a_client_secret_reads_the_limited_view_of_its_own_session(
    twins: Twins, keys: Keys, world: World
) -> None:
    # when
    data = data_of(twins.post(LIMITED, {"id": world.sessions["plain"]}, key=keys.client_secret))
    # then
    assert data["verificationSession"]["id"] == world.sessions["plain"]
    assert data["verificationSession"]["url"] is not None


def test_a_client_secret_reading_forbidden_fields_gets_forbidden_errors_with_paths(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: fields outside the limited view that may be null
    document = """
    query($id: ID!) { verificationSession(id: $id) { id clientReferenceId relatedCustomer } }
    """
    # when
    reply = twins.post(document, {"id": world.sessions["plain"]}, key=keys.client_secret)
    # then
    assert reply.data == {
        "verificationSession": {
            "id": world.sessions["plain"],
            "clientReferenceId": None,
            "relatedCustomer": None,
        }
    }
    assert [(error["path"], error["message"]) for error in reply.errors] == [
        (["verificationSession", "clientReferenceId"], CLIENT_SECRET_FIELD),
        (["verificationSession", "relatedCustomer"], CLIENT_SECRET_FIELD),
    ]
    assert reply.codes == ["FORBIDDEN", "FORBIDDEN"]


def test_a_forbidden_non_null_field_nulls_the_session(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: metadata is non-null, so its error propagates to the session
    document = "query($id: ID!) { verificationSession(id: $id) { id status metadata } }"
    # when
    reply = twins.post(document, {"id": world.sessions["plain"]}, key=keys.client_secret)
    # then
    assert reply.data == {"verificationSession": None}
    assert [error["path"] for error in reply.errors] == [["verificationSession", "metadata"]]
    assert reply.codes == ["FORBIDDEN"]


@pytest.mark.parametrize(
    "document",
    [
        "query($id: ID!) { verificationSession(id: $id) { id } }",
        "query($id: ID!) { node(id: $id) { id } }",
        "query($id: ID!) { nodes(ids: [$id]) { id } }",
        "query { verificationSessions { nodes { id } } }",
        "query { events { totalCount } }",
        "query { verificationReports { nodes { id } } }",
    ],
)
def test_a_client_secret_outside_its_grant_is_forbidden(
    twins: Twins, keys: Keys, world: World, document: str
) -> None:
    # given: another session of the same account, or anything but its own session
    variables = {"id": world.sessions["rich"]} if "$id" in document else None
    # when
    reply = twins.post(document, variables, key=keys.client_secret)
    # then
    assert reply.codes == ["FORBIDDEN"]


def test_an_error_in_one_root_field_leaves_the_others(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: the same session read twice with a client secret; the first selects a forbidden
    # non-null field, which nulls that root field only
    document = """
    query($id: ID!) {
      forbidden: verificationSession(id: $id) { id metadata }
      allowed: verificationSession(id: $id) { id status }
    }
    """
    # when
    reply = twins.post(document, {"id": world.sessions["plain"]}, key=keys.client_secret)
    # then
    assert reply.data == {
        "forbidden": None,
        "allowed": {"id": world.sessions["plain"], "status": "REQUIRES_INPUT"},
    }
    assert [error["path"] for error in reply.errors] == [["forbidden", "metadata"]]


def test_an_error_in_a_non_null_root_field_nulls_all_data(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: verificationSessions is non-null, so its bad argument nulls the whole response
    document = """
    query($id: ID!) {
      verificationSession(id: $id) { id }
      verificationSessions(first: -1) { totalCount }
    }
    """
    # when
    reply = twins.post(document, {"id": world.sessions["rich"]}, key=keys.secret)
    # then
    assert reply.data is None
    assert reply.codes == ["BAD_USER_INPUT"]
