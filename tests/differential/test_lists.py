"""Lists, answered the same in both modes: counts under filters, edges and cursors beside nodes,
pageInfo through every page in both directions, the last page, bad page arguments, and sessions
and events with the objects they point at nested."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.twins import Twins, data_of
from tests.differential.world import Keys, World

COUNTS = """
query Counts($filter: VerificationSessionFilter) {
  verificationSessions(first: 0, filter: $filter) { totalCount pageInfo { hasNextPage } }
  verificationReports(first: 0) { totalCount }
  events(first: 0) { totalCount }
}
"""


@pytest.mark.parametrize(
    "filter",
    [
        None,
        {"status": "VERIFIED"},
        {"status": "CANCELED"},
        {"clientReferenceId": "user_shared"},
        {"relatedCustomer": "cus_shared", "status": "REQUIRES_INPUT"},
        {"clientReferenceId": "nobody"},
    ],
)
@pytest.mark.parametrize("key_name", ["secret", "live", "other_account"])
def test_total_count(
    twins: Twins, keys: Keys, key_name: str, filter: dict[str, Any] | None
) -> None:
    # when
    data = data_of(twins.post(COUNTS, {"filter": filter}, key=keys.all()[key_name]))
    # then
    sessions = data["verificationSessions"]
    assert sessions["pageInfo"]["hasNextPage"] == (sessions["totalCount"] > 0)


EDGES_AND_NODES = """
query Both($first: Int) {
  verificationSessions(first: $first) {
    edges { cursor node { id status } }
    nodes { id status }
  }
  events(first: $first) { edges { cursor node { id } } nodes { id } }
  verificationReports(first: $first) { nodes { id } edges { node { id } cursor } }
}
"""


def test_edges_with_cursors_and_nodes_list_the_same_items(twins: Twins, keys: Keys) -> None:
    # when
    data = data_of(twins.post(EDGES_AND_NODES, {"first": 7}, key=keys.secret))
    # then
    for connection in data.values():
        assert [edge["node"] for edge in connection["edges"]] == connection["nodes"]
        assert len(connection["nodes"]) == 7


PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String) {
  %s(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("root", ["verificationSessions", "verificationReports", "events"])
def test_page_info_through_every_page(twins: Twins, keys: Keys, root: str, direction: str) -> None:
    # given
    forward = direction == "forward"
    variables: dict[str, Any] = {"first": 4} if forward else {"last": 4}
    seen: list[str] = []
    # when: following the cursors to the end
    for _ in range(50):
        page = data_of(twins.post(PAGE % root, variables, key=keys.secret))[root]
        ids = [edge["node"]["id"] for edge in page["edges"]]
        seen.extend(ids if forward else reversed(ids))
        info = page["pageInfo"]
        if not info["hasNextPage" if forward else "hasPreviousPage"]:
            break
        variables = (
            {"first": 4, "after": info["endCursor"]}
            if forward
            else {"last": 4, "before": info["startCursor"]}
        )
    # then: every item once, and a last page that says so
    assert len(seen) == len(set(seen)) > 4
    assert info["hasPreviousPage" if forward else "hasNextPage"] is True


def test_the_last_page_via_last_five(twins: Twins, keys: Keys, world: World) -> None:
    # when
    data = data_of(twins.post(PAGE % "verificationSessions", {"last": 5}, key=keys.secret))
    # then: the five oldest sessions, oldest last
    page = data["verificationSessions"]
    oldest = [world.sessions["plain"], *(world.sessions[f"filler_{n}"] for n in range(4))]
    assert [edge["node"]["id"] for edge in page["edges"]] == oldest[::-1]
    assert (page["pageInfo"]["hasPreviousPage"], page["pageInfo"]["hasNextPage"]) == (True, False)


@pytest.mark.parametrize(
    "arguments",
    [
        "first: 1, last: 1",
        "first: -1",
        "last: -1",
        "first: 101",
        "last: 101",
        'after: "not a cursor"',
        'before: "bm90IGEgY3Vyc29y"',
        'first: 2, after: ""',
    ],
)
@pytest.mark.parametrize("root", ["verificationSessions", "verificationReports", "events"])
def test_bad_pagination_arguments_are_bad_user_input(
    twins: Twins, keys: Keys, root: str, arguments: str
) -> None:
    # when
    reply = twins.post(f"{{ {root}({arguments}) {{ totalCount }} }}", key=keys.secret)
    # then
    assert reply.codes == ["BAD_USER_INPUT"]
    assert reply.data is None


def test_a_cursor_of_another_list_is_bad_user_input(twins: Twins, keys: Keys, world: World) -> None:
    # given: an event cursor (a sequence) where a session cursor (created, id) belongs
    event_cursor = data_of(twins.post("{ events(first: 1) { edges { cursor } } }", key=keys.secret))
    cursor = event_cursor["events"]["edges"][0]["cursor"]
    # when
    reply = twins.post(
        "query($c: String) { verificationSessions(after: $c) { totalCount } }",
        {"c": cursor},
        key=keys.secret,
    )
    # then
    assert reply.codes == ["BAD_USER_INPUT"]


NESTED_REPORTS = """
query Nested($status: VerificationSessionStatus) {
  verificationSessions(first: 100, filter: {status: $status}) {
    nodes {
      id status
      lastVerificationReport {
        id type created
        document { status error { code reason } firstName dob { year } }
        selfie { status error { code } }
        idNumber { status idNumberType }
        email { status email }
        phone { status phone }
        verificationSession { id status }
      }
    }
  }
}
"""


@pytest.mark.parametrize("status", [None, "VERIFIED", "REQUIRES_INPUT", "CANCELED"])
@pytest.mark.parametrize("key_name", ["secret", "live"])
def test_sessions_with_their_last_report_nested(
    twins: Twins, keys: Keys, key_name: str, status: str | None
) -> None:
    # when
    data = data_of(twins.post(NESTED_REPORTS, {"status": status}, key=keys.all()[key_name]))
    # then
    nodes = data["verificationSessions"]["nodes"]
    assert any(node["lastVerificationReport"] for node in nodes) == (status != "CANCELED")
    for node in nodes:
        report = node["lastVerificationReport"]
        if report is not None:
            assert report["verificationSession"]["id"] == node["id"]


EVENTS_WITH_SESSIONS = """
query Events($types: [String!], $session: ID) {
  events(first: 100, filter: {types: $types, verificationSession: $session}) {
    totalCount
    nodes {
      id type created livemode data
      verificationSession {
        id status redaction { status } metadata
        lastVerificationReport { id document { status } }
      }
    }
  }
}
"""


@pytest.mark.parametrize(
    "filter",
    [
        {},
        {"types": ["identity.verification_session.verified"]},
        {
            "types": [
                "identity.verification_session.redacted",
                "identity.verification_session.canceled",
            ]
        },
        {"session": "redacted_verified"},
        {"types": []},
    ],
)
def test_events_with_their_session_nested(
    twins: Twins, keys: Keys, world: World, filter: dict[str, Any]
) -> None:
    # given
    variables = dict(filter)
    if "session" in variables:
        variables["session"] = world.sessions[variables["session"]]
    # when
    reply = twins.post(EVENTS_WITH_SESSIONS, variables, key=keys.secret)
    # then
    if filter.get("types") == []:
        assert reply.codes == ["BAD_USER_INPUT"]
        return
    events = data_of(reply)["events"]
    assert events["totalCount"] > 0
    assert all(event["verificationSession"] is not None for event in events["nodes"])
