"""The hosted page a session's `url` points to: `GET /verify/<token>` (the form),
`POST /verify/<token>` (the tester's choice) and `GET /verify/<token>/status` (progress, result).

The test server processes a submission after 1 s, so final states are polled for (never timed).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from html import escape
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from app.domain.ids import random_base62
from app.logs import request_id
from app.services import links
from tests.conftest import Api, Server, running_server
from tests.helpers import (
    ADA,
    CANCEL,
    STATUS,
    create_live_session,
    event_types,
    read_session,
    token_of,
    wait_for,
    wait_until_processed,
)

CREATE_FROM_FLOW = """
mutation Create($flow: String!) {
  createVerificationSession(input: {verificationFlow: $flow}) {
    verificationSession { id type url }
    userErrors { field message code }
  }
}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    status url clientSecret
    lastError { code reason }
    lastVerificationReport { id }
    verifiedOutputs {
      firstName lastName dob { day month year }
      address { line1 line2 city state postalCode country }
      idNumberType idNumber email phone
    }
  }
}
"""

CANCEL_IN_DATABASE = "UPDATE verification_sessions SET status = 'canceled' WHERE id = :id"
EXPIRE = (
    "UPDATE verification_links SET expires_at = '2000-01-01 00:00:00.000000' WHERE session_id = :id"
)

NOT_FOUND_HEADING = "<h1>This verification link does not exist</h1>"
GONE_HEADING = "<h1>This verification link has expired or was already used</h1>"
UNAVAILABLE_HEADING = "<h1>Verification is not available</h1>"
REFRESH = '<meta http-equiv="refresh" content="1">'
LEAKS = ("Traceback", 'File "', "Exception", "Error:", "sqlalchemy", "<script")

# The verify form as the page prefills it: Stripe's test person.
PREFILLED = {
    "first_name": "Jenny",
    "last_name": "Rosen",
    "dob": "1901-01-01",
    "address_line1": "354 Oyster Point Blvd",
    "address_line2": "",
    "address_city": "South San Francisco",
    "address_state": "CA",
    "address_postal_code": "94080",
    "address_country": "US",
    "id_number": "000000000",
    "email": "jenny.rosen@example.com",
    "phone": "+14155550123",
}

# A tester's edits of every field, as the browser posts them.
EDITED = {
    "outcome": "verified",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "dob": "1815-12-10",
    "address_line1": "12 St James's Square",
    "address_line2": "Flat 2",
    "address_city": "London",
    "address_state": "",
    "address_postal_code": "SW1Y 4JH",
    "address_country": "GB",
    "id_number_type": "sg_nric",
    "id_number": "S1234567D",
    "email": "ada@example.com",
    "phone": "+442071234567",
}

LAST_ERROR_CODES = [
    "abandoned",
    "consent_declined",
    "country_not_supported",
    "device_not_supported",
    "document_expired",
    "document_type_not_supported",
    "document_unverified_other",
    "email_unverified_other",
    "email_verification_declined",
    "id_number_insufficient_document_data",
    "id_number_mismatch",
    "id_number_unverified_other",
    "phone_unverified_other",
    "phone_verification_declined",
    "selfie_document_missing_photo",
    "selfie_face_mismatch",
    "selfie_manipulated",
    "selfie_unverified_other",
    "under_supported_age",
]

HOSTILE_FIRST_NAME = "<script>alert(1)</script>"
HOSTILE_LAST_NAME = '"><img src=x onerror=alert(1)>'


def status_url(session: dict[str, Any]) -> str:
    return f"/verify/{token_of(session['url'])}/status"


def checks_on(page: str) -> list[str]:
    """The items of the page's "What we will check" list."""
    match = re.search(r"<dt>What we will check</dt><dd><ul>(.*?)</ul></dd>", page)
    assert match is not None, page
    return re.findall(r"<li>(.*?)</li>", match.group(1))


def definition(page: str, term: str) -> str:
    match = re.search(rf"<dt>{re.escape(term)}</dt><dd>(.*?)</dd>", page)
    assert match is not None, page
    return match.group(1)


def problem_on(page: str) -> str:
    match = re.search(r'<p class="problem" role="alert" id="problem">(.*?)</p>', page)
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


class Controls(HTMLParser):
    """The form controls of a page: inputs, selects with their options, buttons and labels."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms = 0
        self.inputs: list[dict[str, str | None]] = []
        self.selects: dict[str, dict[str, str | None]] = {}
        self.options: dict[str, list[tuple[str, bool]]] = {}
        self.buttons: list[tuple[str | None, str | None, str]] = []
        self.labelled: list[str] = []
        self._select: str | None = None
        self._button: dict[str, str | None] | None = None
        self._text = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms += 1
        elif tag == "input":
            self.inputs.append(attributes)
        elif tag == "select":
            self._select = str(attributes["name"])
            self.selects[self._select] = attributes
            self.options[self._select] = []
        elif tag == "option":
            assert self._select is not None
            self.options[self._select].append((str(attributes["value"]), "selected" in attributes))
        elif tag == "label":
            self.labelled.append(str(attributes["for"]))
        elif tag == "button":
            self._button, self._text = attributes, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "button" and self._button is not None:
            self.buttons.append((self._button.get("name"), self._button.get("value"), self._text))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._text += data

    def values(self) -> dict[str, str]:
        """The visible text inputs' values by name."""
        return {
            str(item["name"]): str(item["value"])
            for item in self.inputs
            if item.get("type") != "hidden"
        }

    def invalid(self) -> list[str]:
        """The ids of the controls marked invalid."""
        controls = [*self.inputs, *self.selects.values()]
        return [str(item["id"]) for item in controls if item.get("aria-invalid") == "true"]


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
    _, session = create_live_session(api)
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    assert f"Live · session {session['id']}" in response.text
    assert "Test mode" not in response.text


def test_page_for_session_from_document_flow_shows_the_flow_checks(api: Api) -> None:
    # given
    flow_id = api.new_flow(
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
    flow_id = api.new_flow(type=flow_type, options={})
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


# --- the test-mode form -------------------------------------------------------------------------


def test_form_is_prefilled_with_the_test_person(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    controls = Controls(response.text)
    assert controls.values() == PREFILLED
    assert controls.options["id_number_type"] == [
        ("br_cpf", False),
        ("sg_nric", False),
        ("us_ssn", True),
    ]


def test_form_offers_verify_every_error_code_abandon_and_decline_consent(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(session["url"])
    # then
    controls = Controls(response.text)
    assert controls.forms == 3
    assert [item["value"] for item in controls.inputs if item["name"] == "outcome"] == [
        "verified",
        "requires_input",
        "requires_input",
    ]
    assert [code for code, _ in controls.options["last_error_code"]] == LAST_ERROR_CODES
    assert len(LAST_ERROR_CODES) == 19
    assert controls.buttons == [
        (None, None, "Verify"),
        (None, None, "Fail"),
        ("last_error_code", "abandoned", "Abandon"),
        ("last_error_code", "consent_declined", "Decline consent"),
    ]


def test_form_labels_every_control(api: Api, create_session: Callable[..., dict[str, Any]]) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(session["url"])
    # then
    controls = Controls(response.text)
    visible = [item for item in controls.inputs if item["type"] != "hidden"]
    ids = [str(item["id"]) for item in [*visible, *controls.selects.values()]]
    assert sorted(controls.labelled) == sorted(ids)
    assert len(ids) == 14


def test_form_posts_to_the_page_itself_without_scripts(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(session["url"])
    # then: no action attribute, so each form posts back to the page's own url
    assert response.text.count('<form method="post"') == 3
    assert "action=" not in response.text
    assert "<script" not in response.text
    assert "form-action 'self'" in response.headers["content-security-policy"]


# --- submitting ---------------------------------------------------------------------------------


def test_verify_processes_then_verifies_with_the_edited_data(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.post(session["url"], data=EDITED)
    # then
    assert response.status_code == 303
    assert response.headers["location"] == status_url(session)
    assert response.headers["cache-control"] == "no-store"
    processing = read_session(api, session["id"], SESSION)
    assert processing["status"] == "PROCESSING"
    assert processing["url"] is None
    assert processing["clientSecret"] is None
    verified = wait_until_processed(api, session["id"], document=SESSION)
    assert verified["status"] == "VERIFIED"
    assert verified["verifiedOutputs"] == ADA
    assert verified["lastError"] is None
    assert verified["lastVerificationReport"]["id"].startswith("vr_")
    assert event_types(api, session["id"]) == ["created", "processing", "verified"]


def test_verify_with_the_prefilled_data_verifies_the_test_person(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    form = {"outcome": "verified", "id_number_type": "us_ssn", **PREFILLED}
    # when
    response = api.http.post(session["url"], data=form)
    # then
    assert response.status_code == 303
    outputs = wait_until_processed(api, session["id"], document=SESSION)["verifiedOutputs"]
    assert outputs["firstName"] == "Jenny"
    assert outputs["dob"] == {"day": 1, "month": 1, "year": 1901}
    assert outputs["address"]["line2"] is None
    assert outputs["idNumberType"] == "US_SSN"


def test_fail_returns_to_requires_input_with_the_code_and_new_credentials(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.post(
        session["url"], data={"outcome": "requires_input", "last_error_code": "document_expired"}
    )
    # then
    assert response.status_code == 303
    assert read_session(api, session["id"], SESSION)["status"] == "PROCESSING"
    failed = wait_until_processed(api, session["id"], document=SESSION)
    assert failed["status"] == "REQUIRES_INPUT"
    assert failed["lastError"] == {
        "code": "DOCUMENT_EXPIRED",
        "reason": "The provided identity document has expired.",
    }
    assert failed["lastVerificationReport"]["id"].startswith("vr_")
    assert failed["verifiedOutputs"] is None
    assert failed["url"] is not None
    assert failed["url"] != session["url"]
    assert failed["clientSecret"] is not None
    assert failed["clientSecret"] != session["clientSecret"]
    assert event_types(api, session["id"]) == ["created", "processing", "requires_input"]


def test_after_a_failure_the_old_link_and_secret_are_spent_and_the_new_ones_work(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.http.post(
        session["url"], data={"outcome": "requires_input", "last_error_code": "id_number_mismatch"}
    )
    failed = wait_until_processed(api, session["id"], document=SESSION)
    # when
    old_page = api.http.get(session["url"])
    new_page = api.http.get(failed["url"])
    old_secret = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    new_secret = api.gql(STATUS, {"id": session["id"]}, key=failed["clientSecret"])
    # then
    assert_html_page(old_page, 410)
    assert GONE_HEADING in old_page.text
    assert_html_page(new_page, 200)
    assert definition(new_page.text, "Status") == "requires input"
    assert old_secret.status_code == 401
    assert [error["extensions"]["code"] for error in old_secret.json()["errors"]] == [
        "UNAUTHENTICATED"
    ]
    assert new_secret == {"verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}}


@pytest.mark.parametrize(
    ("button", "code", "reason"),
    [
        ("abandoned", "ABANDONED", "The user abandoned the verification."),
        ("consent_declined", "CONSENT_DECLINED", "The user declined to give consent."),
    ],
    ids=["abandon", "decline-consent"],
)
def test_leaving_without_verifying_records_its_code(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    button: str,
    code: str,
    reason: str,
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.post(
        session["url"], data={"outcome": "requires_input", "last_error_code": button}
    )
    # then
    assert response.status_code == 303
    failed = wait_until_processed(api, session["id"], document=SESSION)
    assert failed["status"] == "REQUIRES_INPUT"
    assert failed["lastError"] == {"code": code, "reason": reason}
    assert failed["url"] not in (None, session["url"])


def test_second_submit_is_a_410_page_and_changes_nothing(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    first = api.http.post(session["url"], data=EDITED)
    # when
    second = api.http.post(
        session["url"], data={"outcome": "requires_input", "last_error_code": "abandoned"}
    )
    # then
    assert first.status_code == 303
    assert_html_page(second, 410)
    assert GONE_HEADING in second.text
    verified = wait_until_processed(api, session["id"], document=SESSION)
    assert verified["status"] == "VERIFIED"
    assert event_types(api, session["id"]) == ["created", "processing", "verified"]


# --- the status page ----------------------------------------------------------------------------


def test_status_page_shows_progress_then_the_result_and_links_back_to_the_app(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(returnUrl="https://example.com/done?step=2&from=identity")
    api.http.post(session["url"], data=EDITED)
    # when
    progress = api.http.get(status_url(session))
    result = wait_for(
        lambda: api.http.get(status_url(session)),
        lambda response: REFRESH not in response.text,
        what="the status page to show the result",
    )
    # then
    assert_html_page(progress, 200)
    assert REFRESH in progress.text
    assert "<h1>Checking your details</h1>" in progress.text
    assert definition(progress.text, "Status") == "processing"
    assert_html_page(result, 200)
    assert "<h1>Your identity is verified</h1>" in result.text
    assert definition(result.text, "Status") == "verified"
    assert (
        '<a href="https://example.com/done?step=2&amp;from=identity" rel="noreferrer">'
        "Return to the app</a>"
    ) in result.text
    for page in (progress.text, result.text):
        for personal in ("Ada", "Lovelace", "1815", "London", "S1234567D", "ada@example.com"):
            assert personal not in page


def test_status_page_after_a_failure_gives_the_reason_and_sends_the_user_back(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.http.post(
        session["url"],
        data={"outcome": "requires_input", "last_error_code": "selfie_face_mismatch"},
    )
    failed = wait_until_processed(api, session["id"], document=SESSION)
    # when
    response = api.http.get(status_url(session))
    # then
    assert_html_page(response, 200)
    page = response.text
    assert "<h1>Your identity could not be verified</h1>" in page
    assert f"<p>{escape(failed['lastError']['reason'])}</p>" in page
    assert "Return to the app to try again: it has a new link for you." in page
    assert REFRESH not in page
    assert token_of(failed["url"]) not in page
    assert "href=" not in page


def test_status_page_of_a_canceled_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(returnUrl="https://example.com/back")
    canceled = api.gql(CANCEL, {"id": session["id"]})["cancelVerificationSession"]
    assert canceled["userErrors"] == []
    # when
    response = api.http.get(status_url(session))
    # then
    assert_html_page(response, 200)
    assert "<h1>This verification was canceled</h1>" in response.text
    assert definition(response.text, "Status") == "canceled"
    assert '<a href="https://example.com/back" rel="noreferrer">' in response.text


def test_status_page_before_submitting_links_to_the_form(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.get(status_url(session))
    # then
    assert_html_page(response, 200)
    assert "<h1>Not submitted yet</h1>" in response.text
    assert (
        f'<a href="/verify/{token_of(session["url"])}">Continue the verification</a>'
        in response.text
    )
    assert REFRESH not in response.text


# --- refused submissions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message", "control"),
    [
        ({"dob": "2999-01-01"}, "Date of birth: dob cannot be in the future.", "dob"),
        (
            {"dob": "1990-02-30"},
            "Date of birth: dob must be a real date with day, month and year.",
            "dob",
        ),
        (
            {"dob": "10/12/1815"},
            "Date of birth: dob must be a real date with day, month and year.",
            "dob",
        ),
        (
            {"address_country": "usa"},
            "Country (two-letter code): country must be a two-letter ISO 3166-1 code such as US.",
            "address_country",
        ),
        (
            {"id_number_type": "passport"},
            "ID number type: id_number_type must be br_cpf, sg_nric or us_ssn.",
            "id_number_type",
        ),
        ({"first_name": "  "}, "First name: this field is required.", "first_name"),
        (
            {"last_name": "x" * 5001},
            "Last name: last_name must be text of at most 5000 characters.",
            "last_name",
        ),
    ],
    ids=["future-dob", "impossible-dob", "dob-shape", "country", "id-type", "empty", "too-long"],
)
def test_invalid_test_data_is_a_400_form_naming_the_field_and_writes_nothing(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    changes: dict[str, str],
    message: str,
    control: str,
) -> None:
    # given
    session = create_session()
    before = read_session(api, session["id"], SESSION)
    # when
    response = api.http.post(session["url"], data={**EDITED, **changes})
    # then
    assert_html_page(response, 400)
    assert problem_on(response.text) == escape(message)
    controls = Controls(response.text)
    assert controls.invalid() == [control]
    kept = {
        name: value for name, value in EDITED.items() if name not in ("outcome", "id_number_type")
    }
    texts = {name: value for name, value in changes.items() if name != "id_number_type"}
    assert controls.values() == {**kept, **texts}
    assert read_session(api, session["id"], SESSION) == before
    assert event_types(api, session["id"]) == ["created"]
    assert api.http.get(session["url"]).status_code == 200


@pytest.mark.parametrize(
    ("form", "message", "control"),
    [
        ({}, "Choice: choose Verify, Fail, Abandon or Decline consent.", None),
        (
            {"outcome": "processing"},
            "Choice: choose Verify, Fail, Abandon or Decline consent.",
            None,
        ),
        (
            {"outcome": "requires_input", "last_error_code": "not_a_code"},
            "Last error code: choose one of the listed last error codes.",
            "last_error_code",
        ),
        (
            {"outcome": "requires_input"},
            "Last error code: last_error_code is required when the outcome is REQUIRES_INPUT.",
            "last_error_code",
        ),
    ],
    ids=["no-choice", "unknown-outcome", "unknown-code", "fail-without-code"],
)
def test_invalid_choice_is_a_400_form_and_writes_nothing(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    form: dict[str, str],
    message: str,
    control: str | None,
) -> None:
    # given
    session = create_session()
    before = read_session(api, session["id"], SESSION)
    # when
    response = api.http.post(
        session["url"],
        data=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    # then
    assert_html_page(response, 400)
    assert problem_on(response.text) == escape(message)
    assert Controls(response.text).invalid() == ([control] if control else [])
    assert Controls(response.text).values() == PREFILLED
    assert read_session(api, session["id"], SESSION) == before


def test_post_that_is_not_a_form_is_a_415_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.post(session["url"], json={"outcome": "verified"})
    # then
    assert_html_page(response, 415)
    assert "<h1>The form was not accepted</h1>" in response.text
    assert read_session(api, session["id"], SESSION)["status"] == "REQUIRES_INPUT"


def test_oversized_form_is_a_413_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.http.post(session["url"], data={**EDITED, "first_name": "x" * 300_000})
    # then
    assert_html_page(response, 413)
    assert "<p>The form is too large.</p>" in response.text
    assert read_session(api, session["id"], SESSION)["status"] == "REQUIRES_INPUT"


# --- escaping -----------------------------------------------------------------------------------


def test_hostile_test_data_is_escaped_when_the_form_is_shown_again(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    form = {
        **EDITED,
        "first_name": HOSTILE_FIRST_NAME,
        "last_name": HOSTILE_LAST_NAME,
        "dob": "2999-01-01",
    }
    # when
    response = api.http.post(session["url"], data=form)
    # then
    assert_html_page(response, 400)
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text
    assert 'value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in response.text
    assert "<img" not in response.text
    assert Controls(response.text).values()["first_name"] == HOSTILE_FIRST_NAME


def test_hostile_test_data_is_stored_as_given_and_never_shown(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    form = {**EDITED, "first_name": HOSTILE_FIRST_NAME, "last_name": HOSTILE_LAST_NAME}
    # when
    api.http.post(session["url"], data=form)
    verified = wait_until_processed(api, session["id"], document=SESSION)
    response = api.http.get(status_url(session))
    # then
    assert verified["verifiedOutputs"]["firstName"] == HOSTILE_FIRST_NAME
    assert verified["verifiedOutputs"]["lastName"] == HOSTILE_LAST_NAME
    assert_html_page(response, 200)
    assert "alert(1)" not in response.text


def test_hostile_return_url_is_escaped_on_the_status_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session(returnUrl='https://example.com/"><script>alert(1)</script>')
    # when
    response = api.http.get(status_url(session))
    # then
    assert_html_page(response, 200)
    assert (
        '<a href="https://example.com/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" '
        'rel="noreferrer">Return to the app</a>'
    ) in response.text


# --- live mode ----------------------------------------------------------------------------------


def test_live_page_without_a_verifier_says_verification_is_not_available(api: Api) -> None:
    # given
    _, session = create_live_session(api)
    # when
    response = api.http.get(session["url"])
    # then
    assert_html_page(response, 200)
    assert (
        '<p class="notice" role="status">Verification is not available: live mode needs a '
        "configured verifier, and none is configured. Nothing can be submitted here.</p>"
    ) in response.text
    assert checks_on(response.text) == ["Identity document: driving license, id card, passport"]
    assert "<form" not in response.text
    assert "<input" not in response.text


def test_live_submit_without_a_verifier_is_a_503_page_and_changes_nothing(api: Api) -> None:
    # given
    live, session = create_live_session(api)
    before = read_session(api, session["id"], SESSION, key=live)
    # when
    response = api.http.post(session["url"], data=EDITED)
    # then
    assert_html_page(response, 503)
    assert UNAVAILABLE_HEADING in response.text
    assert read_session(api, session["id"], SESSION, key=live) == before
    assert before["status"] == "REQUIRES_INPUT"
    assert api.http.get(session["url"]).status_code == 200


@pytest.fixture
def with_verifier(server: Server) -> Iterator[httpx.Client]:
    """A second server over the same database, with a live verifier configured."""
    settings = dataclasses.replace(server.settings, verifier="app.verifiers:TestModeSimulator")
    with (
        running_server(settings, run_worker=False) as second,
        httpx.Client(base_url=second.base_url, timeout=30) as client,
    ):
        yield client


def test_live_page_with_a_verifier_leaves_capture_to_the_verifier(
    api: Api, with_verifier: httpx.Client
) -> None:
    # given
    live, session = create_live_session(api)
    path = f"/verify/{token_of(session['url'])}"
    # when
    page = with_verifier.get(path)
    submit = with_verifier.post(path, data=EDITED)
    # then
    assert_html_page(page, 200)
    assert "Live capture is provided by the configured verifier's frontend" in page.text
    assert "<form" not in page.text
    assert_html_page(submit, 400)
    assert "<h1>This page takes no submissions in live mode</h1>" in submit.text
    assert read_session(api, session["id"], SESSION, key=live)["status"] == "REQUIRES_INPUT"


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


def test_unknown_token_is_a_404_page_on_submit_and_status(api: Api) -> None:
    # given
    token = random_base62(32)
    # when
    submit = api.http.post(f"/verify/{token}", data=EDITED)
    status = api.http.get(f"/verify/{token}/status")
    # then
    assert_html_page(submit, 404)
    assert NOT_FOUND_HEADING in submit.text
    assert_html_page(status, 404)
    assert NOT_FOUND_HEADING in status.text


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


def test_submit_with_an_expired_token_is_a_410_page_and_changes_nothing(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.server.database.execute(EXPIRE, {"id": session["id"]})
    before = read_session(api, session["id"], SESSION)
    # when
    response = api.http.post(session["url"], data=EDITED)
    # then
    assert_html_page(response, 410)
    assert GONE_HEADING in response.text
    assert read_session(api, session["id"], SESSION) == before
    assert event_types(api, session["id"]) == ["created"]


def test_status_page_of_an_expired_token_sends_the_user_back_to_the_app(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.server.database.execute(EXPIRE, {"id": session["id"]})
    # when
    response = api.http.get(status_url(session))
    # then
    assert_html_page(response, 200)
    assert "<h1>This verification link has expired</h1>" in response.text
    assert "<p>Return to the app for a new link.</p>" in response.text


def test_token_of_a_canceled_session_is_a_410_page(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.server.database.execute(CANCEL_IN_DATABASE, {"id": session["id"]})
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

    monkeypatch.setattr(links, "get_link", explode)
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
