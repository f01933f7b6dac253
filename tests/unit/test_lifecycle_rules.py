"""Lifecycle rules without a database: which status allows which operation (app.domain.lifecycle),
what an attempt reads and reports and what redaction leaves of it (app.domain.verification), and
event payloads (app.domain.events)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.domain.errors import InvalidParameter, InvalidState
from app.domain.events import event_data, redact_event_data, snapshot
from app.domain.lifecycle import (
    FAILURE_REASONS,
    STATUS_EVENTS,
    EventType,
    check_cancel,
    check_outcome,
    check_redact,
    check_simulate,
    check_submit,
    last_error,
)
from app.domain.sessions import LastErrorCode, Status
from app.domain.verification import (
    REDACTED,
    TEST_PERSON,
    check_collected_person,
    check_verified_outputs,
    redact_person,
    report_checks,
    required_checks,
)

TODAY = date(2026, 1, 31)
# The dob check reads the clock, so "the future" is counted from it.
NEXT_YEAR = date.today().year + 1
STATUSES = [status.value for status in Status]


def refusal(action: str, done: str, status: str, allowed: str) -> str:
    return (
        f'You cannot {action} this VerificationSession because it has a status of "{status}". '
        f"Only a VerificationSession in {allowed} status may be {done}."
    )


def parameter_error(call: Any, *args: Any) -> tuple[str, list[str] | None]:
    with pytest.raises(InvalidParameter) as raised:
        call(*args)
    return raised.value.message, raised.value.field


# --- which status allows what -----------------------------------------------------------------


def test_cancel_is_allowed_in_requires_input() -> None:
    assert check_cancel("requires_input") is True


def test_cancel_of_a_canceled_session_is_a_no_op() -> None:
    assert check_cancel("canceled") is False


@pytest.mark.parametrize("status", ["processing", "verified"])
def test_cancel_is_refused_in_stripes_words_naming_the_status(status: str) -> None:
    # when
    with pytest.raises(InvalidState) as raised:
        check_cancel(status)
    # then
    assert raised.value.message == refusal("cancel", "canceled", status, '"requires_input"')
    assert raised.value.field is None


def test_cancel_refusal_for_verified_is_stripes_message() -> None:
    with pytest.raises(InvalidState) as raised:
        check_cancel("verified")
    assert raised.value.message == (
        'You cannot cancel this VerificationSession because it has a status of "verified". '
        'Only a VerificationSession in "requires_input" status may be canceled.'
    )


@pytest.mark.parametrize("status", ["requires_input", "verified", "canceled"])
def test_redact_starts_in_requires_input_verified_and_canceled(status: str) -> None:
    assert check_redact(status, None) is True


@pytest.mark.parametrize("redaction", ["processing", "redacted"])
@pytest.mark.parametrize("status", ["verified", "canceled"])
def test_second_redact_is_a_no_op(status: str, redaction: str) -> None:
    assert check_redact(status, redaction) is False


def test_redact_is_refused_while_processing() -> None:
    with pytest.raises(InvalidState) as raised:
        check_redact("processing", None)
    assert raised.value.message == refusal(
        "redact", "redacted", "processing", '"requires_input", "verified" or "canceled"'
    )


def test_submit_is_allowed_in_requires_input() -> None:
    check_submit("requires_input", None)


@pytest.mark.parametrize("status", ["processing", "verified", "canceled"])
def test_submit_is_refused_outside_requires_input(status: str) -> None:
    with pytest.raises(InvalidState) as raised:
        check_submit(status, None)
    assert raised.value.message == refusal("submit", "submitted", status, '"requires_input"')


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("redaction", ["processing", "redacted"])
def test_submit_of_a_redacted_session_is_refused_whatever_its_status(
    status: str, redaction: str
) -> None:
    with pytest.raises(InvalidState) as raised:
        check_submit(status, redaction)
    assert raised.value.message == (
        "You cannot submit this VerificationSession because it has been redacted."
    )


@pytest.mark.parametrize("status", ["requires_input", "processing"])
def test_simulate_is_allowed_in_requires_input_and_processing(status: str) -> None:
    check_simulate(status, None)


@pytest.mark.parametrize("status", ["verified", "canceled"])
def test_simulate_is_refused_in_final_statuses(status: str) -> None:
    with pytest.raises(InvalidState) as raised:
        check_simulate(status, None)
    assert raised.value.message == refusal(
        "simulate", "simulated", status, '"requires_input" or "processing"'
    )


def test_simulate_of_a_redacted_session_is_refused() -> None:
    with pytest.raises(InvalidState) as raised:
        check_simulate("canceled", "processing")
    assert raised.value.message == (
        "You cannot simulate this VerificationSession because it has been redacted."
    )


# --- outcomes and last errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "code"),
    [("verified", None), ("processing", None), ("requires_input", "abandoned")],
)
def test_outcome_with_a_matching_code_is_accepted(outcome: str, code: str | None) -> None:
    check_outcome(outcome, code)


def test_requires_input_outcome_needs_a_code() -> None:
    assert parameter_error(check_outcome, "requires_input", None) == (
        "last_error_code is required when the outcome is REQUIRES_INPUT.",
        ["last_error_code"],
    )


@pytest.mark.parametrize("outcome", ["verified", "processing"])
def test_code_is_refused_with_another_outcome(outcome: str) -> None:
    assert parameter_error(check_outcome, outcome, "abandoned") == (
        "last_error_code can only be given when the outcome is REQUIRES_INPUT.",
        ["last_error_code"],
    )


def test_unknown_outcome_is_refused() -> None:
    assert parameter_error(check_outcome, "canceled", None) == (
        "Unknown outcome 'canceled'.",
        ["outcome"],
    )


def test_every_last_error_code_has_a_reason() -> None:
    assert set(FAILURE_REASONS) == set(LastErrorCode)
    assert len(FAILURE_REASONS) == 19
    assert all(reason.endswith(".") for reason in FAILURE_REASONS.values())


@pytest.mark.parametrize("code", list(LastErrorCode))
def test_last_error_carries_the_code_and_its_reason(code: LastErrorCode) -> None:
    assert last_error(code.value) == {"code": code.value, "reason": FAILURE_REASONS[code]}


def test_abandoned_and_consent_declined_are_last_errors() -> None:
    assert last_error("abandoned") == {
        "code": "abandoned",
        "reason": "The user abandoned the verification.",
    }
    assert last_error("consent_declined") == {
        "code": "consent_declined",
        "reason": "The user declined to give consent.",
    }


def test_each_status_change_has_stripes_event_type() -> None:
    assert {status.value: event.value for status, event in STATUS_EVENTS.items()} == {
        "processing": "identity.verification_session.processing",
        "verified": "identity.verification_session.verified",
        "requires_input": "identity.verification_session.requires_input",
        "canceled": "identity.verification_session.canceled",
    }
    assert EventType.CREATED.value == "identity.verification_session.created"
    assert EventType.REDACTED.value == "identity.verification_session.redacted"


# --- the tester's personal data ---------------------------------------------------------------


def test_no_test_data_gives_the_test_person() -> None:
    assert check_verified_outputs(None) == TEST_PERSON
    assert check_verified_outputs({}) == TEST_PERSON


def test_checked_data_is_a_copy_the_caller_may_change() -> None:
    # given
    before = copy.deepcopy(TEST_PERSON)
    result = check_verified_outputs(None)
    # when
    result["dob"]["year"] = 2000
    result["address"]["city"] = "Elsewhere"
    # then
    assert before == TEST_PERSON


def test_given_fields_replace_the_test_persons_and_nulls_keep_them() -> None:
    # when
    result = check_verified_outputs(
        {
            "first_name": "Zebulon",
            "last_name": None,
            "dob": {"day": 29, "month": 2, "year": 1992},
            "id_number_type": "br_cpf",
            "sex": "unknown",
        }
    )
    # then
    assert result == {
        **TEST_PERSON,
        "first_name": "Zebulon",
        "dob": {"day": 29, "month": 2, "year": 1992},
        "id_number_type": "br_cpf",
        "sex": "unknown",
    }


def test_a_given_address_replaces_the_test_persons_whole() -> None:
    result = check_verified_outputs({"address": {"line1": "1 Rue X", "country": "FR"}})
    assert result["address"] == {
        "line1": "1 Rue X",
        "line2": None,
        "city": None,
        "state": None,
        "postal_code": None,
        "country": "FR",
    }


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        (
            {"dob": {"day": 1, "month": 1, "year": NEXT_YEAR}},
            "dob cannot be in the future.",
            ["verified_outputs", "dob"],
        ),
        (
            {"dob": {"day": 30, "month": 2, "year": 1990}},
            "dob must be a real date with day, month and year.",
            ["verified_outputs", "dob"],
        ),
        (
            {"dob": {"day": 1, "month": 1}},
            "dob must be a real date with day, month and year.",
            ["verified_outputs", "dob"],
        ),
        (
            {"address": {"country": "usa"}},
            "country must be a two-letter ISO 3166-1 code such as US.",
            ["verified_outputs", "address", "country"],
        ),
        (
            {"address": {"country": "us"}},
            "country must be a two-letter ISO 3166-1 code such as US.",
            ["verified_outputs", "address", "country"],
        ),
        (
            {"address": {"planet": "Mars"}},
            "Unknown address field 'planet'.",
            ["verified_outputs", "address", "planet"],
        ),
        ({"address": "Berlin"}, "address must be an object.", ["verified_outputs", "address"]),
        (
            {"sex": "[redacted]"},
            "sex must be FEMALE, MALE or UNKNOWN.",
            ["verified_outputs", "sex"],
        ),
        (
            {"id_number_type": "de_pass"},
            "id_number_type must be br_cpf, sg_nric or us_ssn.",
            ["verified_outputs", "id_number_type"],
        ),
        (
            {"first_name": "x" * 5001},
            "first_name must be text of at most 5000 characters.",
            ["verified_outputs", "first_name"],
        ),
        (
            {"email": "a\x00b@example.com"},
            "email must be text of at most 5000 characters.",
            ["verified_outputs", "email"],
        ),
        (
            {"phone": 4155550123},
            "phone must be text of at most 5000 characters.",
            ["verified_outputs", "phone"],
        ),
        (
            {"nationality": "DE"},
            "Unknown field 'nationality' in verified outputs.",
            ["verified_outputs", "nationality"],
        ),
    ],
    ids=[
        "future_dob",
        "impossible_dob",
        "incomplete_dob",
        "three_letter_country",
        "lowercase_country",
        "unknown_address_field",
        "address_not_an_object",
        "redacted_sex",
        "unknown_id_number_type",
        "long_string",
        "nul_in_string",
        "number_for_string",
        "unknown_field",
    ],
)
def test_malformed_test_data_is_refused_with_its_path(
    data: dict[str, Any], message: str, field: list[str]
) -> None:
    assert parameter_error(check_verified_outputs, data) == (message, field)


def test_a_live_frontends_data_is_checked_but_nothing_is_filled_in() -> None:
    # when
    result = check_collected_person(
        {"first_name": "Ada", "last_name": None, "address": {"city": "London", "country": "GB"}}
    )
    # then
    assert result == {
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


def test_a_live_frontends_data_may_be_empty() -> None:
    assert check_collected_person(None) == {}
    assert check_collected_person({}) == {}


def test_a_live_frontends_malformed_data_is_refused_with_its_path() -> None:
    assert parameter_error(check_collected_person, {"sex": "[redacted]"}) == (
        "sex must be FEMALE, MALE or UNKNOWN.",
        ["verified_outputs", "sex"],
    )


# --- reports ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session_type", "options", "checks"),
    [
        ("document", {}, ["document"]),
        ("document", {"document": {"require_matching_selfie": True}}, ["document", "selfie"]),
        (
            "document",
            {"document": {"require_id_number": True, "require_matching_selfie": True}},
            ["document", "selfie", "id_number"],
        ),
        ("id_number", {}, ["id_number"]),
        (
            "document",
            {"email": {"require_verification": True}, "phone": {"require_verification": True}},
            ["document", "email", "phone"],
        ),
        ("id_number", {"phone": {"require_verification": False}}, ["id_number"]),
    ],
    ids=["document", "selfie", "selfie_and_id_number", "id_number", "email_and_phone", "phone_off"],
)
def test_a_report_has_the_checks_the_session_asks_for(
    session_type: str, options: dict[str, Any], checks: list[str]
) -> None:
    assert required_checks(session_type, options) == checks


def test_a_verified_attempt_verifies_every_check_with_the_data_it_read() -> None:
    # when
    checks = report_checks(
        session_type="document",
        options={
            "document": {"allowed_types": ["passport", "id_card"], "require_id_number": True},
            "email": {"require_verification": True},
        },
        person=TEST_PERSON,
        last_error_code=None,
        today=TODAY,
    )
    # then
    assert checks == {
        "document": {
            "status": "verified",
            "error": None,
            "first_name": "Jenny",
            "last_name": "Rosen",
            "dob": {"day": 1, "month": 1, "year": 1901},
            "address": TEST_PERSON["address"],
            "issuing_country": "US",
            "type": "passport",
            "number": "D1234567",
            "expiration_date": {"day": 31, "month": 1, "year": 2031},
            "issued_date": {"day": 31, "month": 1, "year": 2021},
        },
        "id_number": {
            "status": "verified",
            "error": None,
            "id_number_type": "us_ssn",
            "first_name": "Jenny",
            "last_name": "Rosen",
            "dob": {"day": 1, "month": 1, "year": 1901},
        },
        "email": {"status": "verified", "error": None, "email": "jenny.rosen@example.com"},
    }


def test_a_failure_marks_the_check_its_code_belongs_to() -> None:
    # when
    checks = report_checks(
        session_type="document",
        options={"document": {"require_matching_selfie": True}},
        person=TEST_PERSON,
        last_error_code="selfie_face_mismatch",
        today=TODAY,
    )
    # then
    assert checks["selfie"] == {"status": "unverified", "error": last_error("selfie_face_mismatch")}
    assert (checks["document"]["status"], checks["document"]["error"]) == ("verified", None)


@pytest.mark.parametrize("code", ["abandoned", "consent_declined", "device_not_supported"])
def test_a_user_who_never_got_through_leaves_every_check_unverified(code: str) -> None:
    # when
    checks = report_checks(
        session_type="document",
        options={"document": {"require_matching_selfie": True}},
        person=TEST_PERSON,
        last_error_code=code,
        today=TODAY,
    )
    # then
    assert [(name, check["status"], check["error"]) for name, check in checks.items()] == [
        ("document", "unverified", last_error(code)),
        ("selfie", "unverified", None),
    ]


def test_a_code_for_a_check_not_asked_for_lands_on_the_first_check() -> None:
    # when
    checks = report_checks(
        session_type="id_number",
        options={},
        person=TEST_PERSON,
        last_error_code="selfie_manipulated",
        today=TODAY,
    )
    # then
    assert list(checks) == ["id_number"]
    assert checks["id_number"]["error"] == last_error("selfie_manipulated")


def test_document_failures_land_on_the_id_number_check_of_an_id_number_session() -> None:
    checks = report_checks(
        session_type="id_number",
        options={},
        person=TEST_PERSON,
        last_error_code="document_expired",
        today=TODAY,
    )
    assert checks["id_number"]["status"] == "unverified"


def test_an_attempt_without_personal_data_reports_checks_that_read_nothing() -> None:
    checks = report_checks(
        session_type="id_number",
        options={"email": {"require_verification": True}},
        person={},
        last_error_code="id_number_mismatch",
        today=TODAY,
    )
    assert checks == {
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


def test_document_dates_from_a_leap_day_fall_on_the_28th() -> None:
    checks = report_checks(
        session_type="document",
        options={},
        person=TEST_PERSON,
        last_error_code=None,
        today=date(2024, 2, 29),
    )
    assert checks["document"]["expiration_date"] == {"day": 28, "month": 2, "year": 2029}
    assert checks["document"]["issued_date"] == {"day": 28, "month": 2, "year": 2019}


# --- redaction --------------------------------------------------------------------------------


def test_redacting_a_person_erases_every_personal_value() -> None:
    # given
    person = {
        **TEST_PERSON,
        "address": {**TEST_PERSON["address"], "line2": "Apt 4"},
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


def test_redacting_a_check_keeps_its_status_error_and_document_type() -> None:
    # given
    checks = report_checks(
        session_type="document",
        options={},
        person=TEST_PERSON,
        last_error_code="document_expired",
        today=TODAY,
    )
    # when
    redacted = redact_person(checks["document"])
    # then
    assert redacted == {
        "status": "unverified",
        "error": last_error("document_expired"),
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
    }


def test_redacting_nothing_is_nothing() -> None:
    assert redact_person(None) is None
    assert redact_person({}) == {}
    assert redact_person({"sex": None, "address": None}) == {"sex": None, "address": None}


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact_person(TEST_PERSON)
    assert redact_person(once) == once


# --- event payloads ---------------------------------------------------------------------------


def session_snapshot(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "vs_123",
        "created": datetime(2026, 1, 31, 12, 0, 0, 999999, tzinfo=UTC),
        "livemode": False,
        "status": "requires_input",
        "type": "document",
        "client_reference_id": "user-7",
        "last_error": None,
        "last_verification_report": None,
        "metadata": {"nickname": "Zeb"},
        "options": {},
        "provided_details": {"email": "zeb@example.com"},
        "redaction_status": None,
        "related_customer": None,
        "verification_flow": None,
    }
    return snapshot(**{**values, **overrides})


def test_a_snapshot_is_the_session_in_stripes_shape_without_credentials() -> None:
    assert session_snapshot() == {
        "id": "vs_123",
        "object": "identity.verification_session",
        "client_reference_id": "user-7",
        "created": 1769860800,
        "last_error": None,
        "last_verification_report": None,
        "livemode": False,
        "metadata": {"nickname": "Zeb"},
        "options": {},
        "provided_details": {"email": "zeb@example.com"},
        "redaction": None,
        "related_customer": None,
        "status": "requires_input",
        "type": "document",
        "verification_flow": None,
    }


def test_created_event_has_no_previous_attributes() -> None:
    after = session_snapshot()
    assert event_data(None, after) == {"object": after, "previous_attributes": {}}


def test_previous_attributes_hold_the_old_values_of_what_changed() -> None:
    # given
    before = session_snapshot(status="processing")
    after = session_snapshot(
        status="requires_input",
        last_error=last_error("abandoned"),
        last_verification_report="vr_1",
    )
    # when
    data = event_data(before, after)
    # then
    assert data["previous_attributes"] == {
        "status": "processing",
        "last_error": None,
        "last_verification_report": None,
    }


def test_redacting_an_event_erases_metadata_and_provided_details_everywhere() -> None:
    # given
    before = session_snapshot(status="requires_input")
    after = session_snapshot(
        status="canceled", metadata={"nickname": "Zebby"}, provided_details={"phone": "+4912345"}
    )
    data = event_data(before, after)
    # when
    redacted = redact_event_data(data)
    # then
    assert redacted["object"]["metadata"] == {}
    assert redacted["object"]["provided_details"] == {"phone": REDACTED}
    assert redacted["previous_attributes"] == {
        "status": "requires_input",
        "metadata": {},
        "provided_details": {"email": REDACTED},
    }
    for value in ("Zeb", "zeb@example.com", "+4912345"):
        assert value not in repr(redacted)
    assert redacted["object"]["status"] == "canceled"
    assert redacted["object"]["client_reference_id"] == "user-7"


def test_redacting_an_event_without_personal_data_changes_nothing() -> None:
    data = event_data(
        session_snapshot(status="processing", metadata={}, provided_details=None),
        session_snapshot(status="verified", metadata={}, provided_details=None),
    )
    assert redact_event_data(data) == data
