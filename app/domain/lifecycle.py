"""The verification lifecycle: which status allows which operation, and what each one changes.

    requires_input --submit--> processing --verified--> verified
          ^                        |
          +------requires_input----+            (last_error set, fresh credentials)
    requires_input --cancel--> canceled
    requires_input | verified | canceled --redact--> redaction processing --> redacted

Each status change records an event. Nothing here touches the database.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from app.domain.errors import InvalidParameter, InvalidState
from app.domain.sessions import LastErrorCode, Status, refuse_status

EVENT_PREFIX = "identity.verification_session."


class EventType(StrEnum):
    CREATED = EVENT_PREFIX + "created"
    PROCESSING = EVENT_PREFIX + "processing"
    VERIFIED = EVENT_PREFIX + "verified"
    REQUIRES_INPUT = EVENT_PREFIX + "requires_input"
    CANCELED = EVENT_PREFIX + "canceled"
    REDACTED = EVENT_PREFIX + "redacted"


# How many event types one events filter may name (Stripe's limit for `types`).
MAX_EVENT_TYPES = 20

STATUS_EVENTS = {
    Status.PROCESSING: EventType.PROCESSING,
    Status.VERIFIED: EventType.VERIFIED,
    Status.REQUIRES_INPUT: EventType.REQUIRES_INPUT,
    Status.CANCELED: EventType.CANCELED,
}

# A reason for each failure code, written for the developer reading last_error.
FAILURE_REASONS: dict[LastErrorCode, str] = {
    LastErrorCode.ABANDONED: "The user abandoned the verification.",
    LastErrorCode.CONSENT_DECLINED: "The user declined to give consent.",
    LastErrorCode.COUNTRY_NOT_SUPPORTED: "The document's issuing country is not supported.",
    LastErrorCode.DEVICE_NOT_SUPPORTED: "The user's device cannot capture the document or selfie.",
    LastErrorCode.DOCUMENT_EXPIRED: "The provided identity document has expired.",
    LastErrorCode.DOCUMENT_TYPE_NOT_SUPPORTED: "The provided document type is not allowed.",
    LastErrorCode.DOCUMENT_UNVERIFIED_OTHER: "The provided identity document could not be verified.",
    LastErrorCode.EMAIL_UNVERIFIED_OTHER: "The email address could not be verified.",
    LastErrorCode.EMAIL_VERIFICATION_DECLINED: "The user declined to verify their email address.",
    LastErrorCode.ID_NUMBER_INSUFFICIENT_DOCUMENT_DATA: "The document lacks the data to check the ID number.",
    LastErrorCode.ID_NUMBER_MISMATCH: "The ID number does not match the user's other details.",
    LastErrorCode.ID_NUMBER_UNVERIFIED_OTHER: "The ID number could not be verified.",
    LastErrorCode.PHONE_UNVERIFIED_OTHER: "The phone number could not be verified.",
    LastErrorCode.PHONE_VERIFICATION_DECLINED: "The user declined to verify their phone number.",
    LastErrorCode.SELFIE_DOCUMENT_MISSING_PHOTO: "The document has no photo to match the selfie against.",
    LastErrorCode.SELFIE_FACE_MISMATCH: "The selfie does not match the document's photo.",
    LastErrorCode.SELFIE_MANIPULATED: "The selfie appears to have been manipulated.",
    LastErrorCode.SELFIE_UNVERIFIED_OTHER: "The selfie could not be verified.",
    LastErrorCode.UNDER_SUPPORTED_AGE: "The user is under the minimum supported age.",
}


def check_cancel(status: str) -> bool:
    """True when the cancel changes the session, False for an already canceled one (a no-op).

    Raises:
        InvalidState: any status other than requires_input or canceled.
    """
    if status == Status.CANCELED:
        return False
    if status != Status.REQUIRES_INPUT:
        raise refuse_status("cancel", "canceled", status, '"requires_input"')
    return True


def check_redact(status: str, redaction_status: str | None) -> bool:
    """True when redaction starts now, False when it was already requested (a no-op).

    Raises:
        InvalidState: the session is processing.
    """
    if redaction_status is not None:
        return False
    if status == Status.PROCESSING:
        raise refuse_status(
            "redact", "redacted", status, '"requires_input", "verified" or "canceled"'
        )
    return True


def check_submit(status: str, redaction_status: str | None) -> None:
    if redaction_status is not None:
        raise InvalidState(
            "You cannot submit this VerificationSession because it has been redacted."
        )
    if status != Status.REQUIRES_INPUT:
        raise refuse_status("submit", "submitted", status, '"requires_input"')


def check_simulate(status: str, redaction_status: str | None) -> None:
    if redaction_status is not None:
        raise InvalidState(
            "You cannot simulate this VerificationSession because it has been redacted."
        )
    if status not in (Status.REQUIRES_INPUT, Status.PROCESSING):
        raise refuse_status("simulate", "simulated", status, '"requires_input" or "processing"')


def check_outcome(outcome: str, last_error_code: str | None) -> None:
    """An attempt's outcome: verified (no error code) or requires_input (with one)."""
    if last_error_code is not None and last_error_code not in LastErrorCode.__members__.values():
        raise InvalidParameter(
            f"Unknown last_error_code {last_error_code!r}.", field=["last_error_code"]
        )
    if outcome == Status.REQUIRES_INPUT:
        if last_error_code is None:
            raise InvalidParameter(
                "last_error_code is required when the outcome is REQUIRES_INPUT.",
                field=["last_error_code"],
            )
    elif outcome in (Status.VERIFIED, Status.PROCESSING):
        if last_error_code is not None:
            raise InvalidParameter(
                "last_error_code can only be given when the outcome is REQUIRES_INPUT.",
                field=["last_error_code"],
            )
    else:
        raise InvalidParameter(f"Unknown outcome {outcome!r}.", field=["outcome"])


def last_error(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "reason": FAILURE_REASONS.get(LastErrorCode(code), "Verification failed."),
    }
