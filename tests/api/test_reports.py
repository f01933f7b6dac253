"""VerificationReports over HTTP: one per verification attempt, with the checks the session asked
for, the data each check read, and the usual scoping, lookup and paging rules."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from app.domain import ids
from tests.conftest import Api
from tests.helpers import (
    ADA,
    REDACT,
    SUBMIT,
    TEST_PERSON,
    ids_of,
    simulate,
    wait_for_redaction,
)

CreateSession = Callable[..., dict[str, Any]]

REPORT_FIELDS = """
fragment ReportFields on VerificationReport {
  id object created livemode type clientReferenceId
  options {
    document { allowedTypes requireIdNumber requireLiveCapture requireMatchingSelfie }
    email { requireVerification }
    phone { requireVerification }
  }
  document {
    status error { code reason }
    firstName lastName dob { day month year }
    address { line1 line2 city state postalCode country }
    issuingCountry type number
    expirationDate { day month year } issuedDate { day month year }
  }
  idNumber { status error { code reason } idNumberType firstName lastName dob { day month year } }
  selfie { status error { code reason } }
  email { status error { code reason } email }
  phone { status error { code reason } phone }
}
"""

REPORT = (
    """
query Report($id: ID!) {
  verificationReport(id: $id) { ...ReportFields }
}
"""
    + REPORT_FIELDS
)

REPORT_SESSION = """
query ReportSession($id: ID!) {
  verificationReport(id: $id) {
    id
    verificationSession { id object status lastVerificationReport { id } }
  }
}
"""

# The attributes REPORT_FIELDS predates.
REPORT_ADDED = """
query ReportAdded($id: ID!) {
  verificationReport(id: $id) {
    verificationFlow
    document { files sex unparsedPlaceOfBirth unparsedSex }
  }
}
"""

CHECK_STATUSES = """
query CheckStatuses($id: ID!) {
  verificationReport(id: $id) {
    type
    document { status error { code reason } }
    idNumber { status error { code reason } }
    selfie { status error { code reason } }
    email { status error { code reason } }
    phone { status error { code reason } }
  }
}
"""

REPORTS = """
query Reports(
  $first: Int, $after: String, $last: Int, $before: String, $filter: VerificationReportFilter
) {
  verificationReports(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

REPORTS_COUNT = """
query ReportsCount($filter: VerificationReportFilter) {
  verificationReports(first: 1, filter: $filter) { totalCount }
}
"""

REPORTS_CREATED = """
query ReportsCreated {
  verificationReports(first: 100) { nodes { id created } }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on VerificationReport { object type verificationSession { id } }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    id
  }
}
"""

SESSION_LAST_REPORT = """
query SessionLastReport($id: ID!) {
  verificationSession(id: $id) { id status lastVerificationReport { id document { status } } }
}
"""

SIMULATE = """
mutation Simulate($input: SimulateVerificationSessionInput!) {
  simulateVerificationSession(input: $input) {
    verificationSession {
      id status lastError { code reason } lastVerificationReport { id }
    }
    userErrors { field message code }
  }
}
"""

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id created }
    userErrors { field message code }
  }
}
"""

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

NO_OPTIONS = {"document": None, "email": None, "phone": None}


# --- helpers ---------------------------------------------------------------------------------


def verified_report_id(api: Api, session_id: str, **extra: Any) -> str:
    session = simulate(api, session_id, "VERIFIED", document=SIMULATE, **extra)
    assert session["status"] == "VERIFIED"
    return session["lastVerificationReport"]["id"]  # type: ignore[no-any-return]


def failed_report_id(api: Api, session_id: str, code: str) -> str:
    session = simulate(api, session_id, "REQUIRES_INPUT", document=SIMULATE, lastErrorCode=code)
    assert session["status"] == "REQUIRES_INPUT"
    return session["lastVerificationReport"]["id"]  # type: ignore[no-any-return]


def report(api: Api, report_id: str, *, key: str | None = "default") -> dict[str, Any] | None:
    return api.gql(REPORT, {"id": report_id}, key=key)["verificationReport"]  # type: ignore[no-any-return]


def statuses(api: Api, report_id: str) -> dict[str, Any]:
    return api.gql(CHECK_STATUSES, {"id": report_id})["verificationReport"]  # type: ignore[no-any-return]


def reports_page(api: Api, *, key: str | None = "default", **arguments: Any) -> dict[str, Any]:
    connection: dict[str, Any] = api.gql(REPORTS, arguments, key=key)["verificationReports"]
    assert connection["nodes"] == [edge["node"] for edge in connection["edges"]]
    return connection


def total(api: Api, filter: dict[str, Any] | None = None) -> int:
    return api.gql(REPORTS_COUNT, {"filter": filter})["verificationReports"]["totalCount"]  # type: ignore[no-any-return]


def error(code: str, reason: str) -> dict[str, str]:
    return {"code": code, "reason": reason}


def years_from(today: date, years: int) -> dict[str, int]:
    """The same day `years` away as a report shows it (29 February becomes the 28th)."""
    leap_day = (today.month, today.day) == (2, 29)
    return {"day": 28 if leap_day else today.day, "month": today.month, "year": today.year + years}


def passed(**data: Any) -> dict[str, Any]:
    return {"status": "VERIFIED", "error": None, **data}


# --- shape -----------------------------------------------------------------------------------


def test_verification_report_returns_the_full_shape_of_a_verified_document_report(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(
        clientReferenceId="order-7",
        options={"document": {"allowedTypes": ["PASSPORT", "ID_CARD"]}},
    )
    report_id = verified_report_id(api, session["id"])
    today = date.today()
    # when
    found = report(api, report_id)
    # then
    assert found is not None
    assert TIMESTAMP.match(found.pop("created"))
    assert found == {
        "id": report_id,
        "object": "identity.verification_report",
        "livemode": False,
        "type": "DOCUMENT",
        "clientReferenceId": "order-7",
        "options": {
            "document": {
                "allowedTypes": ["PASSPORT", "ID_CARD"],
                "requireIdNumber": None,
                "requireLiveCapture": None,
                "requireMatchingSelfie": None,
            },
            "email": None,
            "phone": None,
        },
        "document": passed(
            firstName="Jenny",
            lastName="Rosen",
            dob=TEST_PERSON["dob"],
            address=TEST_PERSON["address"],
            issuingCountry="US",
            type="PASSPORT",
            number="D1234567",
            expirationDate=years_from(today, 5),
            issuedDate=years_from(today, -5),
        ),
        "idNumber": None,
        "selfie": None,
        "email": None,
        "phone": None,
    }


def test_report_id_has_the_report_prefix_and_created_follows_the_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    report_id = verified_report_id(api, session["id"])
    # then
    assert ids.prefix_of(report_id) == ids.REPORT
    found = report(api, report_id)
    assert found is not None
    assert found["created"] > session["created"]


def test_report_verification_session_resolves_back_to_its_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    report_id = verified_report_id(api, session["id"])
    # when
    data = api.gql(REPORT_SESSION, {"id": report_id})
    # then
    assert data == {
        "verificationReport": {
            "id": report_id,
            "verificationSession": {
                "id": session["id"],
                "object": "identity.verification_session",
                "status": "VERIFIED",
                "lastVerificationReport": {"id": report_id},
            },
        }
    }


def test_report_keeps_the_options_and_reference_the_attempt_ran_with(
    api: Api, create_session: CreateSession
) -> None:
    # given a failed attempt, after which the session's options are changed
    session = create_session(
        clientReferenceId="before", options={"document": {"requireMatchingSelfie": True}}
    )
    report_id = failed_report_id(api, session["id"], "SELFIE_FACE_MISMATCH")
    update = """
    mutation Update($input: UpdateVerificationSessionInput!) {
      updateVerificationSession(input: $input) { userErrors { code } }
    }
    """
    changed = api.gql(
        update, {"input": {"id": session["id"], "options": {"document": {"requireIdNumber": True}}}}
    )
    assert changed == {"updateVerificationSession": {"userErrors": []}}
    # when
    found = report(api, report_id)
    # then
    assert found is not None
    assert found["options"]["document"] == {
        "allowedTypes": None,
        "requireIdNumber": None,
        "requireLiveCapture": None,
        "requireMatchingSelfie": True,
    }
    assert found["clientReferenceId"] == "before"
    assert found["selfie"] is not None
    assert found["idNumber"] is None


def added(api: Api, report_id: str) -> dict[str, Any]:
    return api.gql(REPORT_ADDED, {"id": report_id})["verificationReport"]  # type: ignore[no-any-return]


def test_report_document_carries_the_sex_and_printed_values_of_the_verified_person(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    person = {**ADA, "sex": "MALE", "unparsedPlaceOfBirth": "London", "unparsedSex": "M"}
    # when
    report_id = verified_report_id(api, session["id"], verifiedOutputs=person)
    # then
    assert added(api, report_id) == {
        "verificationFlow": None,
        "document": {
            "files": None,
            "sex": "MALE",
            "unparsedPlaceOfBirth": "London",
            "unparsedSex": "M",
        },
    }


def test_report_document_of_the_test_person_has_her_sex_and_no_printed_values(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    report_id = verified_report_id(api, session["id"])
    # then
    assert added(api, report_id)["document"] == {
        "files": None,
        "sex": "FEMALE",
        "unparsedPlaceOfBirth": None,
        "unparsedSex": None,
    }


def test_report_of_a_flow_session_names_the_flow(api: Api, create_session: CreateSession) -> None:
    # given
    flow_id = api.new_flow(options={"matching": {"dob": "similar"}})
    session = create_session(type=None, verificationFlow=flow_id)
    # when
    report_id = verified_report_id(api, session["id"])
    # then
    assert added(api, report_id)["verificationFlow"] == flow_id


def test_redaction_blanks_the_report_documents_sex_and_printed_values(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    person = {**ADA, "sex": "MALE", "unparsedPlaceOfBirth": "London", "unparsedSex": "M"}
    report_id = verified_report_id(api, session["id"], verifiedOutputs=person)
    # when
    payload = api.gql(REDACT, {"id": session["id"]})["redactVerificationSession"]
    assert payload["userErrors"] == []
    wait_for_redaction(api, session["id"])
    # then
    assert added(api, report_id)["document"] == {
        "files": None,
        "sex": "REDACTED",
        "unparsedPlaceOfBirth": "[redacted]",
        "unparsedSex": "[redacted]",
    }


# --- which checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type", "options", "expected"),
    [
        ("DOCUMENT", None, {"document"}),
        ("DOCUMENT", {"document": {"requireMatchingSelfie": True}}, {"document", "selfie"}),
        ("DOCUMENT", {"document": {"requireIdNumber": True}}, {"document", "idNumber"}),
        (
            "DOCUMENT",
            {"document": {"requireIdNumber": True, "requireMatchingSelfie": True}},
            {"document", "idNumber", "selfie"},
        ),
        ("DOCUMENT", {"document": {"requireLiveCapture": True}}, {"document"}),
        ("ID_NUMBER", None, {"idNumber"}),
    ],
    ids=[
        "document",
        "selfie",
        "id-number",
        "selfie-and-id-number",
        "live-capture",
        "id-number-type",
    ],
)
def test_report_has_the_checks_the_session_requires(
    api: Api,
    create_session: CreateSession,
    type: str,
    options: dict[str, Any] | None,
    expected: set[str],
) -> None:
    # given
    session = create_session(type=type, options=options)
    # when
    found = statuses(api, verified_report_id(api, session["id"]))
    # then
    assert found.pop("type") == type
    assert {name for name, check in found.items() if check is not None} == expected
    assert all(
        check == {"status": "VERIFIED", "error": None}
        for check in found.values()
        if check is not None
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"email": {"require_verification": True}}, {"document", "email"}),
        ({"phone": {"require_verification": True}}, {"document", "phone"}),
        (
            {
                "document": {"require_matching_selfie": True},
                "email": {"require_verification": True},
                "phone": {"require_verification": True},
            },
            {"document", "selfie", "email", "phone"},
        ),
        ({"email": {"require_verification": False}}, {"document"}),
    ],
    ids=["email", "phone", "everything", "email-not-required"],
)
def test_report_of_a_flow_session_has_email_and_phone_checks_when_required(
    api: Api, create_session: CreateSession, options: dict[str, Any], expected: set[str]
) -> None:
    # given
    flow_id = api.new_flow(options=options)
    session = create_session(type=None, verificationFlow=flow_id)
    # when
    found = statuses(api, verified_report_id(api, session["id"]))
    # then
    assert found.pop("type") == "VERIFICATION_FLOW"
    assert {name for name, check in found.items() if check is not None} == expected


def test_report_of_an_id_number_flow_checks_the_id_number_not_a_document(
    api: Api, create_session: CreateSession
) -> None:
    # given
    flow_id = api.new_flow(type="id_number", options={"email": {"require_verification": True}})
    session = create_session(type=None, verificationFlow=flow_id)
    # when
    found = statuses(api, verified_report_id(api, session["id"]))
    # then
    assert found == {
        "type": "VERIFICATION_FLOW",
        "document": None,
        "idNumber": {"status": "VERIFIED", "error": None},
        "selfie": None,
        "email": {"status": "VERIFIED", "error": None},
        "phone": None,
    }


# --- the data each check read ------------------------------------------------------------------


def test_report_checks_carry_the_verified_persons_data(
    api: Api, create_session: CreateSession
) -> None:
    # given
    flow_id = api.new_flow(
        options={
            "document": {"require_id_number": True, "require_matching_selfie": True},
            "email": {"require_verification": True},
            "phone": {"require_verification": True},
        },
    )
    session = create_session(type=None, verificationFlow=flow_id)
    today = date.today()
    # when
    report_id = verified_report_id(api, session["id"], verifiedOutputs=ADA)
    # then
    found = report(api, report_id)
    assert found is not None
    assert found["document"] == passed(
        firstName="Ada",
        lastName="Lovelace",
        dob={"day": 10, "month": 12, "year": 1815},
        address=ADA["address"],
        issuingCountry="GB",
        type="DRIVING_LICENSE",
        number="D1234567",
        expirationDate=years_from(today, 5),
        issuedDate=years_from(today, -5),
    )
    assert found["idNumber"] == passed(
        idNumberType="SG_NRIC",
        firstName="Ada",
        lastName="Lovelace",
        dob={"day": 10, "month": 12, "year": 1815},
    )
    assert found["selfie"] == passed()
    assert found["email"] == passed(email="ada@example.com")
    assert found["phone"] == passed(phone="+442071234567")


def test_id_number_report_reads_the_test_person_when_no_data_is_given(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(type="ID_NUMBER")
    # when
    found = report(api, verified_report_id(api, session["id"]))
    # then
    assert found is not None
    assert found["idNumber"] == passed(
        idNumberType="US_SSN", firstName="Jenny", lastName="Rosen", dob=TEST_PERSON["dob"]
    )
    assert found["document"] is None


def test_report_document_fills_unset_address_parts_with_null_and_takes_the_country(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    report_id = verified_report_id(
        api, session["id"], verifiedOutputs={"address": {"city": "Paris", "country": "FR"}}
    )
    # then
    found = report(api, report_id)
    assert found is not None
    assert found["document"]["address"] == {
        "line1": None,
        "line2": None,
        "city": "Paris",
        "state": None,
        "postalCode": None,
        "country": "FR",
    }
    assert found["document"]["issuingCountry"] == "FR"
    assert found["document"]["firstName"] == "Jenny"


# --- failures ------------------------------------------------------------------------------------


def test_selfie_face_mismatch_fails_the_selfie_check_and_passes_the_document(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(options={"document": {"requireMatchingSelfie": True}})
    # when
    report_id = failed_report_id(api, session["id"], "SELFIE_FACE_MISMATCH")
    # then
    assert statuses(api, report_id) == {
        "type": "DOCUMENT",
        "document": {"status": "VERIFIED", "error": None},
        "idNumber": None,
        "selfie": {
            "status": "UNVERIFIED",
            "error": error(
                "SELFIE_FACE_MISMATCH", "The selfie does not match the document's photo."
            ),
        },
        "email": None,
        "phone": None,
    }


def test_failed_attempt_sets_the_same_last_error_on_the_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(options={"document": {"requireMatchingSelfie": True}})
    # when
    after = simulate(
        api, session["id"], "REQUIRES_INPUT", document=SIMULATE, lastErrorCode="SELFIE_MANIPULATED"
    )
    # then
    assert after["lastError"] == error(
        "SELFIE_MANIPULATED", "The selfie appears to have been manipulated."
    )
    found = statuses(api, after["lastVerificationReport"]["id"])
    assert found["selfie"] == {"status": "UNVERIFIED", "error": after["lastError"]}


@pytest.mark.parametrize(
    ("type", "options", "code", "failing", "reason"),
    [
        (
            "DOCUMENT",
            {"document": {"requireMatchingSelfie": True, "requireIdNumber": True}},
            "DOCUMENT_EXPIRED",
            "document",
            "The provided identity document has expired.",
        ),
        (
            "DOCUMENT",
            {"document": {"requireMatchingSelfie": True, "requireIdNumber": True}},
            "ID_NUMBER_MISMATCH",
            "idNumber",
            "The ID number does not match the user's other details.",
        ),
        (
            "ID_NUMBER",
            None,
            "ID_NUMBER_UNVERIFIED_OTHER",
            "idNumber",
            "The ID number could not be verified.",
        ),
        (
            "ID_NUMBER",
            None,
            "UNDER_SUPPORTED_AGE",
            "idNumber",
            "The user is under the minimum supported age.",
        ),
        (
            "DOCUMENT",
            None,
            "SELFIE_FACE_MISMATCH",
            "document",
            "The selfie does not match the document's photo.",
        ),
    ],
    ids=[
        "document-expired",
        "id-number-mismatch",
        "id-number-session",
        "general-code-on-id-number-session",
        "selfie-code-without-selfie-check",
    ],
)
def test_failure_code_fails_its_own_check_and_the_others_pass(
    api: Api,
    create_session: CreateSession,
    type: str,
    options: dict[str, Any] | None,
    code: str,
    failing: str,
    reason: str,
) -> None:
    # given
    session = create_session(type=type, options=options)
    # when
    found = statuses(api, failed_report_id(api, session["id"], code))
    # then
    found.pop("type")
    present = {name: check for name, check in found.items() if check is not None}
    assert present[failing] == {"status": "UNVERIFIED", "error": error(code, reason)}
    assert all(
        check == {"status": "VERIFIED", "error": None}
        for name, check in present.items()
        if name != failing
    )


@pytest.mark.parametrize(
    ("code", "check", "reason"),
    [
        (
            "EMAIL_VERIFICATION_DECLINED",
            "email",
            "The user declined to verify their email address.",
        ),
        ("PHONE_UNVERIFIED_OTHER", "phone", "The phone number could not be verified."),
    ],
)
def test_contact_failure_code_fails_the_contact_check_of_a_flow_session(
    api: Api, create_session: CreateSession, code: str, check: str, reason: str
) -> None:
    # given
    flow_id = api.new_flow(
        options={"email": {"require_verification": True}, "phone": {"require_verification": True}},
    )
    session = create_session(type=None, verificationFlow=flow_id)
    # when
    found = statuses(api, failed_report_id(api, session["id"], code))
    # then
    other = "phone" if check == "email" else "email"
    assert found[check] == {"status": "UNVERIFIED", "error": error(code, reason)}
    assert found[other] == {"status": "VERIFIED", "error": None}
    assert found["document"] == {"status": "VERIFIED", "error": None}


@pytest.mark.parametrize("code", ["ABANDONED", "CONSENT_DECLINED", "DEVICE_NOT_SUPPORTED"])
def test_unfinished_attempt_leaves_every_check_unverified_with_the_error_on_the_first(
    api: Api, create_session: CreateSession, code: str
) -> None:
    # given
    session = create_session(options={"document": {"requireMatchingSelfie": True}})
    # when
    found = statuses(api, failed_report_id(api, session["id"], code))
    # then
    assert found["document"]["status"] == "UNVERIFIED"
    assert found["document"]["error"]["code"] == code
    assert found["selfie"] == {"status": "UNVERIFIED", "error": None}


# --- one report per attempt ----------------------------------------------------------------------


def test_each_attempt_writes_its_own_report_and_the_last_one_is_the_newest(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    first = failed_report_id(api, session["id"], "DOCUMENT_UNVERIFIED_OTHER")
    # when
    second = verified_report_id(api, session["id"])
    # then
    assert first != second
    assert api.gql(SESSION_LAST_REPORT, {"id": session["id"]}) == {
        "verificationSession": {
            "id": session["id"],
            "status": "VERIFIED",
            "lastVerificationReport": {"id": second, "document": {"status": "VERIFIED"}},
        }
    }
    assert ids_of(reports_page(api, filter={"verificationSession": session["id"]})) == [
        second,
        first,
    ]
    assert statuses(api, first)["document"] == {
        "status": "UNVERIFIED",
        "error": error(
            "DOCUMENT_UNVERIFIED_OTHER", "The provided identity document could not be verified."
        ),
    }


def test_session_without_an_attempt_has_no_report(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session()
    # when
    data = api.gql(SESSION_LAST_REPORT, {"id": session["id"]})
    # then
    assert data["verificationSession"]["lastVerificationReport"] is None
    assert reports_page(api, filter={"verificationSession": session["id"]})["nodes"] == []


def test_simulated_processing_writes_no_report_until_it_finishes(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    processing = simulate(api, session["id"], "PROCESSING", document=SIMULATE)
    # then
    assert processing["lastVerificationReport"] is None
    assert total(api, {"verificationSession": session["id"]}) == 0
    finished = simulate(api, session["id"], "VERIFIED", document=SIMULATE)
    assert total(api, {"verificationSession": session["id"]}) == 1
    assert finished["lastVerificationReport"] is not None


def test_submitted_session_gets_its_report_when_processing_finishes(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(options={"document": {"requireMatchingSelfie": True}})
    submitted = api.gql(
        SUBMIT,
        {
            "input": {
                "id": session["id"],
                "outcome": "REQUIRES_INPUT",
                "lastErrorCode": "SELFIE_UNVERIFIED_OTHER",
            }
        },
    )["submitVerificationSession"]
    assert submitted == {
        "verificationSession": {"id": session["id"], "status": "PROCESSING"},
        "userErrors": [],
    }
    # when
    deadline = time.monotonic() + 20
    while True:
        current = api.gql(SESSION_LAST_REPORT, {"id": session["id"]})["verificationSession"]
        if current["status"] != "PROCESSING" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # then
    assert current["status"] == "REQUIRES_INPUT"
    report_id = current["lastVerificationReport"]["id"]
    assert statuses(api, report_id)["selfie"] == {
        "status": "UNVERIFIED",
        "error": error("SELFIE_UNVERIFIED_OTHER", "The selfie could not be verified."),
    }
    assert ids_of(reports_page(api, filter={"verificationSession": session["id"]})) == [report_id]


# --- the connection ------------------------------------------------------------------------------


def reports_in_order(api: Api, create_session: CreateSession, count: int) -> list[str]:
    """`count` reports (every third of an ID_NUMBER session), oldest first."""
    made: list[str] = []
    for index in range(count):
        session = create_session(type="ID_NUMBER" if index % 3 == 2 else "DOCUMENT")
        made.append(verified_report_id(api, session["id"]))
    return made


def test_reports_list_newest_first(api: Api, create_session: CreateSession) -> None:
    # given
    made = reports_in_order(api, create_session, 4)
    # when
    connection = reports_page(api)
    # then
    assert ids_of(connection) == list(reversed(made))
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["pageInfo"]["hasPreviousPage"] is False


def test_reports_page_forward_with_first_and_after(api: Api, create_session: CreateSession) -> None:
    # given
    newest_first = list(reversed(reports_in_order(api, create_session, 5)))
    # when
    first = reports_page(api, first=2)
    second = reports_page(api, first=2, after=first["pageInfo"]["endCursor"])
    third = reports_page(api, first=2, after=second["pageInfo"]["endCursor"])
    # then
    assert [ids_of(first), ids_of(second), ids_of(third)] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert third["pageInfo"]["hasNextPage"] is False
    assert third["pageInfo"]["hasPreviousPage"] is True
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]


def test_reports_page_backward_with_last_and_before(
    api: Api, create_session: CreateSession
) -> None:
    # given
    newest_first = list(reversed(reports_in_order(api, create_session, 5)))
    # when
    last = reports_page(api, last=2)
    middle = reports_page(api, last=2, before=last["pageInfo"]["startCursor"])
    top = reports_page(api, last=2, before=middle["pageInfo"]["startCursor"])
    # then
    assert [ids_of(top), ids_of(middle), ids_of(last)] == [
        newest_first[0:1],
        newest_first[1:3],
        newest_first[3:5],
    ]
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert last["pageInfo"]["hasNextPage"] is False
    assert middle["pageInfo"]["hasPreviousPage"] is True
    assert middle["pageInfo"]["hasNextPage"] is True
    assert top["pageInfo"]["hasPreviousPage"] is False
    assert top["pageInfo"]["hasNextPage"] is True


def test_reports_filter_by_type(api: Api, create_session: CreateSession) -> None:
    # given
    made = reports_in_order(api, create_session, 6)
    # when
    id_number = reports_page(api, filter={"type": "ID_NUMBER"})
    document = reports_page(api, filter={"type": "DOCUMENT"})
    # then
    assert ids_of(id_number) == [made[5], made[2]]
    assert ids_of(document) == [made[4], made[3], made[1], made[0]]
    assert total(api, {"type": "ID_NUMBER"}) == 2
    assert reports_page(api, filter={"type": "VERIFICATION_FLOW"})["nodes"] == []


def test_reports_filter_by_session(api: Api, create_session: CreateSession) -> None:
    # given
    one, other = create_session(), create_session()
    first = failed_report_id(api, one["id"], "ABANDONED")
    verified_report_id(api, other["id"])
    second = verified_report_id(api, one["id"])
    # when
    connection = reports_page(api, filter={"verificationSession": one["id"]})
    # then
    assert ids_of(connection) == [second, first]
    assert total(api, {"verificationSession": one["id"]}) == 2


@pytest.mark.parametrize("session_id", ["vs_unknown", "nope", ""])
def test_reports_filter_by_unknown_session_lists_nothing(
    api: Api, create_session: CreateSession, session_id: str
) -> None:
    # given
    verified_report_id(api, create_session()["id"])
    # when
    connection = reports_page(api, filter={"verificationSession": session_id})
    # then
    assert connection["nodes"] == []


def test_reports_filter_by_created(api: Api, create_session: CreateSession) -> None:
    # given
    made = reports_in_order(api, create_session, 4)
    created = {
        node["id"]: node["created"]
        for node in api.gql(REPORTS_CREATED)["verificationReports"]["nodes"]
    }
    middle = created[made[2]]
    # when
    since = reports_page(api, filter={"created": {"gte": middle}})
    after = reports_page(api, filter={"created": {"gt": middle}})
    before = reports_page(api, filter={"created": {"lt": middle}})
    until = reports_page(api, filter={"created": {"lte": middle}})
    between = reports_page(
        api, filter={"created": {"gt": created[made[0]], "lt": created[made[3]]}}
    )
    # then
    assert ids_of(since) == [made[3], made[2]]
    assert ids_of(after) == [made[3]]
    assert ids_of(before) == [made[1], made[0]]
    assert ids_of(until) == [made[2], made[1], made[0]]
    assert ids_of(between) == [made[2], made[1]]


def test_reports_total_count_counts_every_page(api: Api, create_session: CreateSession) -> None:
    # given
    reports_in_order(api, create_session, 3)
    # when
    count = total(api)
    # then
    assert count == 3


@pytest.mark.parametrize(
    "cursor",
    ["nope", "", "djE6c2VxOjE", "djE6MTIzOnZz"],
    ids=["garbage", "empty", "event-cursor", "cut-short"],
)
def test_reports_reject_a_malformed_cursor(
    api: Api, create_session: CreateSession, cursor: str
) -> None:
    # given
    verified_report_id(api, create_session()["id"])
    # when
    response = api.post(REPORTS, {"first": 1, "after": cursor})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "`after` is not a cursor returned by this API" in body["errors"][0]["message"]


def test_reports_reject_first_and_last_together(api: Api) -> None:
    # when
    response = api.post(REPORTS, {"first": 1, "last": 1})
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("size", [-1, 101])
def test_reports_reject_a_page_size_out_of_range(api: Api, size: int) -> None:
    # when
    response = api.post(REPORTS, {"first": size})
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]


# --- visibility ----------------------------------------------------------------------------------


def test_other_accounts_reports_are_invisible(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    report_id = verified_report_id(api, session["id"])
    # when
    found = report(other_api, report_id)
    node = other_api.gql(NODE, {"id": report_id})["node"]
    listed = reports_page(other_api, filter={"verificationSession": session["id"]})
    # then
    assert found is None
    assert node is None
    assert listed["nodes"] == []
    assert reports_page(other_api)["nodes"] == []
    assert total(other_api) == 0


def test_live_mode_key_does_not_see_test_mode_reports(
    api: Api, create_session: CreateSession
) -> None:
    # given
    report_id = verified_report_id(api, create_session()["id"])
    live = api.new_key(livemode=True)
    # when
    found = report(api, report_id, key=live)
    listed = reports_page(api, key=live)
    # then
    assert found is None
    assert listed["nodes"] == []


def test_restricted_key_reads_reports(api: Api, create_session: CreateSession) -> None:
    # given
    report_id = verified_report_id(api, create_session()["id"])
    restricted = api.new_key(restricted=True)
    # when
    found = report(api, report_id, key=restricted)
    # then
    assert found == report(api, report_id)


@pytest.mark.parametrize(
    "report_id",
    ["vr_unknown", "nope", "", "vs_" + "a" * 24, "vr_' OR '1'='1", "vr_" + "a" * 5000],
)
def test_verification_report_returns_null_for_unknown_or_malformed_ids(
    api: Api, report_id: str
) -> None:
    # when
    found = report(api, report_id)
    # then
    assert found is None


def test_verification_report_without_a_key_is_unauthenticated(
    api: Api, create_session: CreateSession
) -> None:
    # given
    report_id = verified_report_id(api, create_session()["id"])
    # when
    response = api.post(REPORT, {"id": report_id}, key=None)
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert "Rosen" not in response.text


# --- node and nodes --------------------------------------------------------------------------------


def test_node_returns_a_report_by_its_id(api: Api, create_session: CreateSession) -> None:
    # given
    session = create_session()
    report_id = verified_report_id(api, session["id"])
    # when
    data = api.gql(NODE, {"id": report_id})
    # then
    assert data == {
        "node": {
            "__typename": "VerificationReport",
            "id": report_id,
            "object": "identity.verification_report",
            "type": "DOCUMENT",
            "verificationSession": {"id": session["id"]},
        }
    }


def test_nodes_return_reports_and_sessions_in_the_order_given(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    report_id = verified_report_id(api, session["id"])
    other_session = other_api.gql(CREATE, {"input": {"type": "DOCUMENT"}})[
        "createVerificationSession"
    ]["verificationSession"]
    other_report = verified_report_id(other_api, other_session["id"])
    # when
    data = api.gql(
        NODES, {"ids": [report_id, "vr_unknown", session["id"], other_report, report_id]}
    )
    # then
    assert data == {
        "nodes": [
            {"__typename": "VerificationReport", "id": report_id},
            None,
            {"__typename": "VerificationSession", "id": session["id"]},
            None,
            {"__typename": "VerificationReport", "id": report_id},
        ]
    }
