"""`/graphql` and `/healthz` over HTTP: methods, media types, status codes, Request-Id, masking."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.logs import request_id
from app.store import sessions as session_store
from tests.conftest import Api

TYPENAME = "{ __typename }"

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) { id status }
}
"""

SESSIONS = "{ verificationSessions { totalCount } }"

CREATE_MUTATION = (
    "mutation { createVerificationSession(input: {type: DOCUMENT}) { userErrors { code } } }"
)

GRAPHQL_RESPONSE = "application/graphql-response+json"
INTERNAL_MESSAGE = (
    "Internal server error. The gateway logged the details under this request's Request-Id."
)
REQUEST_ID = re.compile(r"^req_[0-9A-Za-z]{16}$")


def bearer(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.key}"}


def count_sessions(api: Api) -> int:
    total: int = api.gql(SESSIONS)["verificationSessions"]["totalCount"]
    return total


# --- GET ----------------------------------------------------------------------------------------


def test_get_runs_a_query_from_the_query_string(api: Api) -> None:
    # when
    response = api.http.get("/graphql", params={"query": TYPENAME})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"data": {"__typename": "Query"}}


def test_get_runs_a_query_with_variables_and_a_key(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(
        "/graphql",
        params={"query": SESSION, "variables": json.dumps({"id": session["id"]})},
        headers=bearer(api),
    )
    # then
    assert response.status_code == 200
    assert response.json() == {
        "data": {"verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}}
    }


def test_get_with_a_mutation_is_405_and_writes_nothing(api: Api) -> None:
    # when
    response = api.http.get("/graphql", params={"query": CREATE_MUTATION}, headers=bearer(api))
    # then
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "errors": [
            {
                "message": "Mutations are not allowed over GET; send them with POST.",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ]
    }
    assert count_sessions(api) == 0


def test_get_with_a_mutation_selected_by_operation_name_is_405(api: Api) -> None:
    # given
    document = f"query Q {{ __typename }}\nmutation M {CREATE_MUTATION.removeprefix('mutation ')}"
    # when
    response = api.http.get(
        "/graphql", params={"query": document, "operationName": "M"}, headers=bearer(api)
    )
    # then
    assert response.status_code == 405
    assert count_sessions(api) == 0


def test_get_with_malformed_variables_is_400(api: Api) -> None:
    # when
    response = api.http.get("/graphql", params={"query": TYPENAME, "variables": "{not json"})
    # then
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"message": "`variables` must be a JSON object.", "extensions": {"code": "BAD_REQUEST"}}
        ]
    }


def test_get_with_extensions_that_are_not_an_object_is_400(api: Api) -> None:
    # when
    response = api.http.get("/graphql", params={"query": TYPENAME, "extensions": "[1]"})
    # then
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "`extensions` must be a JSON object.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


def test_get_with_an_extensions_object_runs_the_query(api: Api) -> None:
    # when
    response = api.http.get(
        "/graphql", params={"query": TYPENAME, "extensions": json.dumps({"trace": True})}
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_get_without_query_from_a_program_is_400(api: Api) -> None:
    # when
    response = api.http.get("/graphql", headers={"Accept": "application/json"})
    # then
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "The request must carry a GraphQL document in `query`.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


def test_browser_get_opens_graphiql_without_redirect(api: Api) -> None:
    # when
    response = api.http.get(
        "/graphql",
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )
    # then
    assert response.status_code == 200
    assert response.history == []
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<!DOCTYPE html>" in response.text or "<!doctype html>" in response.text
    assert "GraphiQL" in response.text
    assert "graphiql" in response.text


def test_browser_get_with_a_query_runs_it(api: Api) -> None:
    # when
    response = api.http.get("/graphql", params={"query": TYPENAME}, headers={"Accept": "text/html"})
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405(api: Api, method: str) -> None:
    # when
    response = api.http.request(method, "/graphql", json={"query": TYPENAME})
    # then
    assert response.status_code == 405


# --- POST bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", json.dumps({"query": TYPENAME})),
        ("application/x-www-form-urlencoded", "query=%7B__typename%7D"),
        ("application/graphql", TYPENAME),
        (None, json.dumps({"query": TYPENAME})),
    ],
    ids=["text-plain", "form", "application-graphql", "no-content-type"],
)
def test_post_that_is_not_json_is_415(api: Api, content_type: str | None, content: str) -> None:
    # given
    headers = bearer(api)
    if content_type is not None:
        headers["Content-Type"] = content_type
    # when
    response = api.http.post("/graphql", content=content.encode(), headers=headers)
    # then
    assert response.status_code == 415
    assert response.json() == {
        "errors": [
            {
                "message": "Send GraphQL requests as `Content-Type: application/json`.",
                "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"},
            }
        ]
    }


def test_post_with_a_mutation_as_form_is_415_and_writes_nothing(api: Api) -> None:
    # when
    response = api.http.post("/graphql", data={"query": CREATE_MUTATION}, headers=bearer(api))
    # then
    assert response.status_code == 415
    assert count_sessions(api) == 0


def test_post_json_with_charset_is_accepted(api: Api) -> None:
    # when
    response = api.http.post(
        "/graphql",
        content=json.dumps({"query": TYPENAME}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "The request body is not valid JSON."),
        (b"", "The request body is not valid JSON."),
        (b"\xff\xfe{", "The request body is not valid JSON."),
        (
            json.dumps([{"query": TYPENAME}]).encode(),
            "Batched requests (a JSON array) are not supported; send one operation per request.",
        ),
        (b'"{ __typename }"', "The request body must be a JSON object with a `query`."),
        (b"{}", "The request must carry a GraphQL document in `query`."),
        (b'{"variables": {}}', "The request must carry a GraphQL document in `query`."),
        (b'{"query": null}', "The request must carry a GraphQL document in `query`."),
        (b'{"query": "   "}', "The request must carry a GraphQL document in `query`."),
        (b'{"query": 42}', "The request must carry a GraphQL document in `query`."),
        (b'{"query": "{ __typename }", "variables": [1]}', "`variables` must be a JSON object."),
        (b'{"query": "{ __typename }", "operationName": 7}', "`operationName` must be a string."),
        (b'{"query": "{ __typename }", "extensions": "{}"}', "`extensions` must be a JSON object."),
        (b'{"query": "{ __typename }", "extensions": [{}]}', "`extensions` must be a JSON object."),
        (b'{"query": "{ __typename }", "extensions": true}', "`extensions` must be a JSON object."),
    ],
    ids=[
        "invalid-json",
        "empty-body",
        "not-utf8",
        "json-array",
        "json-string",
        "empty-object",
        "no-query",
        "null-query",
        "blank-query",
        "number-query",
        "variables-array",
        "operation-name-number",
        "extensions-string",
        "extensions-array",
        "extensions-boolean",
    ],
)
def test_post_that_is_not_a_graphql_request_is_400(api: Api, content: bytes, message: str) -> None:
    # when
    response = api.http.post(
        "/graphql", content=content, headers={**bearer(api), "Content-Type": "application/json"}
    )
    # then
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    }


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {
                "message": f"The request body is larger than {limit} bytes (MAX_BODY_BYTES).",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }


def padded(size: int) -> bytes:
    """A valid request body of exactly `size` bytes: `{ __typename }` and a run of spaces."""
    start, end = b'{"query": "{ __typename }', b'"}'
    return start + b" " * (size - len(start) - len(end)) + end


def test_post_body_at_the_limit_is_read(api: Api) -> None:
    # when
    limit = api.server.settings.max_body_bytes
    response = api.http.post(
        "/graphql",
        content=padded(limit),
        headers={**bearer(api), "Content-Type": "application/json"},
    )
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_post_body_over_the_limit_is_413(api: Api) -> None:
    # when
    limit = api.server.settings.max_body_bytes
    response = api.http.post(
        "/graphql",
        content=padded(limit + 1),
        headers={**bearer(api), "Content-Type": "application/json"},
    )
    # then
    assert_too_large(response, limit)


def test_chunked_body_over_the_limit_is_413(api: Api) -> None:
    # given: a body of unknown length (no Content-Length), twice the limit
    limit = api.server.settings.max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }'
        for _ in range(2 * limit // 64_000 + 1):
            yield b" " * 64_000
        yield b'"}'

    # when
    response = api.http.post(
        "/graphql",
        content=chunks(),
        headers={**bearer(api), "Content-Type": "application/json"},
    )
    # then
    assert "content-length" not in response.request.headers
    assert_too_large(response, limit)


# --- GraphQL errors and the two response media types -------------------------------------------


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ __typename", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["parse", "validation"],
)
def test_invalid_document_is_400_for_graphql_response_json(
    api: Api, document: str, code: str
) -> None:
    # when
    response = api.post(document, headers={"Accept": GRAPHQL_RESPONSE})
    # then
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert list(body) == ["errors"]
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ __typename", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["parse", "validation"],
)
def test_invalid_document_is_200_with_errors_for_plain_json(
    api: Api, document: str, code: str
) -> None:
    # when
    response = api.post(document, headers={"Accept": "application/json"})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"]
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


def test_validation_error_names_the_unknown_field(api: Api) -> None:
    # when
    response = api.post("{ noSuchField }")
    # then
    assert response.json() == {
        "errors": [
            {
                "message": "Cannot query field 'noSuchField' on type 'Query'.",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }


def test_missing_variable_is_bad_user_input_and_400_for_graphql_response_json(api: Api) -> None:
    # when
    response = api.post(SESSION, {}, headers={"Accept": GRAPHQL_RESPONSE})
    # then
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
    assert "$id" in errors[0]["message"]


def test_valid_query_is_200_for_graphql_response_json(api: Api) -> None:
    # when
    response = api.post(SESSIONS, headers={"Accept": GRAPHQL_RESPONSE})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"verificationSessions": {"totalCount": 0}}}


def test_execution_error_is_200_with_data_for_graphql_response_json(api: Api) -> None:
    # when
    response = api.post(
        "{ verificationSessions(first: -1) { totalCount } }", headers={"Accept": GRAPHQL_RESPONSE}
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("extensions", [None, {}, {"persistedQuery": {"version": 1}}])
def test_post_with_null_or_an_extensions_object_runs_the_query(
    api: Api, extensions: dict[str, Any] | None
) -> None:
    # when
    response = api.http.post("/graphql", json={"query": TYPENAME, "extensions": extensions})
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE),
        ("application/*;q=0.8, application/json;q=0.1", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("application/graphql-response+json;q=0, application/json", "application/json"),
        ("application/graphql-response+json;q=0.5, */*", "application/json"),
        ("application/graphql-response+json;q=nope, application/json;q=0.1", "application/json"),
        ("application/*", "application/json"),
    ],
)
def test_response_media_type_is_the_one_accept_rates_highest(
    api: Api, accept: str, media_type: str
) -> None:
    # when: a document that fails validation, which only graphql-response+json answers with 400
    response = api.post("{ noSuchField }", headers={"Accept": accept})
    # then
    assert response.headers["content-type"] == media_type
    assert response.status_code == (400 if media_type == GRAPHQL_RESPONSE else 200)
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [
        "GRAPHQL_VALIDATION_FAILED"
    ]


# --- Request-Id ---------------------------------------------------------------------------------


def test_every_response_has_a_distinct_request_id(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    requests: list[Callable[[], httpx.Response]] = [
        lambda: api.post(TYPENAME),
        lambda: api.post(TYPENAME),
        lambda: api.post(SESSIONS, key=None),
        lambda: api.post(SESSIONS, key="sk_test_" + "0" * 32),
        lambda: api.http.get("/graphql", params={"query": TYPENAME}),
        lambda: api.http.get("/graphql", params={"query": CREATE_MUTATION}),
        lambda: api.http.get("/graphql", headers={"Accept": "text/html"}),
        lambda: api.http.post("/graphql", content=b"x", headers={"Content-Type": "text/plain"}),
        lambda: api.http.post(
            "/graphql", content=b"[", headers={"Content-Type": "application/json"}
        ),
        lambda: api.post("{ nope }", headers={"Accept": GRAPHQL_RESPONSE}),
        lambda: api.http.get("/healthz"),
        lambda: api.http.get(session["url"]),
        lambda: api.http.get("/verify/unknown"),
        lambda: api.http.get("/no-such-path"),
    ]
    # when
    responses = [send() for send in requests]
    # then
    assert [response.status_code for response in responses] == [
        200, 200, 401, 401, 200, 405, 200, 415, 400, 400, 200, 200, 404, 404,
    ]  # fmt: skip
    ids = [response.headers.get("request-id", "") for response in responses]
    assert all(REQUEST_ID.match(rid) for rid in ids), ids
    assert len(set(ids)) == len(ids)


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_reports_ok_when_the_database_answers(api: Api) -> None:
    # when
    response = api.http.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


# --- unexpected errors --------------------------------------------------------------------------


FAKE_DETAIL = "connection reset by db-7.internal: password=hunter2-not-a-real-secret"


@pytest.fixture
def request_ids(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog whose records carry the request id that was current when they were logged."""

    class RequestIdFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.request_id = request_id.get()
            return True

    tag = RequestIdFilter()
    caplog.handler.addFilter(tag)
    caplog.set_level(logging.INFO)
    yield caplog
    caplog.handler.removeFilter(tag)


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the gateway's own loggers wrote, tracebacks included.

    The in-process server's uvicorn loggers are left out: pytest captures `uvicorn.access`, which
    `python -m app serve` silences (tests/test_cli.py checks the real server's whole stderr), and
    the httpx client logs the URLs it requests.
    """
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    return "\n".join(
        handler.format(record) for record in caplog.records if record.name.startswith("app.")
    )


@pytest.fixture
def failing_get_session(monkeypatch: pytest.MonkeyPatch) -> None:
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(FAKE_DETAIL)

    # The server runs in a thread of this process; the resolver calls `store.get_session`.
    monkeypatch.setattr(session_store, "get_session", explode)


def test_unexpected_error_is_masked_for_the_client(
    api: Api, create_session: Callable[..., dict[str, Any]], failing_get_session: None
) -> None:
    # given
    session = create_session()
    # when
    response = api.post(SESSION, {"id": session["id"]})
    # then
    assert response.status_code == 200
    assert response.json() == {
        "data": {"verificationSession": None},
        "errors": [
            {
                "message": INTERNAL_MESSAGE,
                "locations": [{"line": 3, "column": 3}],
                "path": ["verificationSession"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR"},
            }
        ],
    }
    for leak in ("hunter2", "db-7.internal", "RuntimeError", "Traceback", 'File "'):
        assert leak not in response.text


def test_unexpected_error_is_masked_for_graphql_response_json(
    api: Api, create_session: Callable[..., dict[str, Any]], failing_get_session: None
) -> None:
    # given
    session = create_session()
    # when
    response = api.post(SESSION, {"id": session["id"]}, headers={"Accept": GRAPHQL_RESPONSE})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert [error["extensions"] for error in response.json()["errors"]] == [
        {"code": "INTERNAL_SERVER_ERROR"}
    ]
    assert "hunter2" not in response.text


def test_unexpected_error_is_logged_under_the_request_id_without_secrets(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    failing_get_session: None,
    request_ids: pytest.LogCaptureFixture,
) -> None:
    # given
    session = create_session()
    request_ids.clear()
    # when
    response = api.post(SESSION, {"id": session["id"]})
    # then
    rid = response.headers["request-id"]
    errors = [record for record in request_ids.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    record = errors[0]
    assert record.name == "app.graphql"
    assert record.request_id == rid  # type: ignore[attr-defined]
    assert record.getMessage() == "unexpected error resolving verificationSession"
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    access = [record for record in request_ids.records if record.name == "app.access"]
    assert [record.getMessage().split(" ")[:3] for record in access] == [
        ["POST", "/graphql", "200"]
    ]
    assert access[0].request_id == rid  # type: ignore[attr-defined]
    logged = server_log(request_ids)
    assert FAKE_DETAIL in logged
    for secret in (api.key, session["clientSecret"], session["url"].rsplit("/", 1)[1]):
        assert secret not in logged


def test_hosted_page_tokens_never_reach_the_access_log(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    request_ids: pytest.LogCaptureFixture,
) -> None:
    # given
    session = create_session()
    token = session["url"].rsplit("/", 1)[1]
    request_ids.clear()
    # when
    response = api.http.get(session["url"])
    # then: the page's access line (written once the response is sent, so waited for; the
    # create's own line may land after the clear) names no token
    assert response.status_code == 200

    def page_lines() -> list[str]:
        return [
            record.getMessage()
            for record in request_ids.records
            if record.name == "app.access" and record.getMessage().startswith("GET /verify/")
        ]

    deadline = time.monotonic() + 5
    while not page_lines() and time.monotonic() < deadline:
        time.sleep(0.01)
    access = page_lines()
    assert len(access) == 1
    assert access[0].startswith("GET /verify/[token] 200 ")
    assert token not in server_log(request_ids)


def test_unexpected_error_in_a_mutation_is_masked_and_rolled_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(FAKE_DETAIL)

    monkeypatch.setattr(session_store, "create_session", explode)
    # when
    response = api.post(CREATE_MUTATION)
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [(error["message"], error["extensions"]) for error in body["errors"]] == [
        (INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"})
    ]
    assert "hunter2" not in response.text
    monkeypatch.undo()
    assert count_sessions(api) == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_operation_name_is_a_request_error_not_a_500(api: Api, method: str) -> None:
    # given
    request = {"query": "query A { __typename }", "operationName": "Nope"}
    # when
    if method == "GET":
        response = api.http.get("/graphql", params=request, headers=bearer(api))
    else:
        response = api.http.post("/graphql", json=request, headers=bearer(api))
    strict = api.http.post(
        "/graphql",
        json=request,
        headers={**bearer(api), "Accept": "application/graphql-response+json"},
    )
    # then
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "Unknown operation named 'Nope'.",
                "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
            }
        ]
    }
    assert strict.status_code == 400
    assert strict.json() == response.json()
