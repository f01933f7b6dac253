"""`node`, `nodes` and `verificationSession`: fetching by id, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.domain import ids
from tests.conftest import Api

CreateSession = Callable[..., dict[str, Any]]

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on VerificationSession { status type clientReferenceId created livemode }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    id
    ... on VerificationSession { clientReferenceId }
  }
}
"""

VERIFICATION_SESSION = """
query VerificationSession($id: ID!) {
  verificationSession(id: $id) { id status clientReferenceId created livemode }
}
"""

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id }
    userErrors { field message code }
  }
}
"""

MALFORMED_IDS = {
    "plain word": "nope",
    "empty": "",
    "short session id": "vs_short",
    "unknown prefix": "xx_" + "a" * 24,
    "session id too long": "vs_" + "a" * 25,
    "not base62": "vs_" + "-" * 24,
    "sql": "vs_' OR '1'='1",
    "very long": "vs_" + "a" * 5000,
}


def unknown_session_id() -> str:
    return ids.new_id(ids.SESSION)


def create_in(api: Api, *, key: str | None = "default", **overrides: Any) -> str:
    """A session made with another account's or another mode's key; returns its id."""
    payload = api.gql(CREATE, {"input": {"type": "DOCUMENT", **overrides}}, key=key)
    assert payload["createVerificationSession"]["userErrors"] == []
    return payload["createVerificationSession"]["verificationSession"]["id"]  # type: ignore[no-any-return]


# --- node --------------------------------------------------------------------------------------


def test_node_returns_a_session_by_its_id(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session(clientReferenceId="ref-1")
    # when
    data = api.gql(NODE, {"id": session["id"]})
    # then
    assert data == {
        "node": {
            "__typename": "VerificationSession",
            "id": session["id"],
            "status": "REQUIRES_INPUT",
            "type": "DOCUMENT",
            "clientReferenceId": "ref-1",
            "created": session["created"],
            "livemode": False,
        }
    }


def test_node_is_null_for_an_unknown_session_id(api: Api, create_session: CreateSession) -> None:
    # given
    create_session()
    # when
    data = api.gql(NODE, {"id": unknown_session_id()})
    # then
    assert data == {"node": None}


@pytest.mark.parametrize("object_id", MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
def test_node_is_null_for_a_malformed_id(api: Api, object_id: str) -> None:
    assert api.gql(NODE, {"id": object_id}) == {"node": None}


def test_node_is_null_for_another_accounts_session(api: Api, other_api: Api) -> None:
    # given
    theirs = create_in(other_api)
    # when
    data = api.gql(NODE, {"id": theirs})
    # then
    assert data == {"node": None}
    assert other_api.gql(NODE, {"id": theirs})["node"]["id"] == theirs


def test_node_is_null_for_a_session_of_the_other_mode(
    api: Api, create_session: CreateSession
) -> None:
    # given
    live_key = api.new_key(livemode=True)
    live = create_in(api, key=live_key)
    test = create_session()["id"]
    # when
    live_seen_by_test_key = api.gql(NODE, {"id": live})
    test_seen_by_live_key = api.gql(NODE, {"id": test}, key=live_key)
    # then
    assert live_seen_by_test_key == {"node": None}
    assert test_seen_by_live_key == {"node": None}
    assert api.gql(NODE, {"id": live}, key=live_key)["node"]["livemode"] is True


# --- nodes -------------------------------------------------------------------------------------


def test_nodes_returns_sessions_in_the_order_asked_with_null_for_the_rest(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    first = create_session(clientReferenceId="first")
    second = create_session(clientReferenceId="second")
    theirs = create_in(other_api)
    live = create_in(api, key=api.new_key(livemode=True))
    # when
    data = api.gql(
        NODES,
        {
            "ids": [
                second["id"],
                "nope",
                first["id"],
                unknown_session_id(),
                theirs,
                "vs_short",
                live,
                "xx_" + "b" * 24,
                second["id"],
            ]
        },
    )
    # then
    second_node = {
        "__typename": "VerificationSession",
        "id": second["id"],
        "clientReferenceId": "second",
    }
    first_node = {
        "__typename": "VerificationSession",
        "id": first["id"],
        "clientReferenceId": "first",
    }
    assert data == {
        "nodes": [second_node, None, first_node, None, None, None, None, None, second_node]
    }


def test_nodes_with_no_ids_is_an_empty_list(api: Api) -> None:
    assert api.gql(NODES, {"ids": []}) == {"nodes": []}


def test_nodes_takes_one_hundred_ids(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session()
    asked = [unknown_session_id() for _ in range(99)] + [session["id"]]
    # when
    data = api.gql(NODES, {"ids": asked})
    # then
    assert data["nodes"][:99] == [None] * 99
    assert data["nodes"][99]["id"] == session["id"]


def test_nodes_with_more_than_one_hundred_ids_is_a_bad_user_input_error(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    response = api.post(NODES, {"ids": [session["id"]] * 101})
    # then
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "`ids` may hold at most 100 IDs, got 101.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["nodes"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


# --- verificationSession -----------------------------------------------------------------------


def test_verification_session_returns_the_session(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session(clientReferenceId="ref-2")
    # when
    data = api.gql(VERIFICATION_SESSION, {"id": session["id"]})
    # then
    assert data == {
        "verificationSession": {
            "id": session["id"],
            "status": "REQUIRES_INPUT",
            "clientReferenceId": "ref-2",
            "created": session["created"],
            "livemode": False,
        }
    }


def test_verification_session_is_null_when_not_found(api: Api) -> None:
    assert api.gql(VERIFICATION_SESSION, {"id": unknown_session_id()}) == {
        "verificationSession": None
    }


@pytest.mark.parametrize("object_id", MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
def test_verification_session_is_null_for_a_malformed_id(api: Api, object_id: str) -> None:
    assert api.gql(VERIFICATION_SESSION, {"id": object_id}) == {"verificationSession": None}


def test_verification_session_is_null_for_another_account_or_mode(api: Api, other_api: Api) -> None:
    # given
    theirs = create_in(other_api)
    live = create_in(api, key=api.new_key(livemode=True))
    # when
    data = [api.gql(VERIFICATION_SESSION, {"id": object_id}) for object_id in (theirs, live)]
    # then
    assert data == [{"verificationSession": None}, {"verificationSession": None}]
