"""The operations frontends send most run through compiled plans (app.schema.compiler), not
through graphql-core: each answer below must come from a plan, with no fallback. That both paths
answer alike is proven apart, by the differential tests (tests/differential)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.helpers import CREATE_CREDENTIALS, simulate

LIST = """
query List($first: Int, $after: String) {
  verificationSessions(first: $first, after: $after) {
    edges { cursor node { id object status type created livemode clientReferenceId metadata } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ONE = """
query One($id: ID!) {
  verificationSession(id: $id) {
    id object status type created livemode clientReferenceId metadata url clientSecret
    options { document { allowedTypes } } lastError { code } redaction { status }
  }
}
"""

NESTED = """
query Nested($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    id
    ... on VerificationSession { status lastVerificationReport { id type document { status } } }
  }
  events(first: 5) { nodes { id type verificationSession { id status } } totalCount }
  verificationReports(last: 3) { edges { node { id created } } pageInfo { hasPreviousPage } }
}
"""

FRAGMENTS = """
query Fragments($id: ID!, $withMetadata: Boolean = true) {
  verificationSession(id: $id) { ...Basics metadata @include(if: $withMetadata) }
  __typename
}
fragment Basics on VerificationSession { id alias: status __typename }
"""


@pytest.fixture
def session_ids(api: Api) -> Iterator[list[str]]:
    ids = []
    for index in range(3):
        created = api.gql(
            CREATE_CREDENTIALS,
            {"input": {"type": "DOCUMENT", "metadata": {"order": str(index)}}},
        )["createVerificationSession"]
        ids.append(created["verificationSession"]["id"])
    simulate(api, ids[0], "VERIFIED")
    yield ids


def answered_by_plan(api: Api, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    compiler = api.server.app.state.compiler
    compiled, bailed = compiler.compiled, compiler.bailed
    data = api.gql(document, variables)
    assert (compiler.compiled - compiled, compiler.bailed - bailed) == (1, 0)
    return data  # type: ignore[no-any-return]


def test_a_list_page_runs_compiled(api: Api, session_ids: list[str]) -> None:
    first = answered_by_plan(api, LIST, {"first": 2})
    after = first["verificationSessions"]["pageInfo"]["endCursor"]
    second = answered_by_plan(api, LIST, {"first": 2, "after": after})
    assert [edge["node"]["id"] for edge in second["verificationSessions"]["edges"]] == [
        session_ids[0]
    ]


def test_one_session_with_nested_objects_runs_compiled(api: Api, session_ids: list[str]) -> None:
    data = answered_by_plan(api, ONE, {"id": session_ids[1]})
    assert data["verificationSession"]["metadata"] == {"order": "1"}
    assert data["verificationSession"]["clientSecret"] is not None


def test_nodes_events_and_reports_run_compiled(api: Api, session_ids: list[str]) -> None:
    data = answered_by_plan(api, NESTED, {"ids": session_ids})
    assert [node["__typename"] for node in data["nodes"]] == ["VerificationSession"] * 3
    assert data["nodes"][0]["lastVerificationReport"]["document"] == {"status": "VERIFIED"}


def test_fragments_and_directives_run_compiled(api: Api, session_ids: list[str]) -> None:
    with_metadata = answered_by_plan(api, FRAGMENTS, {"id": session_ids[2]})
    without = answered_by_plan(api, FRAGMENTS, {"id": session_ids[2], "withMetadata": False})
    assert with_metadata["verificationSession"]["metadata"] == {"order": "2"}
    assert "metadata" not in without["verificationSession"]


def test_an_error_is_answered_by_graphql_core(api: Api, session_ids: list[str]) -> None:
    compiler = api.server.app.state.compiler
    before = compiler.bailed
    body = api.post(LIST, {"first": 101}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["data"] is None
    assert compiler.bailed == before + 1
