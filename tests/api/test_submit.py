"""`submitVerificationSession`: a submission moves a session to PROCESSING, and after the
processing delay the test-mode simulator carries out the tester's choice: VERIFIED with the
verified outputs, or back to REQUIRES_INPUT with a last error and fresh credentials. Each attempt
writes a report; each status change records an event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.domain.ids import random_base62
from app.domain.lifecycle import FAILURE_REASONS
from app.domain.sessions import LastErrorCode
from tests.conftest import Api
from tests.helpers import (
    CANCEL,
    REDACT,
    STATUS,
    TEST_PERSON,
    assert_forbidden,
    event_types,
    events_of,
    missing,
    read_session,
    rejected,
    simulate,
    submit,
    token_of,
    wait_for_status,
)

# What the account's secret key may select: the client secret and url too.
SUBMIT = """
mutation Submit($input: SubmitVerificationSessionInput!) {
  submitVerificationSession(input: $input) {
    verificationSession { id status clientSecret url lastError { code reason } }
    userErrors { field message code }
  }
}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id status clientSecret url
    lastError { code reason }
    verifiedOutputs {
      firstName lastName dob { day month year }
      address { line1 line2 city state postalCode country }
      idNumberType idNumber email phone sex unparsedPlaceOfBirth unparsedSex
    }
    lastVerificationReport {
      id object livemode type
      document { status error { code reason } firstName lastName dob { day month year } }
      verificationSession { id }
    }
  }
}
"""

REPORTS = """
query Reports($id: ID!) {
  verificationReports(first: 100, filter: {verificationSession: $id}) {
    nodes { id document { status error { code } } }
  }
}
"""

REDACTED_MESSAGE = "You cannot submit this VerificationSession because it has been redacted."
ALL_CODES = [code.name for code in LastErrorCode]


def refused_status(status: str) -> str:
    return (
        f'You cannot submit this VerificationSession because it has a status of "{status}". '
        'Only a VerificationSession in "requires_input" status may be submitted.'
    )


# --- success ----------------------------------------------------------------------------------


def test_submit_with_secret_key_moves_to_processing_and_spends_credentials(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(api, id=session["id"], document=SUBMIT)
    # then
    assert payload == {
        "verificationSession": {
            "id": session["id"],
            "status": "PROCESSING",
            "clientSecret": None,
            "url": None,
            "lastError": None,
        },
        "userErrors": [],
    }


def test_submit_with_client_secret_moves_to_processing(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(api, key=session["clientSecret"], id=session["id"])
    # then
    assert payload == {
        "verificationSession": {
            "id": session["id"],
            "status": "PROCESSING",
            "url": None,
            "lastError": None,
        },
        "userErrors": [],
    }


def test_submitted_session_is_verified_with_the_test_data_over_the_test_person(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    entered = {
        "firstName": "Zebulon",
        "dob": {"day": 29, "month": 2, "year": 1992},
        "address": {"line1": "Hauptstrasse 1", "city": "Berlin", "country": "DE"},
        "sex": "MALE",
        "unparsedPlaceOfBirth": "Hamburg",
    }
    # when
    submit(api, id=session["id"], verifiedOutputs=entered)
    verified = wait_for_status(api, session["id"], "VERIFIED", document=SESSION)
    # then
    assert verified["verifiedOutputs"] == {
        **TEST_PERSON,
        "firstName": "Zebulon",
        "dob": {"day": 29, "month": 2, "year": 1992},
        # A given address replaces the test person's whole, so no part of it is mixed in.
        "address": {
            "line1": "Hauptstrasse 1",
            "line2": None,
            "city": "Berlin",
            "state": None,
            "postalCode": None,
            "country": "DE",
        },
        "sex": "MALE",
        "unparsedPlaceOfBirth": "Hamburg",
    }
    assert (verified["clientSecret"], verified["url"], verified["lastError"]) == (None, None, None)


def test_submission_without_test_data_verifies_the_test_person(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    submit(api, key=session["clientSecret"], id=session["id"])
    verified = wait_for_status(api, session["id"], "VERIFIED", document=SESSION)
    # then
    assert verified["verifiedOutputs"] == TEST_PERSON


def test_verified_attempt_writes_a_verified_report(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    submit(api, id=session["id"], verifiedOutputs={"firstName": "Zebulon"})
    verified = wait_for_status(api, session["id"], "VERIFIED", document=SESSION)
    # then
    report = verified["lastVerificationReport"]
    assert report["id"].startswith("vr_")
    assert report == {
        "id": report["id"],
        "object": "identity.verification_report",
        "livemode": False,
        "type": "DOCUMENT",
        "document": {
            "status": "VERIFIED",
            "error": None,
            "firstName": "Zebulon",
            "lastName": "Rosen",
            "dob": {"day": 1, "month": 1, "year": 1901},
        },
        "verificationSession": {"id": session["id"]},
    }
    reports = api.gql(REPORTS, {"id": session["id"]})["verificationReports"]["nodes"]
    assert [item["id"] for item in reports] == [report["id"]]


def test_verified_attempt_records_processing_then_verified(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    submit(api, id=session["id"])
    verified = wait_for_status(api, session["id"], "VERIFIED", document=SESSION)
    # then
    created, processing, done = events_of(api, session["id"])
    assert [created["type"], processing["type"], done["type"]] == [
        "identity.verification_session.created",
        "identity.verification_session.processing",
        "identity.verification_session.verified",
    ]
    assert processing["data"]["object"]["status"] == "processing"
    assert processing["data"]["previous_attributes"] == {"status": "requires_input"}
    assert done["data"]["object"]["status"] == "verified"
    assert (
        done["data"]["object"]["last_verification_report"]
        == (verified["lastVerificationReport"]["id"])
    )
    assert done["data"]["previous_attributes"] == {
        "status": "processing",
        "last_verification_report": None,
    }


def test_submission_spends_the_hosted_page_link(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    submit(api, id=session["id"])
    # then
    assert api.http.get(session["url"]).status_code == 410


def test_submission_spends_the_client_secret(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    submit(api, id=session["id"])
    # when
    response = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


# --- failed attempts --------------------------------------------------------------------------


def test_failed_attempt_goes_back_to_requires_input_with_last_error(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    submit(api, id=session["id"], outcome="REQUIRES_INPUT", lastErrorCode="DOCUMENT_EXPIRED")
    failed = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    # then
    assert failed["lastError"] == {
        "code": "DOCUMENT_EXPIRED",
        "reason": "The provided identity document has expired.",
    }
    assert failed["verifiedOutputs"] is None
    report = failed["lastVerificationReport"]
    assert report["document"]["status"] == "UNVERIFIED"
    assert report["document"]["error"] == failed["lastError"]


def test_every_last_error_code_comes_back_as_last_error(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: one session per code, all submitted before waiting for any
    sessions = {code: create_session()["id"] for code in ALL_CODES}
    for code, session_id in sessions.items():
        submit(api, id=session_id, outcome="REQUIRES_INPUT", lastErrorCode=code)
    # when
    failed = {
        code: wait_for_status(api, session_id, "REQUIRES_INPUT", document=SESSION)
        for code, session_id in sessions.items()
    }
    # then
    assert len(ALL_CODES) == 19
    for code in ALL_CODES:
        assert failed[code]["lastError"] == {
            "code": code,
            "reason": FAILURE_REASONS[LastErrorCode[code]],
        }


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("ABANDONED", "The user abandoned the verification."),
        ("CONSENT_DECLINED", "The user declined to give consent."),
    ],
)
def test_abandoning_or_declining_consent_is_a_failed_attempt(
    api: Api, create_session: Callable[..., dict[str, Any]], code: str, reason: str
) -> None:
    # given
    session = create_session()
    # when
    submit(
        api,
        key=session["clientSecret"],
        id=session["id"],
        outcome="REQUIRES_INPUT",
        lastErrorCode=code,
    )
    failed = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    # then
    assert failed["lastError"] == {"code": code, "reason": reason}
    assert failed["lastVerificationReport"]["document"]["status"] == "UNVERIFIED"


def test_failed_attempt_issues_fresh_usable_credentials(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    submit(
        api,
        key=session["clientSecret"],
        id=session["id"],
        outcome="REQUIRES_INPUT",
        lastErrorCode="SELFIE_MANIPULATED",
    )
    # when
    failed = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    # then
    assert failed["clientSecret"].startswith(f"{session['id']}_secret_")
    assert failed["clientSecret"] != session["clientSecret"]
    assert failed["url"].startswith(f"{api.server.base_url}/verify/")
    assert token_of(failed["url"]) != token_of(session["url"])
    fresh = api.gql(STATUS, {"id": session["id"]}, key=failed["clientSecret"])
    assert fresh == {"verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}}
    assert api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"]).status_code == 401
    assert api.http.get(session["url"]).status_code == 410
    assert api.http.get(failed["url"]).status_code == 200


def test_failed_attempt_records_processing_then_requires_input(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    submit(api, id=session["id"], outcome="REQUIRES_INPUT", lastErrorCode="ID_NUMBER_MISMATCH")
    failed = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    # then
    created, processing, back = events_of(api, session["id"])
    assert [created["type"], processing["type"], back["type"]] == [
        "identity.verification_session.created",
        "identity.verification_session.processing",
        "identity.verification_session.requires_input",
    ]
    assert back["data"]["object"]["status"] == "requires_input"
    assert back["data"]["object"]["last_error"] == {
        "code": "id_number_mismatch",
        "reason": failed["lastError"]["reason"],
    }
    assert back["data"]["previous_attributes"] == {
        "status": "processing",
        "last_error": None,
        "last_verification_report": None,
    }


def test_second_attempt_after_a_failure_verifies_and_clears_last_error(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    submit(
        api, id=session["id"], outcome="REQUIRES_INPUT", lastErrorCode="DOCUMENT_UNVERIFIED_OTHER"
    )
    failed = wait_for_status(api, session["id"], "REQUIRES_INPUT", document=SESSION)
    # when
    payload = submit(api, key=failed["clientSecret"], id=session["id"])
    verified = wait_for_status(api, session["id"], "VERIFIED", document=SESSION)
    # then
    assert payload["userErrors"] == []
    assert verified["lastError"] is None
    assert verified["lastVerificationReport"]["id"] != failed["lastVerificationReport"]["id"]
    reports = api.gql(REPORTS, {"id": session["id"]})["verificationReports"]["nodes"]
    assert [item["id"] for item in reports] == [
        verified["lastVerificationReport"]["id"],
        failed["lastVerificationReport"]["id"],
    ]
    assert event_types(api, session["id"]) == [
        "created",
        "processing",
        "requires_input",
        "processing",
        "verified",
    ]


# --- refusals ---------------------------------------------------------------------------------


def test_requires_input_outcome_without_error_code_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(api, id=session["id"], outcome="REQUIRES_INPUT")
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["lastErrorCode"],
        message="last_error_code is required when the outcome is REQUIRES_INPUT.",
    )
    assert read_session(api, session["id"], SESSION)["status"] == "REQUIRES_INPUT"


def test_verified_outcome_with_error_code_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(api, id=session["id"], outcome="VERIFIED", lastErrorCode="ABANDONED")
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["lastErrorCode"],
        message="last_error_code can only be given when the outcome is REQUIRES_INPUT.",
    )


@pytest.mark.parametrize(
    ("outputs", "field", "message"),
    [
        (
            {"dob": {"day": 1, "month": 1, "year": 2999}},
            ["verifiedOutputs", "dob"],
            "dob cannot be in the future.",
        ),
        (
            {"dob": {"day": 30, "month": 2, "year": 1990}},
            ["verifiedOutputs", "dob"],
            "dob must be a real date with day, month and year.",
        ),
        (
            {"address": {"line1": "1 Main St", "country": "usa"}},
            ["verifiedOutputs", "address", "country"],
            "country must be a two-letter ISO 3166-1 code such as US.",
        ),
        ({"sex": "REDACTED"}, ["verifiedOutputs", "sex"], "sex must be FEMALE, MALE or UNKNOWN."),
        (
            {"firstName": "x" * 5001},
            ["verifiedOutputs", "firstName"],
            "first_name must be text of at most 5000 characters.",
        ),
    ],
    ids=["future_dob", "impossible_dob", "three_letter_country", "redacted_sex", "long_name"],
)
def test_invalid_verified_outputs_are_refused_and_nothing_is_written(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    outputs: dict[str, Any],
    field: list[str],
    message: str,
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(api, id=session["id"], verifiedOutputs=outputs)
    # then
    assert payload == rejected(code="PARAMETER_INVALID", field=field, message=message)
    unchanged = read_session(api, session["id"], SESSION)
    assert (unchanged["status"], unchanged["clientSecret"], unchanged["url"]) == (
        "REQUIRES_INPUT",
        session["clientSecret"],
        session["url"],
    )
    assert unchanged["lastVerificationReport"] is None
    assert event_types(api, session["id"]) == ["created"]


def test_invalid_verified_outputs_with_client_secret_leave_the_secret_usable(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(
        api,
        key=session["clientSecret"],
        id=session["id"],
        verifiedOutputs={"dob": {"day": 1, "month": 1, "year": 2999}},
    )
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["verifiedOutputs", "dob"],
        message="dob cannot be in the future.",
    )
    again = api.gql(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    assert again == {"verificationSession": {"id": session["id"], "status": "REQUIRES_INPUT"}}


def test_submitting_a_processing_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: a simulated PROCESSING stays there, so the state cannot change under the test
    session = create_session()
    simulate(api, session["id"], "PROCESSING")
    # when
    payload = submit(api, id=session["id"])
    # then
    assert payload == rejected(
        code="INVALID_STATE", field=None, message=refused_status("processing")
    )
    assert event_types(api, session["id"]) == ["created", "processing"]


def test_submitting_a_verified_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulate(api, session["id"], "VERIFIED")
    # when
    payload = submit(api, id=session["id"])
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=refused_status("verified"))
    assert event_types(api, session["id"]) == ["created", "processing", "verified"]


def test_submitting_a_canceled_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.gql(CANCEL, {"id": session["id"]})
    # when
    payload = submit(api, id=session["id"])
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=refused_status("canceled"))
    assert event_types(api, session["id"]) == ["created", "canceled"]


def test_submitting_a_redacted_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.gql(REDACT, {"id": session["id"]})
    # when
    payload = submit(api, id=session["id"])
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=REDACTED_MESSAGE)


def test_submitting_an_unknown_session_is_resource_missing(api: Api) -> None:
    # given
    session_id = "vs_" + random_base62(24)
    # when
    payload = submit(api, id=session_id)
    # then
    assert payload == missing(session_id)


def test_submitting_another_accounts_session_is_resource_missing(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = submit(other_api, id=session["id"])
    # then
    assert payload == missing(session["id"])
    assert read_session(api, session["id"], SESSION)["status"] == "REQUIRES_INPUT"


def test_submitting_a_test_session_with_a_live_key_is_resource_missing(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    live_key = api.new_key(livemode=True)
    # when
    payload = api.gql(SUBMIT, {"input": {"id": session["id"]}}, key=live_key)[
        "submitVerificationSession"
    ]
    # then
    assert payload == missing(session["id"])


def test_submitting_with_a_restricted_key_is_forbidden(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    restricted = api.new_key(restricted=True)
    # when
    response = api.post(SUBMIT, {"input": {"id": session["id"]}}, key=restricted)
    # then
    assert_forbidden(response, "submitVerificationSession")
    assert read_session(api, session["id"], SESSION)["status"] == "REQUIRES_INPUT"


def test_submitting_without_a_key_is_unauthenticated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    response = api.post(SUBMIT, {"input": {"id": session["id"]}}, key=None)
    # then
    assert response.status_code == 401
    assert [error["extensions"] for error in response.json()["errors"]] == [
        {"code": "UNAUTHENTICATED"}
    ]
    assert read_session(api, session["id"], SESSION)["status"] == "REQUIRES_INPUT"
