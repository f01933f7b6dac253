"""The shapes of a document that generators rarely write, answered the same in both modes:
aliases, fragments of every kind, `__typename`, `@skip`/`@include`, variables and their defaults.

Here as in the other hand-written files, each case goes to both servers (`twins`, which fails on
any difference) and then states what the answer must show, so that it also fails when the case
stops exercising what its name says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.twins import Twins, data_of
from tests.differential.world import Keys, World

UNKNOWN_SESSION = "vs_" + "0" * 24

ALIASES = """
query Aliases($id: ID!) {
  newest: verificationSessions(first: 2) { nodes { id state: status } }
  oldest: verificationSessions(last: 2) { nodes { id } }
  verified: verificationSessions(first: 3, filter: {status: VERIFIED}) {
    count: totalCount
    nodes { sessionId: id status }
  }
  one: verificationSession(id: $id) { id sameId: id when: created }
  missing: verificationSession(id: "vs_000000000000000000000000") { id }
}
"""


def test_aliases_including_one_field_twice_with_other_arguments(
    twins: Twins, keys: Keys, world: World
) -> None:
    # when
    data = data_of(twins.post(ALIASES, {"id": world.sessions["verified"]}, key=keys.secret))
    # then
    assert list(data) == ["newest", "oldest", "verified", "one", "missing"]
    assert [len(data["newest"]["nodes"]), len(data["oldest"]["nodes"])] == [2, 2]
    assert data["newest"]["nodes"] != data["oldest"]["nodes"]
    assert {node["status"] for node in data["verified"]["nodes"]} == {"VERIFIED"}
    assert data["one"]["id"] == data["one"]["sameId"] == world.sessions["verified"]
    assert data["missing"] is None


FRAGMENTS = """
query Fragments($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ...NodeId
    ... on Node { id }
    ... on VerificationSession { status ...SessionSummary }
    ... on VerificationReport { type verificationSession { ...SessionSummary } }
    ... on Event { eventType: type }
  }
}
fragment NodeId on Node { id }
fragment SessionSummary on VerificationSession { id clientReferenceId livemode }
"""


def test_named_and_inline_fragments_on_node_and_on_each_type(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: a session, a report, an event, an unknown id; fragments on the other types never
    # match a session
    ids = [world.sessions["rich"], world.reports[0], world.events[0], UNKNOWN_SESSION]
    # when
    data = data_of(twins.post(FRAGMENTS, {"ids": ids}, key=keys.secret))
    # then
    session, report, event, missing = data["nodes"]
    assert session["__typename"] == "VerificationSession"
    assert "type" not in session
    assert report["__typename"] == "VerificationReport"
    assert "status" not in report
    assert event["__typename"] == "Event"
    assert missing is None


NESTED_FRAGMENTS = """
query Nested($id: ID!) {
  node(id: $id) { ...Outer }
  verificationSessions(first: 3) { ...Page }
}
fragment Outer on Node { __typename ... on VerificationSession { ...Middle } }
fragment Middle on VerificationSession {
  id
  ...Inner
  lastVerificationReport { ... on VerificationReport { id ...ReportInner } }
}
fragment Inner on VerificationSession { status metadata options { ...Options } }
fragment Options on VerificationSessionOptions { document { allowedTypes } }
fragment ReportInner on VerificationReport { document { status firstName } options { ...Options } }
fragment Page on VerificationSessionConnection {
  pageInfo { ...Info }
  edges { cursor node { ...Middle } }
}
fragment Info on PageInfo { hasNextPage endCursor }
"""


def test_nested_fragments(twins: Twins, keys: Keys, world: World) -> None:
    # when
    data = data_of(
        twins.post(NESTED_FRAGMENTS, {"id": world.sessions["verified"]}, key=keys.secret)
    )
    # then
    node = data["node"]
    assert node["lastVerificationReport"]["document"]["firstName"] == "Ada"
    assert node["options"]["document"]["allowedTypes"] == ["PASSPORT", "ID_CARD"]
    assert data["verificationSessions"]["pageInfo"]["hasNextPage"] is True


IMPOSSIBLE_FRAGMENT = """
query { verificationSessions(first: 1) { nodes { id ... on Event { type } } } }
"""


def test_a_fragment_that_can_never_match_is_a_validation_error(twins: Twins, keys: Keys) -> None:
    # when
    reply = twins.post(IMPOSSIBLE_FRAGMENT, key=keys.secret)
    # then
    assert reply.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "data" not in reply.body


TYPENAMES = """
query Typenames($id: ID!) {
  __typename
  verificationSessions(first: 2) {
    __typename
    edges { __typename cursor node { __typename id } }
    nodes { __typename options { __typename document { __typename } } redaction { __typename } }
    pageInfo { __typename }
  }
  node(id: $id) {
    __typename
    ... on VerificationSession {
      __typename
      lastVerificationReport { __typename document { __typename dob { __typename } } }
      verifiedOutputs { __typename address { __typename } }
    }
  }
  events(first: 1) { __typename nodes { __typename verificationSession { __typename } } }
}
"""


def test_typename_everywhere_and_at_the_root(twins: Twins, keys: Keys, world: World) -> None:
    # when
    data = data_of(twins.post(TYPENAMES, {"id": world.sessions["verified"]}, key=keys.secret))
    # then
    assert data["__typename"] == "Query"
    assert data["verificationSessions"]["__typename"] == "VerificationSessionConnection"
    assert data["node"]["verifiedOutputs"]["__typename"] == "VerificationSessionVerifiedOutputs"


@pytest.mark.parametrize("key_name", ["secret", "none"])
def test_typename_alone(twins: Twins, keys: Keys, key_name: str) -> None:
    # when
    reply = twins.post("{ __typename alias: __typename }", key=keys.all()[key_name])
    # then
    assert reply.status == 200
    assert reply.body.get("data") == {"__typename": "Query", "alias": "Query"}


SKIP_AND_INCLUDE_LITERALS = """
query Literals($id: ID!) {
  verificationSession(id: $id) {
    id
    skipped: status @skip(if: true)
    kept: status @skip(if: false)
    included: type @include(if: true)
    excluded: type @include(if: false)
    both: created @include(if: true) @skip(if: true)
    ... on VerificationSession @skip(if: true) { metadata }
    ... on VerificationSession @include(if: true) { clientReferenceId }
    ...Extra @include(if: false)
  }
}
fragment Extra on VerificationSession { relatedCustomer }
"""


def test_skip_and_include_with_literals(twins: Twins, keys: Keys, world: World) -> None:
    # when
    data = data_of(
        twins.post(SKIP_AND_INCLUDE_LITERALS, {"id": world.sessions["rich"]}, key=keys.secret)
    )
    # then
    assert list(data["verificationSession"]) == ["id", "kept", "included", "clientReferenceId"]


SKIP_AND_INCLUDE_VARIABLES = """
query Variables($id: ID!, $yes: Boolean = true, $no: Boolean = false, $flag: Boolean!) {
  verificationSession(id: $id) {
    id
    a: status @include(if: $yes)
    b: status @skip(if: $yes)
    c: type @include(if: $no)
    d: type @skip(if: $no)
    e: created @include(if: $flag)
    ... on VerificationSession @skip(if: $flag) { metadata }
    ...Extra @include(if: $no)
  }
}
fragment Extra on VerificationSession { relatedCustomer }
"""


@pytest.mark.parametrize(
    "variables, keys_shown",
    [
        ({"flag": True}, ["id", "a", "d", "e"]),
        ({"flag": False}, ["id", "a", "d", "metadata"]),
        ({"yes": False, "no": True, "flag": True}, ["id", "b", "c", "e", "relatedCustomer"]),
        ({"yes": None, "flag": True}, None),
        ({}, None),
    ],
    ids=["defaults", "defaults-flag-off", "all-given", "null-for-a-defaulted", "required-omitted"],
)
def test_skip_and_include_with_variables(
    twins: Twins,
    keys: Keys,
    world: World,
    variables: dict[str, Any],
    keys_shown: list[str] | None,
) -> None:
    # when
    reply = twins.post(
        SKIP_AND_INCLUDE_VARIABLES, {"id": world.sessions["rich"], **variables}, key=keys.secret
    )
    # then: `if` is Boolean!, so null, like an omitted $flag, is an error of the request
    if keys_shown is None:
        assert reply.codes and set(reply.codes) <= {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}
    else:
        assert list(data_of(reply)["verificationSession"]) == keys_shown


DEFAULTS = """
query Defaults(
  $first: Int = 3
  $after: String
  $filter: VerificationSessionFilter = {status: REQUIRES_INPUT}
) {
  verificationSessions(first: $first, after: $after, filter: $filter) {
    totalCount
    nodes { id status }
    pageInfo { hasNextPage hasPreviousPage }
  }
}
"""


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"first": 5},
        {"first": None},
        {"filter": None},
        {"filter": {"status": "VERIFIED", "clientReferenceId": "user_rich"}},
        {"after": "cursor"},
        {"first": "three"},
        {"first": 2, "unknown": 1},
    ],
    ids=[
        "all-omitted",
        "first-given",
        "null-overrides-a-default",
        "null-filter",
        "filter-given",
        "after-malformed",
        "wrong-type",
        "extra-variable",
    ],
)
def test_variables_with_defaults_and_omitted(
    twins: Twins, keys: Keys, world: World, variables: dict[str, Any]
) -> None:
    # when
    reply = twins.post(DEFAULTS, variables, key=keys.secret)
    # then
    assert reply.status == 200
    if "after" in variables or variables.get("first") == "three":
        assert reply.codes == ["BAD_USER_INPUT"]
    else:
        assert data_of(reply)["verificationSessions"]["totalCount"] > 0


def test_variables_omitted_altogether(twins: Twins, keys: Keys) -> None:
    # when: no `variables` member at all
    data = data_of(twins.post(DEFAULTS, None, key=keys.secret))
    # then
    page = data["verificationSessions"]
    assert len(page["nodes"]) == 3
    assert {node["status"] for node in page["nodes"]} == {"REQUIRES_INPUT"}
