"""Lifecycle rules (app.domain.lifecycle), without a database: which status allows which
operation, which outcome a tester may choose with which last-error code, each code's reason, and
the event type of each status change.

What an attempt reads and reports is in test_verification_rules.py, event payloads in
test_event_payloads.py."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.errors import InvalidParameter, InvalidState
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
