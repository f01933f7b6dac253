"""Verification rules (app.domain.verification), without a database: the tester's personal data,
the data a live frontend collected, which checks a report carries, each check's result and data,
and redaction of personal data."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from app.domain.errors import InvalidParameter
from app.domain.lifecycle import last_error
from app.domain.sessions import MAX_STRING_LENGTH
from app.domain.verification import (
    REDACTED,
    TEST_PERSON,
    check_collected_person,
    check_verified_outputs,
    redact_person,
    report_checks,
    required_checks,
)

TODAY = date(2026, 3, 14)

# Stripe's test person, spelled out here rather than taken from app.domain.verification's
# TEST_PERSON: the tests pin the values a tester gets, not whatever the constant holds.
JENNY: dict[str, Any] = {
    "first_name": "Jenny",
    "last_name": "Rosen",
    "dob": {"day": 1, "month": 1, "year": 1901},
    "address": {
        "line1": "354 Oyster Point Blvd",
        "line2": None,
        "city": "South San Francisco",
        "state": "CA",
        "postal_code": "94080",
        "country": "US",
    },
    "id_number_type": "us_ssn",
    "id_number": "000000000",
    "email": "jenny.rosen@example.com",
    "phone": "+14155550123",
    "sex": "female",
    "unparsed_place_of_birth": None,
    "unparsed_sex": None,
}

SELFIE_AND_ID_NUMBER = {"document": {"require_matching_selfie": True, "require_id_number": True}}
EVERY_CHECK = {
    **SELFIE_AND_ID_NUMBER,
    "email": {"require_verification": True},
    "phone": {"require_verification": True},
}


def rejected(data: dict[str, Any]) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as raised:
        check_verified_outputs(data)
    return raised.value


def checks(
    *,
    session_type: str = "document",
    options: dict[str, Any] | None = None,
    code: str | None = None,
    person: dict[str, Any] | None = None,
    today: date = TODAY,
) -> dict[str, dict[str, Any]]:
    return report_checks(
        session_type=session_type,
        options=options or {},
        person=JENNY if person is None else person,
        last_error_code=code,
        today=today,
    )


def results(found: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """Each check's status and error code, without the data it read."""
    return {
        name: (check["status"], check["error"]["code"] if check["error"] else None)
        for name, check in found.items()
    }


# --- check_verified_outputs --------------------------------------------------------------------


@pytest.mark.parametrize("data", [None, {}], ids=["none", "empty"])
def test_verified_outputs_default_to_the_test_person(data: dict[str, Any] | None) -> None:
    # when
    person = check_verified_outputs(data)
    # then
    assert person == JENNY


def test_verified_outputs_default_is_a_copy_the_caller_may_change() -> None:
    # given
    before = copy.deepcopy(TEST_PERSON)
    person = check_verified_outputs(None)
    # when
    person["address"]["city"] = "Elsewhere"
    person["dob"]["year"] = 2000
    person["first_name"] = "Someone"
    # then
    assert before == TEST_PERSON


def test_verified_outputs_take_the_testers_values_over_the_test_person() -> None:
    # given
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "dob": {"day": 10, "month": 12, "year": 1815},
        "id_number_type": "sg_nric",
        "id_number": "S1234567D",
        "email": "ada@example.org",
        "phone": "+442071234567",
        "sex": "unknown",
        "unparsed_place_of_birth": "London",
        "unparsed_sex": "F",
    }
    # when
    person = check_verified_outputs(data)
    # then
    assert person == {**JENNY, **data}


def test_verified_outputs_take_given_values_and_keep_the_test_persons_for_nulls() -> None:
    # when
    person = check_verified_outputs(
        {
            "first_name": "Zebulon",
            "last_name": None,
            "dob": {"day": 29, "month": 2, "year": 1992},
            "id_number_type": "br_cpf",
            "sex": "unknown",
        }
    )
    # then
    assert person == {
        **JENNY,
        "first_name": "Zebulon",
        "dob": {"day": 29, "month": 2, "year": 1992},
        "id_number_type": "br_cpf",
        "sex": "unknown",
    }


def test_verified_outputs_skip_null_values() -> None:
    # when
    person = check_verified_outputs({"first_name": None, "dob": None, "address": None})
    # then
    assert person == JENNY


def test_verified_outputs_address_replaces_the_test_address_whole() -> None:
    # when
    person = check_verified_outputs({"address": {"city": "Paris", "country": "FR"}})
    # then
    assert person["address"] == {
        "line1": None,
        "line2": None,
        "city": "Paris",
        "state": None,
        "postal_code": None,
        "country": "FR",
    }


def test_verified_outputs_normalise_the_date_of_birth() -> None:
    # when
    person = check_verified_outputs({"dob": {"year": "1990", "month": "02", "day": 28}})
    # then
    assert person["dob"] == {"day": 28, "month": 2, "year": 1990}


def test_verified_outputs_accept_a_date_of_birth_of_today() -> None:
    # given
    today = date.today()
    # when
    person = check_verified_outputs(
        {"dob": {"day": today.day, "month": today.month, "year": today.year}}
    )
    # then
    assert person["dob"] == {"day": today.day, "month": today.month, "year": today.year}


def test_verified_outputs_accept_a_string_of_the_maximum_length() -> None:
    # when
    person = check_verified_outputs({"first_name": "a" * MAX_STRING_LENGTH})
    # then
    assert person["first_name"] == "a" * MAX_STRING_LENGTH


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"first_name": "a" * (MAX_STRING_LENGTH + 1)},
            ["verified_outputs", "first_name"],
            "first_name must be text of at most 5000 characters.",
        ),
        (
            {"email": "a\x00b@example.com"},
            ["verified_outputs", "email"],
            "email must be text of at most 5000 characters.",
        ),
        (
            {"phone": 14155550123},
            ["verified_outputs", "phone"],
            "phone must be text of at most 5000 characters.",
        ),
        (
            {"id_number_type": "de_tax_id"},
            ["verified_outputs", "id_number_type"],
            "id_number_type must be br_cpf, sg_nric or us_ssn.",
        ),
        (
            {"sex": "[redacted]"},
            ["verified_outputs", "sex"],
            "sex must be FEMALE, MALE or UNKNOWN.",
        ),
        (
            {"dob": {"day": 30, "month": 2, "year": 2000}},
            ["verified_outputs", "dob"],
            "dob must be a real date with day, month and year.",
        ),
        (
            {"dob": {"month": 2, "year": 2000}},
            ["verified_outputs", "dob"],
            "dob must be a real date with day, month and year.",
        ),
        (
            {"dob": "2000-01-01"},
            ["verified_outputs", "dob"],
            "dob must be a real date with day, month and year.",
        ),
        (
            {"dob": {"day": 1, "month": 13, "year": 2000}},
            ["verified_outputs", "dob"],
            "dob must be a real date with day, month and year.",
        ),
        (
            {"address": "354 Oyster Point Blvd"},
            ["verified_outputs", "address"],
            "address must be an object.",
        ),
        (
            {"address": {"planet": "Mars"}},
            ["verified_outputs", "address", "planet"],
            "Unknown address field 'planet'.",
        ),
        (
            {"address": {"country": "us"}},
            ["verified_outputs", "address", "country"],
            "country must be a two-letter ISO 3166-1 code such as US.",
        ),
        (
            {"address": {"country": "USA"}},
            ["verified_outputs", "address", "country"],
            "country must be a two-letter ISO 3166-1 code such as US.",
        ),
        (
            {"address": {"city": "x" * (MAX_STRING_LENGTH + 1)}},
            ["verified_outputs", "address", "city"],
            "city must be text of at most 5000 characters.",
        ),
        (
            {"nickname": "Jen"},
            ["verified_outputs", "nickname"],
            "Unknown field 'nickname' in verified outputs.",
        ),
    ],
    ids=[
        "string-too-long",
        "string-with-nul",
        "string-not-text",
        "unknown-id-number-type",
        "sex-redacted",
        "dob-not-a-date",
        "dob-missing-day",
        "dob-not-an-object",
        "dob-month-13",
        "address-not-an-object",
        "address-unknown-part",
        "country-lowercase",
        "country-three-letters",
        "address-part-too-long",
        "unknown-field",
    ],
)
def test_verified_outputs_reject_a_field_that_breaks_its_rule(
    data: dict[str, Any], field: list[str], message: str
) -> None:
    # when
    error = rejected(data)
    # then
    assert (error.field, error.message) == (field, message)


def test_verified_outputs_reject_a_date_of_birth_in_the_future() -> None:
    # given
    tomorrow = date.today() + timedelta(days=1)
    # when
    error = rejected({"dob": {"day": tomorrow.day, "month": tomorrow.month, "year": tomorrow.year}})
    # then
    assert (error.field, error.message) == (
        ["verified_outputs", "dob"],
        "dob cannot be in the future.",
    )


# --- check_collected_person --------------------------------------------------------------------


def test_collected_person_is_checked_but_nothing_is_filled_in() -> None:
    # when
    person = check_collected_person(
        {"first_name": "Ada", "last_name": None, "address": {"city": "London", "country": "GB"}}
    )
    # then
    assert person == {
        "first_name": "Ada",
        "address": {
            "line1": None,
            "line2": None,
            "city": "London",
            "state": None,
            "postal_code": None,
            "country": "GB",
        },
    }


@pytest.mark.parametrize("data", [None, {}], ids=["none", "empty"])
def test_collected_person_may_be_empty(data: dict[str, Any] | None) -> None:
    # when
    person = check_collected_person(data)
    # then
    assert person == {}


def test_collected_person_that_breaks_a_rule_is_refused_with_its_path() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_collected_person({"sex": "[redacted]"})
    # then
    assert (raised.value.field, raised.value.message) == (
        ["verified_outputs", "sex"],
        "sex must be FEMALE, MALE or UNKNOWN.",
    )


# --- required_checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session_type", "options", "expected"),
    [
        ("document", {}, ["document"]),
        ("document", {"document": None}, ["document"]),
        ("document", {"document": {"allowed_types": ["passport"]}}, ["document"]),
        ("document", {"document": {"require_live_capture": True}}, ["document"]),
        ("document", {"document": {"require_matching_selfie": True}}, ["document", "selfie"]),
        ("document", {"document": {"require_id_number": True}}, ["document", "id_number"]),
        ("document", SELFIE_AND_ID_NUMBER, ["document", "selfie", "id_number"]),
        (
            "document",
            {"document": {"require_matching_selfie": False, "require_id_number": False}},
            ["document"],
        ),
        ("id_number", {}, ["id_number"]),
        ("id_number", SELFIE_AND_ID_NUMBER, ["id_number"]),
        ("id_number", {"email": {"require_verification": True}}, ["id_number", "email"]),
        ("verification_flow", {}, ["document"]),
        ("verification_flow", EVERY_CHECK, ["document", "selfie", "id_number", "email", "phone"]),
        ("verification_flow", {"phone": {"require_verification": True}}, ["document", "phone"]),
        ("verification_flow", {"email": {"require_verification": False}}, ["document"]),
        ("verification_flow", {"email": None, "phone": {}}, ["document"]),
        ("id_number", {"phone": {"require_verification": False}}, ["id_number"]),
        (
            "document",
            {"email": {"require_verification": True}, "phone": {"require_verification": True}},
            ["document", "email", "phone"],
        ),
    ],
)
def test_required_checks_follow_the_session_type_and_options(
    session_type: str, options: dict[str, Any], expected: list[str]
) -> None:
    # when
    found = required_checks(session_type, options)
    # then
    assert found == expected


# --- report_checks -----------------------------------------------------------------------------


def test_report_checks_of_a_success_verify_every_check_with_the_data_it_read() -> None:
    # when
    found = checks(session_type="verification_flow", options=EVERY_CHECK)
    # then
    assert found == {
        "document": {
            "status": "verified",
            "error": None,
            "first_name": "Jenny",
            "last_name": "Rosen",
            "dob": {"day": 1, "month": 1, "year": 1901},
            "address": JENNY["address"],
            "issuing_country": "US",
            "type": "driving_license",
            "number": "D1234567",
            "expiration_date": {"day": 14, "month": 3, "year": 2031},
            "issued_date": {"day": 14, "month": 3, "year": 2021},
            "files": None,
            "sex": "female",
            "unparsed_place_of_birth": None,
            "unparsed_sex": None,
        },
        "selfie": {"status": "verified", "error": None},
        "id_number": {
            "status": "verified",
            "error": None,
            "id_number_type": "us_ssn",
            "first_name": "Jenny",
            "last_name": "Rosen",
            "dob": {"day": 1, "month": 1, "year": 1901},
        },
        "email": {"status": "verified", "error": None, "email": "jenny.rosen@example.com"},
        "phone": {"status": "verified", "error": None, "phone": "+14155550123"},
    }


def test_report_document_reads_sex_and_printed_values_from_the_person() -> None:
    # given
    person = {**JENNY, "sex": "male", "unparsed_place_of_birth": "Hamburg", "unparsed_sex": "M"}
    # when
    document = checks(person=person)["document"]
    # then
    assert (
        document["sex"],
        document["unparsed_place_of_birth"],
        document["unparsed_sex"],
        document["files"],
    ) == ("male", "Hamburg", "M", None)


def test_report_document_without_personal_data_has_null_sex_and_printed_values() -> None:
    # when
    document = checks(person={})["document"]
    # then
    assert (
        document["sex"],
        document["unparsed_place_of_birth"],
        document["unparsed_sex"],
        document["files"],
    ) == (None, None, None, None)


def test_report_checks_hold_only_the_required_checks() -> None:
    # when
    found = checks(session_type="id_number")
    # then
    assert list(found) == ["id_number"]


def test_report_document_type_is_the_first_allowed_type() -> None:
    # when
    found = checks(options={"document": {"allowed_types": ["id_card", "passport"]}})
    # then
    assert found["document"]["type"] == "id_card"


def test_report_document_issuing_country_follows_the_address() -> None:
    # given
    person = {**JENNY, "address": {**JENNY["address"], "country": "GB"}}
    # when
    found = checks(person=person)
    # then
    assert found["document"]["issuing_country"] == "GB"


def test_report_document_issuing_country_is_us_without_an_address_country() -> None:
    # given
    person = {**JENNY, "address": {**JENNY["address"], "country": None}}
    # when
    found = checks(person=person)
    # then
    assert found["document"]["issuing_country"] == "US"


def test_report_document_dates_are_real_dates_on_the_29th_of_february() -> None:
    # when
    found = checks(today=date(2028, 2, 29))
    # then
    expiration = found["document"]["expiration_date"]
    issued = found["document"]["issued_date"]
    assert expiration == {"day": 28, "month": 2, "year": 2033}
    assert issued == {"day": 28, "month": 2, "year": 2023}


@pytest.mark.parametrize(
    ("session_type", "options", "code", "expected"),
    [
        (
            "document",
            SELFIE_AND_ID_NUMBER,
            "selfie_face_mismatch",
            {
                "document": ("verified", None),
                "selfie": ("unverified", "selfie_face_mismatch"),
                "id_number": ("verified", None),
            },
        ),
        (
            "document",
            SELFIE_AND_ID_NUMBER,
            "id_number_mismatch",
            {
                "document": ("verified", None),
                "selfie": ("verified", None),
                "id_number": ("unverified", "id_number_mismatch"),
            },
        ),
        (
            "document",
            SELFIE_AND_ID_NUMBER,
            "document_expired",
            {
                "document": ("unverified", "document_expired"),
                "selfie": ("verified", None),
                "id_number": ("verified", None),
            },
        ),
        (
            "document",
            SELFIE_AND_ID_NUMBER,
            "under_supported_age",
            {
                "document": ("unverified", "under_supported_age"),
                "selfie": ("verified", None),
                "id_number": ("verified", None),
            },
        ),
        (
            "id_number",
            {},
            "country_not_supported",
            {"id_number": ("unverified", "country_not_supported")},
        ),
        (
            "verification_flow",
            EVERY_CHECK,
            "email_unverified_other",
            {
                "document": ("verified", None),
                "selfie": ("verified", None),
                "id_number": ("verified", None),
                "email": ("unverified", "email_unverified_other"),
                "phone": ("verified", None),
            },
        ),
        (
            "verification_flow",
            EVERY_CHECK,
            "phone_verification_declined",
            {
                "document": ("verified", None),
                "selfie": ("verified", None),
                "id_number": ("verified", None),
                "email": ("verified", None),
                "phone": ("unverified", "phone_verification_declined"),
            },
        ),
    ],
)
def test_report_checks_fail_the_check_the_error_code_belongs_to(
    session_type: str, options: dict[str, Any], code: str, expected: dict[str, Any]
) -> None:
    # when
    found = checks(session_type=session_type, options=options, code=code)
    # then
    assert results(found) == expected


@pytest.mark.parametrize(
    ("session_type", "code", "failing"),
    [
        ("document", "selfie_manipulated", "document"),
        ("document", "id_number_unverified_other", "document"),
        ("document", "email_verification_declined", "document"),
        ("id_number", "phone_unverified_other", "id_number"),
        ("id_number", "selfie_document_missing_photo", "id_number"),
    ],
)
def test_report_checks_put_an_error_of_an_unrequired_check_on_the_first_check(
    session_type: str, code: str, failing: str
) -> None:
    # when
    found = checks(session_type=session_type, code=code)
    # then
    assert results(found) == {failing: ("unverified", code)}
    assert found[failing]["error"] == last_error(code)


@pytest.mark.parametrize("code", ["abandoned", "consent_declined", "device_not_supported"])
def test_report_checks_of_an_unfinished_attempt_leave_every_check_unverified(code: str) -> None:
    # when
    found = checks(session_type="verification_flow", options=EVERY_CHECK, code=code)
    # then
    assert results(found) == {
        "document": ("unverified", code),
        "selfie": ("unverified", None),
        "id_number": ("unverified", None),
        "email": ("unverified", None),
        "phone": ("unverified", None),
    }
    assert list(found) == ["document", "selfie", "id_number", "email", "phone"]
    assert found["document"]["error"] == last_error(code)


def test_report_check_error_carries_the_code_and_its_reason() -> None:
    # when
    found = checks(options=SELFIE_AND_ID_NUMBER, code="selfie_face_mismatch")
    # then
    assert found["selfie"] == {
        "status": "unverified",
        "error": {
            "code": "selfie_face_mismatch",
            "reason": "The selfie does not match the document's photo.",
        },
    }


def test_report_checks_of_a_failure_still_carry_the_data_read() -> None:
    # when
    found = checks(session_type="id_number", code="id_number_mismatch")
    # then
    assert found["id_number"]["first_name"] == "Jenny"
    assert found["id_number"]["id_number_type"] == "us_ssn"


def test_report_checks_of_an_attempt_without_personal_data_read_nothing() -> None:
    # when
    found = checks(
        session_type="id_number",
        options={"email": {"require_verification": True}},
        person={},
        code="id_number_mismatch",
    )
    # then
    assert found == {
        "id_number": {
            "status": "unverified",
            "error": last_error("id_number_mismatch"),
            "id_number_type": None,
            "first_name": None,
            "last_name": None,
            "dob": None,
        },
        "email": {"status": "verified", "error": None, "email": None},
    }


# --- redact_person -----------------------------------------------------------------------------


def test_redact_person_of_nothing_is_nothing() -> None:
    # when
    of_none = redact_person(None)
    of_empty = redact_person({})
    # then
    assert of_none is None
    assert of_empty == {}


def test_redact_person_erases_every_personal_value() -> None:
    # when
    redacted = redact_person(JENNY)
    # then
    assert redacted == {
        "first_name": REDACTED,
        "last_name": REDACTED,
        "dob": None,
        "address": {
            "line1": REDACTED,
            "line2": None,
            "city": REDACTED,
            "state": REDACTED,
            "postal_code": REDACTED,
            "country": REDACTED,
        },
        "id_number_type": "us_ssn",
        "id_number": REDACTED,
        "email": REDACTED,
        "phone": REDACTED,
        "sex": "[redacted]",
        "unparsed_place_of_birth": None,
        "unparsed_sex": None,
    }


def test_redact_person_erases_a_second_address_line_and_a_place_of_birth() -> None:
    # given
    person = {
        **JENNY,
        "address": {**JENNY["address"], "line2": "Apt 4"},
        "unparsed_place_of_birth": "Hamburg",
    }
    # when
    redacted = redact_person(person)
    # then
    assert redacted == {
        "first_name": REDACTED,
        "last_name": REDACTED,
        "dob": None,
        "address": {
            "line1": REDACTED,
            "line2": REDACTED,
            "city": REDACTED,
            "state": REDACTED,
            "postal_code": REDACTED,
            "country": REDACTED,
        },
        "id_number_type": "us_ssn",
        "id_number": REDACTED,
        "email": REDACTED,
        "phone": REDACTED,
        "sex": REDACTED,
        "unparsed_place_of_birth": REDACTED,
        "unparsed_sex": None,
    }


def test_redact_person_keeps_a_checks_status_error_and_document_type() -> None:
    # given
    document = checks(code="document_expired")["document"]
    # when
    redacted = redact_person(document)
    # then
    assert redacted == {
        "status": "unverified",
        "error": document["error"],
        "first_name": REDACTED,
        "last_name": REDACTED,
        "dob": None,
        "address": {
            "line1": REDACTED,
            "line2": None,
            "city": REDACTED,
            "state": REDACTED,
            "postal_code": REDACTED,
            "country": REDACTED,
        },
        "issuing_country": REDACTED,
        "type": "driving_license",
        "number": REDACTED,
        "expiration_date": None,
        "issued_date": None,
        "files": None,
        "sex": REDACTED,
        "unparsed_place_of_birth": None,
        "unparsed_sex": None,
    }


def test_redact_person_erases_a_documents_files_sex_and_printed_values() -> None:
    # given
    person = {**JENNY, "unparsed_place_of_birth": "Hamburg", "unparsed_sex": "F"}
    document = {**checks(person=person)["document"], "files": ["file_1", "file_2"]}
    # when
    redacted = redact_person(document)
    # then
    assert redacted is not None
    assert (
        redacted["files"],
        redacted["sex"],
        redacted["unparsed_place_of_birth"],
        redacted["unparsed_sex"],
    ) == (None, REDACTED, REDACTED, REDACTED)


def test_redact_person_leaves_missing_values_missing() -> None:
    # when
    redacted = redact_person({"sex": None, "address": None, "email": None, "extra": 3})
    # then
    assert redacted == {"sex": None, "address": None, "email": None, "extra": None}


def test_redact_person_is_idempotent() -> None:
    # given
    once = redact_person(JENNY)
    # when
    twice = redact_person(once)
    # then
    assert twice == once


def test_redact_person_does_not_change_its_argument() -> None:
    # given
    person = copy.deepcopy(JENNY)
    # when
    redact_person(person)
    # then
    assert person == JENNY
