"""Input types of the mutations and filters."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from app.domain.lifecycle import MAX_EVENT_TYPES
from app.domain.sessions import KEEP
from app.schema.enums import (
    DocumentType,
    IdNumberType,
    Sex,
    VerificationSessionErrorCode,
    VerificationSessionStatus,
    VerificationSessionType,
    describe_values,
)
from app.schema.scalars import Metadata


@strawberry.input(description="Options for the document check.")
class VerificationSessionDocumentOptionsInput:
    allowed_types: list[DocumentType] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Document types to accept, at least one; omit to accept all three.",
    )
    require_id_number: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Also collect an ID number and check it."
    )
    require_live_capture: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Accept only a live photo of the document."
    )
    require_matching_selfie: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Also capture a selfie and match it to the document."
    )


@strawberry.input(description="Options for the verification checks.")
class VerificationSessionOptionsInput:
    document: VerificationSessionDocumentOptionsInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Document check options. On update, a given value replaces the stored one whole; null clears it.",
    )


@strawberry.input(description="Details about the user being verified; may be shown to the user.")
class VerificationSessionProvidedDetailsInput:
    email: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An email address such as `jenny@example.com`, at most 5000 characters.",
    )
    phone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A phone number in E.164 format, such as `+14155550123` (7 to 15 digits).",
    )


@strawberry.input(
    description="The Connect person a session verifies: both ids, or omit the whole input."
)
class VerificationSessionRelatedPersonInput:
    account: str = strawberry.field(
        description="The connected account: `acct_` then letters and digits, such as `acct_123`; at most 5000 characters."
    )
    person: str = strawberry.field(
        description="The person: `person_` then letters and digits, such as `person_123`; at most 5000 characters. Not checked against `account` (the gateway keeps no Connect data)."
    )


@strawberry.input(description="Create a verification session.")
class CreateVerificationSessionInput:
    type: VerificationSessionType | None = strawberry.field(
        default=None,
        description="DOCUMENT or ID_NUMBER. Required unless `verificationFlow` is given; not both.",
    )
    verification_flow: str | None = strawberry.field(
        default=None,
        description="A verification flow (`vf_…`) whose type and options the session copies.",
    )
    client_reference_id: str | None = strawberry.field(
        default=None,
        description="Your own reference for the user (customer id, session id), at most 5000 characters.",
    )
    metadata: Metadata | None = strawberry.field(
        default=None,
        description="Key-value pairs to store: at most 50 keys of at most 40 characters (no `[` or `]`), values at most 500 characters. Keys with an empty value are dropped.",
    )
    options: VerificationSessionOptionsInput | None = strawberry.field(
        default=None, description="Options for the verification checks."
    )
    provided_details: VerificationSessionProvidedDetailsInput | None = strawberry.field(
        default=None, description="Details about the user, checked for shape."
    )
    related_customer: str | None = strawberry.field(
        default=None, description="A customer id such as `cus_123`, at most 5000 characters."
    )
    related_person: VerificationSessionRelatedPersonInput | None = strawberry.field(
        default=None,
        description="The Connect person (`person_…`) and account (`acct_…`) this session verifies; set on create only.",
    )
    return_url: str | None = strawberry.field(
        default=None,
        description="Absolute http(s) URL the hosted page links back to when the user is done, at most 5000 characters.",
    )


@strawberry.input(
    description="Update a session in REQUIRES_INPUT. Omitted fields stay as they are."
)
class UpdateVerificationSessionInput:
    id: strawberry.ID = strawberry.field(description="The session to update (`vs_…`).")
    metadata: Metadata | None = strawberry.field(
        default=strawberry.UNSET,
        description='Keys to merge into the stored metadata: a key set to `""` is removed, null removes every key. The result may hold at most 50 keys (key at most 40 characters, no `[` or `]`; value at most 500).',
    )
    options: VerificationSessionOptionsInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="A given `document` replaces the stored document options whole; null clears them.",
    )
    provided_details: VerificationSessionProvidedDetailsInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the stored details whole; null clears them.",
    )
    type: VerificationSessionType | None = strawberry.field(
        default=strawberry.UNSET, description="DOCUMENT or ID_NUMBER."
    )


@strawberry.input(description="Bounds on a timestamp; every given bound applies.")
class DateTimeFilter:
    gt: datetime | None = strawberry.field(default=None, description="Strictly after this moment.")
    gte: datetime | None = strawberry.field(default=None, description="At or after this moment.")
    lt: datetime | None = strawberry.field(default=None, description="Strictly before this moment.")
    lte: datetime | None = strawberry.field(default=None, description="At or before this moment.")


@strawberry.input(description="Narrow a list of sessions; every given condition applies.")
class VerificationSessionFilter:
    status: VerificationSessionStatus | None = strawberry.field(
        default=None, description="Only sessions with this status (one status)."
    )
    client_reference_id: str | None = strawberry.field(
        default=None, description="Only sessions with exactly this client reference id."
    )
    related_customer: str | None = strawberry.field(
        default=None, description="Only sessions for exactly this customer (`cus_…`)."
    )
    created: DateTimeFilter | None = strawberry.field(
        default=None, description="Only sessions created within these bounds."
    )


def options_value(options: VerificationSessionOptionsInput | None) -> Any:
    """The input in the domain's shape, holding only what the caller sent (KEEP if omitted)."""
    if options is strawberry.UNSET:
        return KEEP
    if options is None:
        return None
    if options.document is strawberry.UNSET:
        return {}
    document = options.document
    if document is None:
        return {"document": None}
    values = {
        "allowed_types": (
            [item.value for item in document.allowed_types]
            if isinstance(document.allowed_types, list)
            else None
        ),
        "require_id_number": document.require_id_number,
        "require_live_capture": document.require_live_capture,
        "require_matching_selfie": document.require_matching_selfie,
    }
    return {"document": {key: value for key, value in values.items() if _sent(value)}}


def related_person_value(
    person: VerificationSessionRelatedPersonInput | None,
) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"account": person.account, "person": person.person}


def provided_details_value(details: VerificationSessionProvidedDetailsInput | None) -> Any:
    if details is strawberry.UNSET:
        return KEEP
    if details is None:
        return None
    values = {"email": details.email, "phone": details.phone}
    return {key: value for key, value in values.items() if _sent(value)}


def keep_unset(value: Any) -> Any:
    """Strawberry's UNSET (field omitted) as the domain's KEEP; an enum as its value."""
    if value is strawberry.UNSET:
        return KEEP
    return value.value if isinstance(value, Enum) else value


def _sent(value: Any) -> bool:
    return value is not None and value is not strawberry.UNSET


@strawberry.input(description="Narrow a list of reports; every given condition applies.")
class VerificationReportFilter:
    verification_session: strawberry.ID | None = strawberry.field(
        default=None, description="Only reports of this session (`vs_…`)."
    )
    type: VerificationSessionType | None = strawberry.field(
        default=None, description="Only reports of this type."
    )
    created: DateTimeFilter | None = strawberry.field(
        default=None, description="Only reports created within these bounds."
    )


@strawberry.input(description="Narrow a list of events; every given condition applies.")
class EventFilter:
    types: list[str] | None = strawberry.field(
        default=None,
        description=f"Only events of these types, e.g. `identity.verification_session.verified`; 1 to {MAX_EVENT_TYPES} types (null or omitted: every type).",
    )
    verification_session: strawberry.ID | None = strawberry.field(
        default=None, description="Only events of this session (`vs_…`)."
    )
    created: DateTimeFilter | None = strawberry.field(
        default=None, description="Only events created within these bounds."
    )


def created_bounds(created: DateTimeFilter | None) -> dict[str, Any]:
    """A `created` filter as the store's keyword arguments."""
    if created is None:
        return {}
    return {
        "created_gt": created.gt,
        "created_gte": created.gte,
        "created_lt": created.lt,
        "created_lte": created.lte,
    }


@strawberry.input(description="A date of birth.")
class DobInput:
    day: int = strawberry.field(description="Day of month, 1 to 31.")
    month: int = strawberry.field(description="Month, 1 to 12.")
    year: int = strawberry.field(description="Four-digit year; the date cannot be in the future.")


@strawberry.input(description="A postal address.")
class AddressInput:
    line1: str | None = strawberry.field(
        default=None, description="Street, PO box or company; at most 5000 characters."
    )
    line2: str | None = strawberry.field(
        default=None, description="Apartment, suite or unit; at most 5000 characters."
    )
    city: str | None = strawberry.field(
        default=None, description="City or town; at most 5000 characters."
    )
    state: str | None = strawberry.field(
        default=None, description="State or region; at most 5000 characters."
    )
    postal_code: str | None = strawberry.field(
        default=None, description="ZIP or postal code; at most 5000 characters."
    )
    country: str | None = strawberry.field(
        default=None, description="Two-letter ISO 3166-1 code such as `US`."
    )


@strawberry.input(
    description=(
        "Test personal data for a simulated verification. Omitted fields take Stripe's test "
        "person (Jenny Rosen). Strings are at most 5000 characters."
    )
)
class VerifiedOutputsInput:
    first_name: str | None = strawberry.field(default=None, description="First name.")
    last_name: str | None = strawberry.field(default=None, description="Last name.")
    dob: DobInput | None = strawberry.field(default=None, description="Date of birth.")
    address: AddressInput | None = strawberry.field(default=None, description="Address.")
    id_number_type: IdNumberType | None = strawberry.field(
        default=None, description="The kind of ID number."
    )
    id_number: str | None = strawberry.field(default=None, description="The ID number.")
    email: str | None = strawberry.field(default=None, description="Email address.")
    phone: str | None = strawberry.field(default=None, description="Phone number, E.164.")
    sex: Sex | None = strawberry.field(
        default=None, description="FEMALE, MALE or UNKNOWN (REDACTED is refused)."
    )
    unparsed_place_of_birth: str | None = strawberry.field(
        default=None, description="Place of birth as printed."
    )
    unparsed_sex: str | None = strawberry.field(default=None, description="Sex as printed.")


def verified_outputs_value(value: VerifiedOutputsInput | None) -> dict[str, Any] | None:
    """The input in the domain's shape (Stripe's verified_outputs keys), without omitted fields."""
    if value is None:
        return None
    data: dict[str, Any] = strawberry.asdict(value)
    return {key: keep_unset(item) for key, item in data.items() if item is not None}


@strawberry.enum(description="How a submitted verification ends.")
class VerificationOutcome(Enum):
    VERIFIED = "verified"
    REQUIRES_INPUT = "requires_input"


describe_values(
    VerificationOutcome,
    {
        VerificationOutcome.VERIFIED: "The checks pass and the session ends VERIFIED.",
        VerificationOutcome.REQUIRES_INPUT: "The attempt fails with `lastErrorCode` and the session goes back to REQUIRES_INPUT.",
    },
)


@strawberry.enum(description="Where a simulation leaves the session.")
class SimulatedOutcome(Enum):
    PROCESSING = "processing"
    VERIFIED = "verified"
    REQUIRES_INPUT = "requires_input"


describe_values(
    SimulatedOutcome,
    {
        SimulatedOutcome.PROCESSING: "The session is submitted and stays PROCESSING.",
        SimulatedOutcome.VERIFIED: "The session passes through PROCESSING and ends VERIFIED.",
        SimulatedOutcome.REQUIRES_INPUT: "The session passes through PROCESSING and fails with `lastErrorCode`, back in REQUIRES_INPUT.",
    },
)


@strawberry.input(description="Cancel a session in REQUIRES_INPUT.")
class CancelVerificationSessionInput:
    id: strawberry.ID = strawberry.field(description="The session to cancel (`vs_…`).")


@strawberry.input(description="Redact a session's personal data.")
class RedactVerificationSessionInput:
    id: strawberry.ID = strawberry.field(description="The session to redact (`vs_…`).")


@strawberry.input(description="Submit a session for verification, as the hosted page does.")
class SubmitVerificationSessionInput:
    id: strawberry.ID = strawberry.field(description="The session to submit (`vs_…`).")
    outcome: VerificationOutcome = strawberry.field(
        default=VerificationOutcome.VERIFIED,
        description="Test mode: how the attempt ends (default VERIFIED). Refused in live mode, where the verifier decides.",
    )
    last_error_code: VerificationSessionErrorCode | None = strawberry.field(
        default=None,
        description="Test mode: why the attempt fails; required with REQUIRES_INPUT (ABANDONED and CONSENT_DECLINED included), refused otherwise.",
    )
    verified_outputs: VerifiedOutputsInput | None = strawberry.field(
        default=None,
        description="The person's data: test data in test mode, what the frontend collected in live mode.",
    )


@strawberry.input(description="Move a test-mode session as Stripe's test helpers do.")
class SimulateVerificationSessionInput:
    id: strawberry.ID = strawberry.field(
        description="The session (`vs_…`), in REQUIRES_INPUT or PROCESSING."
    )
    outcome: SimulatedOutcome = strawberry.field(
        description="PROCESSING stays there; VERIFIED or REQUIRES_INPUT pass through PROCESSING and finish at once."
    )
    last_error_code: VerificationSessionErrorCode | None = strawberry.field(
        default=None, description="Required with REQUIRES_INPUT, refused otherwise."
    )
    verified_outputs: VerifiedOutputsInput | None = strawberry.field(
        default=None, description="Test personal data; omitted fields take the test person's."
    )
