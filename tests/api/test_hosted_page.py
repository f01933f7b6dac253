"""`GET /verify/<token>`: the hosted page a session's `url` points to."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.db import create_engine, write_session
from app.domain.access import Scope
from app.domain.ids import random_base62
from app.logs import request_id
from app.store import flows
from app.web import hosted
from tests.conftest import Api, Database, run

CREATE_FROM_FLOW = """
mutation Create($flow: String!) {
  createVerificationSession(input: {verificationFlow: $flow}) {
    verificationSession { id type url }
    userErrors { field message code }
  }
}
"""

CANCEL = "UPDATE verification_sessions SET status = 'canceled' WHERE id = :id"
EXPIRE = (
    "UPDATE verification_sessions SET url_expires_at = '2000-01-01 00:00:00.000000' WHERE id = :id"
)

NOT_FOUND_HEADING = "<h1>This verification link does not exist</h1>"
GONE_HEADING = "<h1>This verification link has expired or was already used</h1>"
LEAKS = ("Traceback", 'File "', "Exception", "Error:", "sqlalchemy", "<script")


def token_of(session: dict[str, Any]) -> str:
    url: str = session["url"]
    return url.rsplit("/", 1)[1]


def checks_on(page: str) -> list[str]:
    """The items of the page's "What we will check" list."""
    match = re.search(r"<dt>What we will check</dt><dd><ul>(.*?)</ul></dd>", page)
    assert match is not None, page
    return re.findall(r"<li>(.*?)</li>", match.group(1))


def definition(page: str, term: str) -> str:
    match = re.search(rf"<dt>{re.escape(term)}</dt><dd>(.*?)</dd>", page)
    assert match is not None, page
    return match.group(1)


def assert_html_page(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.text.startswith("<!doctype html>")
    for leak in LEAKS:
        assert leak not in response.text


def create_flow(database: Database, *, account_id: str, type: str, options: dict[str, Any]) -> str:
    async def go() -> str:
        engine = create_engine(database.url)
        try:
            async with write_session(engine) as db:
                scope = Scope(account_id=account_id, livemode=False)
                flow = await flows.create_flow(db, scope=scope, type=type, options=options)
                return flow.id
        finally:
            await engine.dispose()

    result: str = run(go())
    return result


# --- a live link --------------------------------------------------------------------------------


def test_page_shows_type_checks_and_status(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(options={"document": {"requireMatchingSelfie": True}})
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    page = response.text
    assert "<title>Verify your identity</title>" in page
    assert "<h1>Verify your identity</h1>" in page
    assert f"Test mode · session {session['id']}" in page
    assert definition(page, "Verification type") == "document"
    assert definition(page, "Status") == "requires input"
    assert checks_on(page) == [
        "Identity document: driving license, id card, passport",
        "Selfie matching the document photo",
    ]


def test_page_lists_every_requested_document_check(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(
        options={
            "document": {
                "allowedTypes": ["PASSPORT", "ID_CARD"],
                "requireIdNumber": True,
                "requireLiveCapture": True,
                "requireMatchingSelfie": True,
            }
        }
    )
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    assert checks_on(response.text) == [
        "Identity document: passport, id card",
        "ID number matching the document",
        "Live photo of the document",
        "Selfie matching the document photo",
    ]


def test_page_for_id_number_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(type="ID_NUMBER")
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    assert definition(response.text, "Verification type") == "id number"
    assert definition(response.text, "Status") == "requires input"
    assert checks_on(response.text) == ["ID number"]


def test_page_for_live_session_says_live(api: Api) -> None:
    # given
    live = api.new_key(livemode=True)
    session = api.gql(
        "mutation { createVerificationSession(input: {type: DOCUMENT}) { verificationSession { id url } } }",
        key=live,
    )["createVerificationSession"]["verificationSession"]
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    assert f"Live · session {session['id']}" in response.text
    assert "Test mode" not in response.text


def test_page_for_session_from_document_flow_shows_the_flow_checks(api: Api) -> None:
    # given
    flow_id = create_flow(
        api.server.database,
        account_id=api.account_id,
        type="document",
        options={"document": {"require_live_capture": True}},
    )
    payload = api.gql(CREATE_FROM_FLOW, {"flow": flow_id})["createVerificationSession"]
    assert payload["userErrors"] == []
    # when
    response = api.http.get(payload["verificationSession"]["url"])
    # then
    assert_html_page(response, 200)
    assert definition(response.text, "Verification type") == "verification flow"
    assert checks_on(response.text) == [
        "Identity document: driving license, id card, passport",
        "Live photo of the document",
    ]


@pytest.mark.parametrize(
    ("flow_type", "checks"),
    [
        ("document", ["Identity document: driving license, id card, passport"]),
        ("id_number", ["ID number"]),
    ],
)
def test_page_for_session_from_flow_without_options_shows_the_flow_type_checks(
    api: Api, flow_type: str, checks: list[str]
) -> None:
    # given
    flow_id = create_flow(
        api.server.database, account_id=api.account_id, type=flow_type, options={}
    )
    payload = api.gql(CREATE_FROM_FLOW, {"flow": flow_id})["createVerificationSession"]
    assert payload["userErrors"] == []
    # when
    response = api.http.get(payload["verificationSession"]["url"])
    # then
    assert_html_page(response, 200)
    assert checks_on(response.text) == checks


def test_page_carries_a_request_id(api: Api, create_session: Callable[..., dict[str, Any]]) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(session["url"])
    # then
    assert re.match(r"^req_[0-9A-Za-z]{16}$", response.headers["request-id"])


def test_page_has_no_scripts_and_no_outside_assets(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(options={"document": {"requireIdNumber": True}})
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    assert "<script" not in response.text
    assert "src=" not in response.text
    assert "href=" not in response.text


# --- unknown links ------------------------------------------------------------------------------


def test_unknown_token_is_a_404_page(api: Api) -> None:
    # when
    response = api.http.get(f"/verify/{random_base62(32)}")
    # then
    assert_html_page(response, 404)
    assert "<title>Verification link not found</title>" in response.text
    assert NOT_FOUND_HEADING in response.text


@pytest.mark.parametrize(
    "token",
    [
        "%3Cscript%3Ealert(1)%3C%5Cscript%3E",
        "%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "%27%20OR%20%271%27%3D%271",
        "x" * 2000,
    ],
    ids=["script-tag", "attribute-breakout", "sql-quote", "very-long"],
)
def test_hostile_token_is_a_404_page_that_reflects_nothing(api: Api, token: str) -> None:
    # when
    response = api.http.get(f"/verify/{token}")
    # then
    assert_html_page(response, 404)
    assert NOT_FOUND_HEADING in response.text
    for fragment in ("alert", "onerror", "<img", "OR '1'", "x" * 50):
        assert fragment not in response.text


def test_token_of_another_session_shape_is_a_404_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: a session id or client secret is not a url token
    session = create_session()
    # when
    by_id = api.http.get(f"/verify/{session['id']}")
    by_secret = api.http.get(f"/verify/{session['clientSecret']}")
    # then
    assert_html_page(by_id, 404)
    assert_html_page(by_secret, 404)


# --- spent links --------------------------------------------------------------------------------


def test_expired_token_is_a_410_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.server.database.execute(EXPIRE, {"id": session["id"]})
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 410)
    assert "<title>Verification link expired</title>" in response.text
    assert GONE_HEADING in response.text
    assert session["id"] not in response.text


def test_token_of_a_canceled_session_is_a_410_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.server.database.execute(CANCEL, {"id": session["id"]})
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 410)
    assert GONE_HEADING in response.text


def test_other_links_still_work_after_one_expires(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    expired = create_session()
    live = create_session()
    api.server.database.execute(EXPIRE, {"id": expired["id"]})
    # when
    response = api.http.get(live["url"])
    # then
    assert_html_page(response, 200)
    assert live["id"] in response.text


# --- failures -----------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Tags each captured record with the request id current when it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def test_unexpected_error_on_the_page_is_a_plain_500_logged_under_its_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("password=hunter2-not-a-real-secret")

    monkeypatch.setattr(hosted, "get_session_by_url_token", explode)
    token = random_base62(32)
    tag = RequestIdFilter()
    caplog.handler.addFilter(tag)
    # when
    try:
        response = api.http.get(f"/verify/{token}")
    finally:
        caplog.handler.removeFilter(tag)
    # then
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Internal Server Error"
    rid = response.headers["request-id"]
    assert re.match(r"^req_[0-9A-Za-z]{16}$", rid)
    errors = [r for r in caplog.records if r.name.startswith("app.") and r.levelno >= logging.ERROR]
    assert [(r.getMessage(), r.request_id) for r in errors] == [  # type: ignore[attr-defined]
        ("unhandled error in GET /verify/[token]", rid)
    ]
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[0] is RuntimeError
    app_log = "\n".join(
        logging.Formatter().format(r) for r in caplog.records if r.name.startswith("app.")
    )
    assert "hunter2" in app_log
    assert token not in app_log


def test_post_to_the_page_is_405(api: Api, create_session: Callable[..., dict[str, Any]]) -> None:
    # given
    session = create_session()
    # when
    response = api.http.post(session["url"])
    # then
    assert response.status_code == 405
