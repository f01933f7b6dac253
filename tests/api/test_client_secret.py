"""The end user's way in from a frontend: `Authorization: Bearer <clientSecret>` grants exactly one
session, a limited view of it and its submission. Also how the client secret and url live: spent
by a submission, reissued whenever a session in REQUIRES_INPUT holds expired ones, never logged
and never in an event. And CORS for browser frontends on other origins."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.domain.ids import random_base62
from app.schema.context import CLIENT_SECRET_FORBIDDEN
from tests.conftest import Api, Server, running_server
from tests.helpers import (
    CANCEL,
    REDACT,
    STATUS,
    SUBMIT_WITH_CLIENT_SECRET,
    events_of,
    only_error,
    submit,
    token_of,
    wait_for_redaction,
    wait_for_status,
)

LIMITED_FIELDS = """
id object created livemode status type
options {
  document { allowedTypes requireIdNumber requireLiveCapture requireMatchingSelfie }
  email { requireVerification } phone { requireVerification }
}
lastError { code reason } url
"""

LIMITED_SESSION = f"""
query Session($id: ID!) {{ verificationSession(id: $id) {{ {LIMITED_FIELDS} }} }}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) { id status clientSecret url lastError { code } }
}
"""

SESSIONS = """
query Sessions { verificationSessions(first: 100) { nodes { id status clientSecret url } } }
"""

FIELD_FORBIDDEN = (
    "This field is not available with a client secret. A client secret may read id, object, "
    "created, livemode, status, type, options, lastError and url."
)
INVALID_CREDENTIAL = {
    "errors": [
        {
            "message": "Invalid API key or client secret provided.",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
}
PAST = "'2000-01-01 00:00:00.000000'"

# Each operation a client secret may not run, its variables (given the secret's own session id)
# and the data that comes back beside the top-level FORBIDDEN error.
OUTSIDE_THE_GRANT: dict[str, tuple[str, Callable[[str], dict[str, Any]], Any]] = {
    "verificationSessions": (
        "query { verificationSessions { nodes { id } } }",
        lambda own: {},
        None,
    ),
    "node": (
        "query($id: ID!) { node(id: $id) { id } }",
        lambda own: {"id": own},
        {"node": None},
    ),
    "nodes": (
        "query($id: ID!) { nodes(ids: [$id]) { id } }",
        lambda own: {"id": own},
        None,
    ),
    "events": ("query { events { nodes { id } } }", lambda own: {}, None),
    "event": (
        "query($id: ID!) { event(id: $id) { id } }",
        lambda own: {"id": "evt_" + random_base62(24)},
        {"event": None},
    ),
    "verificationReports": (
        "query { verificationReports { nodes { id } } }",
        lambda own: {},
        None,
    ),
    "verificationReport": (
        "query($id: ID!) { verificationReport(id: $id) { id } }",
        lambda own: {"id": "vr_" + random_base62(24)},
        {"verificationReport": None},
    ),
    "createVerificationSession": (
        "mutation { createVerificationSession(input: {type: DOCUMENT}) { verificationSession { id } } }",
        lambda own: {},
        None,
    ),
    "updateVerificationSession": (
        'mutation($id: ID!) { updateVerificationSession(input: {id: $id, metadata: {a: "b"}}) '
        "{ verificationSession { id } } }",
        lambda own: {"id": own},
        None,
    ),
    "cancelVerificationSession": (
        "mutation($id: ID!) { cancelVerificationSession(input: {id: $id}) { verificationSession { id } } }",
        lambda own: {"id": own},
        None,
    ),
    "redactVerificationSession": (
        "mutation($id: ID!) { redactVerificationSession(input: {id: $id}) { verificationSession { id } } }",
        lambda own: {"id": own},
        None,
    ),
    "simulateVerificationSession": (
        "mutation($id: ID!) { simulateVerificationSession(input: {id: $id, outcome: VERIFIED}) "
        "{ verificationSession { id } } }",
        lambda own: {"id": own},
        None,
    ),
}


def read(api: Api, session_id: str) -> dict[str, Any]:
    session: dict[str, Any] = api.gql(SESSION, {"id": session_id})["verificationSession"]
    return session


def expire(api: Api, session_id: str, column: str) -> None:
    api.server.database.execute(
        f"UPDATE verification_sessions SET {column} = {PAST} WHERE id = :id", {"id": session_id}
    )


# --- the limited view -------------------------------------------------------------------------


def test_client_secret_reads_the_limited_view_of_its_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(
        options={"document": {"allowedTypes": ["PASSPORT"], "requireMatchingSelfie": True}},
        metadata={"order": "1234"},
    )
    # when
    data = api.gql(LIMITED_SESSION, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert data == {
        "verificationSession": {
            "id": session["id"],
            "object": "identity.verification_session",
            "created": session["created"],
            "livemode": False,
            "status": "REQUIRES_INPUT",
            "type": "DOCUMENT",
            "options": {
                "document": {
                    "allowedTypes": ["PASSPORT"],
                    "requireIdNumber": None,
                    "requireLiveCapture": None,
                    "requireMatchingSelfie": True,
                },
                "email": None,
                "phone": None,
            },
            "lastError": None,
            "url": session["url"],
        }
    }


def test_client_secret_reads_the_last_error_after_a_failed_attempt(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    submit(
        api,
        session["clientSecret"],
        id=session["id"],
        outcome="REQUIRES_INPUT",
        lastErrorCode="CONSENT_DECLINED",
    )
    fresh = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    # when
    data = api.gql(LIMITED_SESSION, {"id": session["id"]}, key=fresh["clientSecret"])
    # then
    assert data["verificationSession"]["lastError"] == {
        "code": "CONSENT_DECLINED",
        "reason": "The user declined to give consent.",
    }
    assert data["verificationSession"]["url"] == fresh["url"]


@pytest.mark.parametrize(
    ("selection", "field"),
    [
        ("clientSecret", "clientSecret"),
        ("providedDetails { email }", "providedDetails"),
        ("clientReferenceId", "clientReferenceId"),
        ("verifiedOutputs { firstName }", "verifiedOutputs"),
        ("lastVerificationReport { id }", "lastVerificationReport"),
        ("relatedCustomer", "relatedCustomer"),
        ("relatedPerson { account }", "relatedPerson"),
        ("redaction { status }", "redaction"),
        ("verificationFlow", "verificationFlow"),
    ],
)
def test_client_secret_selecting_a_field_outside_the_view_is_a_forbidden_field_error(
    api: Api, create_session: Callable[..., dict[str, Any]], selection: str, field: str
) -> None:
    # given
    session = create_session(
        clientReferenceId="user-7", relatedCustomer="cus_123", providedDetails={"email": "a@b.co"}
    )
    query = f"query($id: ID!) {{ verificationSession(id: $id) {{ id {selection} }} }}"
    # when
    response = api.post(query, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"verificationSession": {"id": session["id"], field: None}}
    error = only_error(response)
    assert (error["message"], error["path"], error["extensions"]) == (
        FIELD_FORBIDDEN,
        ["verificationSession", field],
        {"code": "FORBIDDEN"},
    )
    assert session["clientSecret"] not in response.text


def test_client_secret_selecting_metadata_is_a_forbidden_field_error(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(metadata={"order": "1234"})
    query = "query($id: ID!) { verificationSession(id: $id) { id metadata } }"
    # when
    response = api.post(query, {"id": session["id"]}, key=session["clientSecret"])
    # then: metadata is non-null, so the error nulls the whole session
    assert response.status_code == 200
    assert response.json()["data"] == {"verificationSession": None}
    error = only_error(response)
    assert (error["message"], error["path"], error["extensions"]) == (
        FIELD_FORBIDDEN,
        ["verificationSession", "metadata"],
        {"code": "FORBIDDEN"},
    )
    assert "1234" not in response.text


# --- outside the grant ------------------------------------------------------------------------


def test_client_secret_reading_another_session_is_forbidden(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    own = create_session()
    other = create_session()
    # when
    response = api.post(STATUS, {"id": other["id"]}, key=own["clientSecret"])
    # then
    assert response.status_code == 200
    assert response.json()["data"] == {"verificationSession": None}
    error = only_error(response)
    assert (error["message"], error["path"], error["extensions"]) == (
        CLIENT_SECRET_FORBIDDEN,
        ["verificationSession"],
        {"code": "FORBIDDEN"},
    )


def test_client_secret_submitting_another_session_is_forbidden(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    own = create_session()
    other = create_session()
    # when
    response = api.post(
        SUBMIT_WITH_CLIENT_SECRET, {"input": {"id": other["id"]}}, key=own["clientSecret"]
    )
    # then
    assert response.status_code == 200
    assert response.json()["data"] is None
    error = only_error(response)
    assert (error["message"], error["extensions"]) == (
        CLIENT_SECRET_FORBIDDEN,
        {"code": "FORBIDDEN"},
    )
    assert read(api, other["id"])["status"] == "REQUIRES_INPUT"
    assert read(api, own["id"])["clientSecret"] == own["clientSecret"]


@pytest.mark.parametrize("operation", list(OUTSIDE_THE_GRANT))
def test_client_secret_outside_its_grant_is_forbidden_and_changes_nothing(
    api: Api, create_session: Callable[..., dict[str, Any]], operation: str
) -> None:
    # given
    session = create_session()
    document, variables, data = OUTSIDE_THE_GRANT[operation]
    # when
    response = api.post(document, variables(session["id"]), key=session["clientSecret"])
    # then
    assert response.status_code == 200
    assert response.json()["data"] == data
    error = only_error(response)
    assert (error["message"], error["path"], error["extensions"]) == (
        CLIENT_SECRET_FORBIDDEN,
        [operation],
        {"code": "FORBIDDEN"},
    )
    after = read(api, session["id"])
    assert (after["status"], after["clientSecret"], after["url"]) == (
        "REQUIRES_INPUT",
        session["clientSecret"],
        session["url"],
    )
    sessions = api.gql(SESSIONS)["verificationSessions"]["nodes"]
    assert [item["id"] for item in sessions] == [session["id"]]


# --- credentials that do not authenticate -----------------------------------------------------


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIAL


def test_forged_client_secret_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    forged = f"{session['id']}_secret_{random_base62(24)}"
    # when
    response = api.post(STATUS, {"id": session["id"]}, key=forged)
    # then
    assert_unauthenticated(response)


def test_client_secret_with_a_changed_session_id_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: the token of one session's secret put behind another session's id
    first = create_session()
    second = create_session()
    token = first["clientSecret"].partition("_secret_")[2]
    # when
    response = api.post(STATUS, {"id": second["id"]}, key=f"{second['id']}_secret_{token}")
    # then
    assert_unauthenticated(response)


def test_client_secret_of_an_unknown_session_is_unauthenticated(api: Api) -> None:
    # given
    session_id = "vs_" + random_base62(24)
    # when
    response = api.post(STATUS, {"id": session_id}, key=f"{session_id}_secret_{random_base62(24)}")
    # then
    assert_unauthenticated(response)


def test_client_secret_of_a_deleted_session_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    for statement in (
        "DELETE FROM events WHERE session_id = :id",
        "DELETE FROM verification_links WHERE session_id = :id",
        "DELETE FROM verification_sessions WHERE id = :id",
    ):
        api.server.database.execute(statement, {"id": session["id"]})
    # when
    response = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert_unauthenticated(response)


def test_expired_client_secret_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    expire(api, session["id"], "client_secret_expires_at")
    # when
    response = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert_unauthenticated(response)


def test_client_secret_spent_by_its_own_submission_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    payload = submit(api, session["clientSecret"], id=session["id"])
    assert payload["verificationSession"]["status"] == "PROCESSING"
    # when
    response = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert_unauthenticated(response)


def test_client_secret_cannot_submit_twice(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    submit(api, session["clientSecret"], id=session["id"])
    # when
    response = api.post(
        SUBMIT_WITH_CLIENT_SECRET, {"input": {"id": session["id"]}}, key=session["clientSecret"]
    )
    # then
    assert_unauthenticated(response)


def test_client_secret_of_a_canceled_session_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.gql(CANCEL, {"id": session["id"]})
    # when
    response = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert_unauthenticated(response)


# --- fresh credentials ------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["client_secret_expires_at", "url_expires_at"])
def test_secret_key_retrieve_reissues_expired_credentials_as_a_usable_pair(
    api: Api, create_session: Callable[..., dict[str, Any]], column: str
) -> None:
    # given
    session = create_session()
    expire(api, session["id"], column)
    # when
    fresh = read(api, session["id"])
    # then
    assert fresh["status"] == "REQUIRES_INPUT"
    assert fresh["clientSecret"].startswith(f"{session['id']}_secret_")
    assert fresh["clientSecret"] != session["clientSecret"]
    assert fresh["url"].startswith(f"{api.server.base_url}/verify/")
    assert token_of(fresh["url"]) != token_of(session["url"])
    assert api.gql(STATUS, {"id": session["id"]}, key=fresh["clientSecret"]) == {
        "verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}
    }
    assert_unauthenticated(api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"]))
    assert api.http.get(fresh["url"]).status_code == 200
    assert api.http.get(session["url"]).status_code == 410
    # The pair is stored, not made up per read: the next retrieve shows the same one.
    assert read(api, session["id"]) == fresh


def test_secret_key_list_reissues_expired_credentials(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    expire(api, session["id"], "client_secret_expires_at")
    # when
    listed = api.gql(SESSIONS)["verificationSessions"]["nodes"]
    # then
    assert [item["id"] for item in listed] == [session["id"]]
    assert listed[0]["clientSecret"] != session["clientSecret"]
    assert api.gql(STATUS, {"id": session["id"]}, key=listed[0]["clientSecret"]) == {
        "verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}
    }
    assert read(api, session["id"])["clientSecret"] == listed[0]["clientSecret"]


def test_retrieve_keeps_credentials_that_are_still_valid(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    first = read(api, session["id"])
    second = read(api, session["id"])
    # then
    assert (first["clientSecret"], first["url"]) == (session["clientSecret"], session["url"])
    assert second == first


def test_retrieve_of_a_canceled_session_with_expired_credentials_issues_none(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.gql(CANCEL, {"id": session["id"]})
    expire(api, session["id"], "client_secret_expires_at")
    # when
    after = read(api, session["id"])
    # then
    assert (after["status"], after["clientSecret"], after["url"]) == ("CANCELED", None, None)


# --- never in events, never in logs -----------------------------------------------------------


def full_lifecycle(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> tuple[str, list[str]]:
    """Create, fail once with the client secret, verify with the fresh one, redact: the session id
    and every credential it handed out on the way."""
    session = create_session(metadata={"order": "1"})
    seen = [session["clientSecret"], token_of(session["url"])]
    api.http.get(session["url"])
    submit(
        api,
        session["clientSecret"],
        id=session["id"],
        outcome="REQUIRES_INPUT",
        lastErrorCode="DOCUMENT_EXPIRED",
    )
    failed = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    seen += [failed["clientSecret"], token_of(failed["url"])]
    expire(api, session["id"], "client_secret_expires_at")
    fresh = read(api, session["id"])
    seen += [fresh["clientSecret"], token_of(fresh["url"])]
    api.gql(STATUS, {"id": session["id"]}, key=fresh["clientSecret"])
    submit(api, fresh["clientSecret"], id=session["id"])
    wait_for_status(api, session["id"], "VERIFIED", document=SESSION)
    api.gql(REDACT, {"id": session["id"]})
    wait_for_redaction(api, session["id"])
    assert len(set(seen)) == 6
    return session["id"], seen


def test_events_never_carry_the_client_secret_or_url(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session_id, credentials = full_lifecycle(api, create_session)
    # when
    events = events_of(api, session_id)
    # then
    assert [event["type"].rsplit(".", 1)[1] for event in events] == [
        "created",
        "processing",
        "requires_input",
        "processing",
        "verified",
        "redacted",
    ]
    for event in events:
        for part in (event["data"]["object"], event["data"]["previous_attributes"]):
            assert not {"client_secret", "url", "verified_outputs"} & set(part)
        text = json.dumps(event["data"])
        for credential in credentials:
            assert credential not in text


def test_a_full_lifecycle_logs_no_key_client_secret_or_url_token(
    api: Api, create_session: Callable[..., dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.INFO)
    # when
    _, credentials = full_lifecycle(api, create_session)
    # then
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    records = [record for record in caplog.records if record.name.startswith("app.")]
    assert any(record.name == "app.access" for record in records)
    logged = "\n".join(handler.format(record) for record in records)
    assert "/verify/[token]" in logged
    for secret in (api.key, *credentials):
        assert secret not in logged


# --- CORS ---------------------------------------------------------------------------------------

SHOP = "https://shop.example"
ELSEWHERE = "https://elsewhere.example"


@pytest.fixture(scope="module")
def cors_server(server: Server) -> Iterator[Server]:
    """A second server over the same database whose settings allow the shop's origin. It runs no
    worker, so it never takes jobs from the shared server."""
    settings = dataclasses.replace(server.settings, cors_origins=(SHOP,))
    with running_server(settings, run_worker=False) as cors:
        yield cors


def preflight(base_url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{base_url}/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.lower().startswith("access-control-")
    }


def test_cors_preflight_from_an_allowed_origin_allows_authorization(cors_server: Server) -> None:
    # when
    response = preflight(cors_server.base_url, SHOP)
    # then
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    allowed_headers = {
        name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type"} <= allowed_headers
    assert "POST" in response.headers["access-control-allow-methods"]


def test_cors_post_from_an_allowed_origin_with_a_client_secret_is_answered(
    api: Api, cors_server: Server, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = httpx.post(
        f"{cors_server.base_url}/graphql",
        json={"query": STATUS, "variables": {"id": session["id"]}},
        headers={"Origin": SHOP, "Authorization": f"Bearer {session['clientSecret']}"},
    )
    # then
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.json() == {
        "data": {"verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}}
    }


def test_cors_preflight_from_another_origin_is_not_allowed(cors_server: Server) -> None:
    # when
    response = preflight(cors_server.base_url, ELSEWHERE)
    # then
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cors_post_from_another_origin_gets_no_allow_header(
    api: Api, cors_server: Server, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = httpx.post(
        f"{cors_server.base_url}/graphql",
        json={"query": STATUS, "variables": {"id": session["id"]}},
        headers={"Origin": ELSEWHERE, "Authorization": f"Bearer {session['clientSecret']}"},
    )
    # then
    assert "access-control-allow-origin" not in response.headers


def test_default_server_sends_no_cors_headers(api: Api) -> None:
    # when
    answer_to_preflight = preflight(api.server.base_url, SHOP)
    answer_to_post = api.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": SHOP}
    )
    # then
    assert answer_to_preflight.status_code == 405
    assert cors_headers(answer_to_preflight) == {}
    assert answer_to_post.status_code == 200
    assert cors_headers(answer_to_post) == {}
