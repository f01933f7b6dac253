"""Keys, accounts and modes: who may call, what a key may do, and what it can see."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.domain.ids import random_base62
from tests.conftest import Api
from tests.helpers import (
    CREATE_CREDENTIALS,
    RESTRICTED_MESSAGE,
    UPDATE,
    assert_forbidden,
    missing,
    only_error,
)

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) { id livemode clientSecret url status }
}
"""

SESSIONS = """
query Sessions { verificationSessions(first: 100) { nodes { id livemode clientSecret url } totalCount } }
"""

NODE = """
query Node($id: ID!) { node(id: $id) { id } }
"""

NODES = """
query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }
"""

INTROSPECTION = """
{ __schema { queryType { name } mutationType { name } types { name } } }
"""

TYPENAME = "{ __typename }"

UNAUTHENTICATED_MESSAGE = (
    "Authentication required: send `Authorization: Bearer <key>` with a valid API key."
)
MALFORMED_HEADER_MESSAGE = "The Authorization header must be `Bearer <key>`."
INVALID_KEY_MESSAGE = "Invalid API key or client secret provided."


def post_raw(api: Api, query: str, *, authorization: str) -> httpx.Response:
    """POST a document with exactly this Authorization header value."""
    return api.http.post(
        "/graphql", json={"query": query}, headers={"Authorization": authorization}
    )


def raw_http(api: Api, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are over a fresh connection; the status and body of the answer."""
    host, port = api.server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# --- no key ---------------------------------------------------------------------------------------


def test_query_without_authorization_header_is_401_unauthenticated(api: Api) -> None:
    # when
    response = api.post(SESSIONS, key=None)
    # then
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    error = only_error(response)
    assert error["message"] == UNAUTHENTICATED_MESSAGE
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["path"] == ["verificationSessions"]
    assert response.json()["data"] is None


def test_nullable_query_without_authorization_header_is_401_unauthenticated(api: Api) -> None:
    # when
    response = api.post(SESSION, {"id": "vs_" + random_base62(24)}, key=None)
    # then
    assert response.status_code == 401
    assert only_error(response)["extensions"] == {"code": "UNAUTHENTICATED"}
    assert response.json()["data"] == {"verificationSession": None}


def test_node_query_without_authorization_header_is_401_unauthenticated(api: Api) -> None:
    # when
    response = api.post(NODE, {"id": "vs_" + random_base62(24)}, key=None)
    # then
    assert response.status_code == 401
    assert only_error(response)["extensions"] == {"code": "UNAUTHENTICATED"}


def test_create_without_authorization_header_is_401_and_writes_nothing(api: Api) -> None:
    # when
    response = api.post(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=None)
    # then
    assert response.status_code == 401
    error = only_error(response)
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["path"] == ["createVerificationSession"]
    assert api.gql(SESSIONS)["verificationSessions"]["totalCount"] == 0


def test_update_without_authorization_header_is_401_and_changes_nothing(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(metadata={"order": "1"})
    # when
    response = api.post(
        UPDATE, {"input": {"id": session["id"], "metadata": {"order": "2"}}}, key=None
    )
    # then
    assert response.status_code == 401
    assert only_error(response)["extensions"] == {"code": "UNAUTHENTICATED"}
    data = api.gql(
        "query($id: ID!) { verificationSession(id: $id) { metadata } }", {"id": session["id"]}
    )
    assert data == {"verificationSession": {"metadata": {"order": "1"}}}


# --- malformed headers and unknown keys -----------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["Basic x", "Basic dXNlcjpwYXNz", "Bearer", "Token sk_test_abc", "bearer"],
    ids=["basic", "basic-credentials", "bearer-alone", "token-scheme", "bearer-lower"],
)
def test_malformed_authorization_header_is_401(api: Api, authorization: str) -> None:
    # when
    response = post_raw(api, SESSIONS, authorization=authorization)
    # then
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": MALFORMED_HEADER_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


def test_bearer_with_empty_key_is_401(api: Api) -> None:
    # given: "Bearer " with its trailing space, which httpx refuses to send, so written by hand
    body = json.dumps({"query": SESSIONS}).encode()
    host = api.server.base_url.removeprefix("http://")
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer \r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    # when
    status, payload = raw_http(api, request)
    # then
    assert status == 401
    assert json.loads(payload) == {
        "errors": [{"message": MALFORMED_HEADER_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


@pytest.mark.parametrize(
    "prefix", ["sk_test_", "sk_live_", "rk_test_", "rk_live_"], ids=lambda p: p.rstrip("_")
)
def test_unknown_well_formed_key_is_401_and_never_echoed(api: Api, prefix: str) -> None:
    # given
    unknown = prefix + random_base62(32)
    # when
    response = post_raw(api, SESSIONS, authorization=f"Bearer {unknown}")
    # then
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": INVALID_KEY_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}]
    }
    assert unknown not in response.text
    assert unknown[8:] not in response.text


@pytest.mark.parametrize(
    "key",
    [
        "sk_test_short",
        "sk_prod_" + "a" * 32,
        "pk_test_" + "a" * 32,
        "sk_test_" + "!" * 32,
        "x" * 300,
    ],
    ids=["too-short", "unknown-mode", "publishable-prefix", "bad-characters", "long-garbage"],
)
def test_malformed_key_is_401_and_never_echoed(api: Api, key: str) -> None:
    # when
    response = post_raw(api, SESSIONS, authorization=f"Bearer {key}")
    # then
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": INVALID_KEY_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}]
    }
    assert key not in response.text


def test_bad_key_is_401_even_for_introspection(api: Api) -> None:
    # when
    response = post_raw(api, TYPENAME, authorization="Bearer sk_test_" + random_base62(32))
    # then
    assert response.status_code == 401
    assert only_error(response)["extensions"] == {"code": "UNAUTHENTICATED"}


def test_mutation_with_unknown_key_is_401_and_writes_nothing(api: Api) -> None:
    # when
    response = post_raw(
        api,
        "mutation { createVerificationSession(input: {type: DOCUMENT}) { userErrors { code } } }",
        authorization="Bearer sk_test_" + random_base62(32),
    )
    # then
    assert response.status_code == 401
    assert only_error(response)["extensions"] == {"code": "UNAUTHENTICATED"}
    assert api.gql(SESSIONS)["verificationSessions"]["totalCount"] == 0


# --- introspection is public --------------------------------------------------------------------


def test_introspection_needs_no_key(api: Api) -> None:
    # when
    response = api.post(INTROSPECTION, key=None)
    # then
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    schema = body["data"]["__schema"]
    assert schema["queryType"] == {"name": "Query"}
    assert schema["mutationType"] == {"name": "Mutation"}
    names = {item["name"] for item in schema["types"]}
    assert {
        "Node",
        "VerificationSession",
        "VerificationSessionConnection",
        "VerificationSessionStatus",
        "CreateVerificationSessionInput",
        "UserError",
        "UserErrorCode",
    } <= names


def test_typename_needs_no_key(api: Api) -> None:
    # when
    response = api.post(TYPENAME, key=None)
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_type_introspection_needs_no_key(api: Api) -> None:
    # when
    response = api.post('{ __type(name: "RedactionStatus") { enumValues { name } } }', key=None)
    # then
    assert response.status_code == 200
    assert response.json() == {
        "data": {"__type": {"enumValues": [{"name": "PROCESSING"}, {"name": "REDACTED"}]}}
    }


# --- restricted keys ----------------------------------------------------------------------------


def test_restricted_key_reads_session_without_client_secret_or_url(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    restricted = api.new_key(restricted=True)
    assert restricted.startswith("rk_test_")
    # when
    data = api.gql(SESSION, {"id": session["id"]}, key=restricted)
    # then
    assert data == {
        "verificationSession": {
            "id": session["id"],
            "livemode": False,
            "clientSecret": None,
            "url": None,
            "status": "REQUIRES_INPUT",
        }
    }


def test_restricted_key_lists_sessions_without_client_secret_or_url(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    first = create_session()
    second = create_session()
    restricted = api.new_key(restricted=True)
    # when
    data = api.gql(SESSIONS, key=restricted)
    # then
    assert data["verificationSessions"]["totalCount"] == 2
    assert sorted(data["verificationSessions"]["nodes"], key=lambda node: node["id"]) == sorted(
        [
            {"id": first["id"], "livemode": False, "clientSecret": None, "url": None},
            {"id": second["id"], "livemode": False, "clientSecret": None, "url": None},
        ],
        key=lambda node: node["id"],
    )
    assert first["clientSecret"] not in str(data)


def test_restricted_key_reads_node_without_client_secret(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    restricted = api.new_key(restricted=True)
    # when
    data = api.gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on VerificationSession { id clientSecret url } } }",
        {"ids": [session["id"]]},
        key=restricted,
    )
    # then
    assert data == {"nodes": [{"id": session["id"], "clientSecret": None, "url": None}]}


def test_secret_key_sees_client_secret_and_url(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    data = api.gql(SESSION, {"id": session["id"]})
    # then
    assert data["verificationSession"]["clientSecret"] == session["clientSecret"]
    assert data["verificationSession"]["clientSecret"].startswith(session["id"] + "_secret_")
    assert data["verificationSession"]["url"] == session["url"]
    assert data["verificationSession"]["url"].startswith(api.server.base_url + "/verify/")


def test_restricted_key_cannot_create_session(api: Api) -> None:
    # given
    restricted = api.new_key(restricted=True)
    # when
    response = api.post(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=restricted)
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": RESTRICTED_MESSAGE,
            "locations": [{"line": 3, "column": 3}],
            "path": ["createVerificationSession"],
            "extensions": {"code": "FORBIDDEN"},
        }
    ]
    assert api.gql(SESSIONS)["verificationSessions"]["totalCount"] == 0


def test_restricted_key_cannot_update_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(metadata={"order": "1"})
    restricted = api.new_key(restricted=True)
    # when
    response = api.post(
        UPDATE, {"input": {"id": session["id"], "metadata": {"order": "2"}}}, key=restricted
    )
    # then
    assert_forbidden(response, "updateVerificationSession")
    data = api.gql(
        "query($id: ID!) { verificationSession(id: $id) { metadata } }", {"id": session["id"]}
    )
    assert data == {"verificationSession": {"metadata": {"order": "1"}}}


def test_restricted_live_key_cannot_create_live_session(api: Api) -> None:
    # given
    restricted = api.new_key(livemode=True, restricted=True)
    assert restricted.startswith("rk_live_")
    # when
    response = api.post(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=restricted)
    # then
    assert response.status_code == 200
    assert only_error(response)["extensions"] == {"code": "FORBIDDEN"}
    live = api.new_key(livemode=True)
    assert api.gql(SESSIONS, key=live)["verificationSessions"]["totalCount"] == 0


# --- modes --------------------------------------------------------------------------------------


def test_live_key_creates_live_sessions(api: Api) -> None:
    # given
    live = api.new_key(livemode=True)
    assert live.startswith("sk_live_")
    # when
    payload = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=live)[
        "createVerificationSession"
    ]
    # then
    assert payload["userErrors"] == []
    assert payload["verificationSession"]["livemode"] is True
    assert (
        api.gql(SESSION, {"id": payload["verificationSession"]["id"]}, key=live)[
            "verificationSession"
        ]["livemode"]
        is True
    )


def test_test_key_does_not_see_live_sessions(api: Api) -> None:
    # given
    live = api.new_key(livemode=True)
    live_session = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=live)[
        "createVerificationSession"
    ]["verificationSession"]
    # when
    one = api.gql(SESSION, {"id": live_session["id"]})
    node = api.gql(NODE, {"id": live_session["id"]})
    nodes = api.gql(NODES, {"ids": [live_session["id"]]})
    listed = api.gql(SESSIONS)
    # then
    assert one == {"verificationSession": None}
    assert node == {"node": None}
    assert nodes == {"nodes": [None]}
    assert listed == {"verificationSessions": {"nodes": [], "totalCount": 0}}


def test_live_key_does_not_see_test_sessions(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    test_session = create_session()
    assert test_session["livemode"] is False
    live = api.new_key(livemode=True)
    # when
    one = api.gql(SESSION, {"id": test_session["id"]}, key=live)
    listed = api.gql(SESSIONS, key=live)
    # then
    assert one == {"verificationSession": None}
    assert listed == {"verificationSessions": {"nodes": [], "totalCount": 0}}


def test_live_key_cannot_update_test_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(metadata={"order": "1"})
    live = api.new_key(livemode=True)
    # when
    payload = api.gql(
        UPDATE, {"input": {"id": session["id"], "metadata": {"order": "2"}}}, key=live
    )["updateVerificationSession"]
    # then
    assert payload["verificationSession"] is None
    assert [error["code"] for error in payload["userErrors"]] == ["RESOURCE_MISSING"]
    data = api.gql(
        "query($id: ID!) { verificationSession(id: $id) { metadata } }", {"id": session["id"]}
    )
    assert data == {"verificationSession": {"metadata": {"order": "1"}}}


# --- accounts -----------------------------------------------------------------------------------


def test_other_account_does_not_see_session(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    one = other_api.gql(SESSION, {"id": session["id"]})
    node = other_api.gql(NODE, {"id": session["id"]})
    nodes = other_api.gql(NODES, {"ids": [session["id"]]})
    listed = other_api.gql(SESSIONS)
    # then
    assert one == {"verificationSession": None}
    assert node == {"node": None}
    assert nodes == {"nodes": [None]}
    assert listed == {"verificationSessions": {"nodes": [], "totalCount": 0}}


def test_other_account_cannot_update_session(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(metadata={"order": "1"})
    # when
    payload = other_api.gql(UPDATE, {"input": {"id": session["id"], "metadata": {"order": "2"}}})[
        "updateVerificationSession"
    ]
    # then
    assert payload == missing(session["id"])
    data = api.gql(
        "query($id: ID!) { verificationSession(id: $id) { metadata } }", {"id": session["id"]}
    )
    assert data == {"verificationSession": {"metadata": {"order": "1"}}}


def test_each_account_lists_only_its_own_sessions(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    mine = create_session()
    theirs = other_api.gql(CREATE_CREDENTIALS, {"input": {"type": "ID_NUMBER"}})[
        "createVerificationSession"
    ]["verificationSession"]
    # when
    my_list = api.gql(SESSIONS)["verificationSessions"]
    their_list = other_api.gql(SESSIONS)["verificationSessions"]
    # then
    assert [node["id"] for node in my_list["nodes"]] == [mine["id"]]
    assert my_list["totalCount"] == 1
    assert [node["id"] for node in their_list["nodes"]] == [theirs["id"]]
    assert their_list["totalCount"] == 1
