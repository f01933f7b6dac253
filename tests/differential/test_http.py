"""The same over HTTP in both modes: GET and POST, both media types, requests without a key or
with a bad one, mutations (which the compiled path leaves to graphql-core, but which must still
answer alike through either server), and a check that the comparison itself catches a
difference."""

from __future__ import annotations

import pytest

from tests.differential.twins import GRAPHQL_RESPONSE, Reply, Twins, assert_same, data_of
from tests.differential.world import Keys, World

SESSION = """
query Session($id: ID!) { verificationSession(id: $id) { id status metadata lastError { code } } }
"""
TWO = """
query A($id: ID!) { verificationSession(id: $id) { id } }
query B { verificationSessions(first: 2) { totalCount nodes { id } } }
"""
UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) {
    verificationSession { id status metadata clientReferenceId clientSecret url }
    userErrors { field message code }
  }
}
"""


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_get_and_post_with_variables_and_operation_name(
    twins: Twins, keys: Keys, world: World, method: str
) -> None:
    # given
    send = twins.get if method == "GET" else twins.post
    variables = {"id": world.sessions["failed_selfie"]}
    # when
    single = send(SESSION, variables, key=keys.secret)
    chosen = send(TWO, variables, key=keys.secret, operation_name="B")
    # then
    assert data_of(single)["verificationSession"]["lastError"] == {"code": "SELFIE_FACE_MISMATCH"}
    assert data_of(chosen)["verificationSessions"]["totalCount"] > 2


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "document, status",
    [
        ("{ verificationSessions(first: 1) { nodes { id } } }", 200),
        ("{ verificationSessions(first: -1) { totalCount } }", 200),
        ("{ nope }", 400),
        ("{ verificationSessions {", 400),
    ],
    ids=["data", "execution-error", "validation-error", "parse-error"],
)
def test_the_graphql_response_media_type(
    twins: Twins, keys: Keys, method: str, document: str, status: int
) -> None:
    # given
    send = twins.get if method == "GET" else twins.post
    # when
    reply = send(document, key=keys.secret, accept=GRAPHQL_RESPONSE)
    # then
    assert (reply.status, reply.content_type) == (status, GRAPHQL_RESPONSE)


@pytest.mark.parametrize("accept", [None, "application/json", GRAPHQL_RESPONSE])
def test_a_query_without_a_key_is_unauthenticated(twins: Twins, accept: str | None) -> None:
    # when
    reply = twins.post("{ verificationSessions { totalCount } }", key=None, accept=accept)
    # then
    assert reply.status == 401
    assert reply.codes == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("key", ["sk_test_" + "0" * 24, "vs_" + "0" * 24 + "_secret_x", "rk_x"])
def test_a_bad_key_is_unauthenticated(twins: Twins, key: str) -> None:
    # when
    reply = twins.post("{ __typename }", key=key)
    # then
    assert reply.status == 401
    assert reply.codes == ["UNAUTHENTICATED"]


def test_a_mutation_over_get_is_refused(twins: Twins, keys: Keys, world: World) -> None:
    # when
    reply = twins.get(
        UPDATE,
        {"input": {"id": world.sessions["mutable"], "metadata": {"over": "get"}}},
        key=keys.secret,
    )
    # then
    assert reply.status == 405


def test_an_update_answers_the_same_through_both_servers(
    twins: Twins, keys: Keys, world: World
) -> None:
    # given: an update that leaves the same session however often it runs, since each server
    # applies it in turn
    variables = {"input": {"id": world.sessions["mutable"], "metadata": {"state": "updated"}}}
    # when
    reply = twins.post(UPDATE, variables, key=keys.secret)
    # then
    payload = data_of(reply)["updateVerificationSession"]
    assert payload["userErrors"] == []
    assert payload["verificationSession"]["metadata"] == {"state": "updated"}


@pytest.mark.parametrize(
    "key_name, metadata, code",
    [
        ("secret", {"[bad]": "key"}, "PARAMETER_INVALID"),
        ("restricted", {"state": "x"}, None),
        ("client_secret", {"state": "x"}, None),
    ],
)
def test_a_refused_update_answers_the_same_through_both_servers(
    twins: Twins, keys: Keys, world: World, key_name: str, metadata: dict[str, str], code: str
) -> None:
    # given
    variables = {"input": {"id": world.sessions["mutable"], "metadata": metadata}}
    # when
    reply = twins.post(UPDATE, variables, key=keys.all()[key_name])
    # then: a userError, or a top-level FORBIDDEN for keys that may not write
    if code is not None:
        user_errors = data_of(reply)["updateVerificationSession"]["userErrors"]
        assert [error["code"] for error in user_errors] == [code]
    else:
        assert reply.codes == ["FORBIDDEN"]


# --- the comparison itself ---------------------------------------------------------------------

SAME = Reply(200, "application/json", {"data": {"a": 1, "b": [True, None]}})


@pytest.mark.parametrize(
    "other",
    [
        Reply(200, "application/json", {"data": {"a": 2, "b": [True, None]}}),
        Reply(200, "application/json", {"data": {"b": [True, None], "a": 1}}),
        Reply(200, "application/json", {"data": {"a": True, "b": [True, None]}}),
        Reply(200, "application/json", {"data": {"a": 1.0, "b": [True, None]}}),
        Reply(200, "application/json", {"data": {"a": 1, "b": [None, True]}}),
        Reply(200, "application/json", {"data": {"a": 1, "b": [True, None]}, "errors": []}),
        Reply(400, "application/json", {"data": {"a": 1, "b": [True, None]}}),
        Reply(200, GRAPHQL_RESPONSE, {"data": {"a": 1, "b": [True, None]}}),
        Reply(200, "application/json", '{"data": {"a": 1}}', is_json=False),
    ],
    ids=[
        "value",
        "key-order",
        "true-for-1",
        "float-for-int",
        "list-order",
        "extra-member",
        "status",
        "content-type",
        "not-json",
    ],
)
def test_the_comparison_detects_a_difference(other: Reply) -> None:
    # when / then
    with pytest.raises(AssertionError, match="answered differently") as failure:
        assert_same(SAME, other, request="{ a b }")
    assert "--- reference" in str(failure.value)
    assert "+++ compiled" in str(failure.value)


def test_the_comparison_accepts_identical_replies() -> None:
    # when / then: no error
    assert_same(
        SAME, Reply(200, "application/json", {"data": {"a": 1, "b": [True, None]}}), request=""
    )
