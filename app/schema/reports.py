"""VerificationReport: the result of one verification attempt, check by check."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from app.domain import sessions
from app.schema.context import Context
from app.schema.enums import (
    DocumentType,
    IdNumberType,
    Sex,
    VerificationSessionErrorCode,
    VerificationSessionType,
    describe_values,
)
from app.schema.types import (
    Node,
    VerificationSession,
    VerificationSessionAddress,
    VerificationSessionDob,
    VerificationSessionOptions,
    options_from_stored,
)


@strawberry.enum(description="The result of one check.")
class VerificationReportCheckStatus(Enum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


describe_values(
    VerificationReportCheckStatus,
    {
        VerificationReportCheckStatus.VERIFIED: "The check passed.",
        VerificationReportCheckStatus.UNVERIFIED: "The check did not pass; `error` says why.",
    },
)


@strawberry.type(description="Why a check did not verify.")
class VerificationReportCheckError:
    code: VerificationSessionErrorCode | None = strawberry.field(
        description="The failure's code; null for a code this version does not know."
    )
    reason: str | None = strawberry.field(
        description="A message for the developer, not the end user."
    )


@strawberry.type(description="A calendar date as printed on a document.")
class VerificationReportDate:
    day: int | None = strawberry.field(description="Day of month, 1 to 31.")
    month: int | None = strawberry.field(description="Month, 1 to 12.")
    year: int | None = strawberry.field(description="Four-digit year.")


@strawberry.type(description="The identity document check and the data it read.")
class VerificationReportDocument:
    status: VerificationReportCheckStatus = strawberry.field(description="VERIFIED or UNVERIFIED.")
    error: VerificationReportCheckError | None = strawberry.field(
        description="Why it did not verify."
    )
    first_name: str | None = strawberry.field(description="First name on the document.")
    last_name: str | None = strawberry.field(description="Last name on the document.")
    dob: VerificationSessionDob | None = strawberry.field(
        description="Date of birth on the document."
    )
    address: VerificationSessionAddress | None = strawberry.field(
        description="Address on the document."
    )
    issuing_country: str | None = strawberry.field(
        description="Two-letter code of the issuing country."
    )
    type: DocumentType | None = strawberry.field(description="The kind of document.")
    number: str | None = strawberry.field(description="The document's number.")
    expiration_date: VerificationReportDate | None = strawberry.field(
        description="When the document expires."
    )
    issued_date: VerificationReportDate | None = strawberry.field(
        description="When the document was issued."
    )
    files: list[str] | None = strawberry.field(
        description="Ids of the files holding the document's images; null when no image was kept (the gateway keeps none)."
    )
    sex: Sex | None = strawberry.field(
        description="Sex on the document: FEMALE, MALE or UNKNOWN, REDACTED once redacted; null when the document has none."
    )
    unparsed_place_of_birth: str | None = strawberry.field(
        description="Place of birth as printed on the document, at most 5000 characters; null when it has none."
    )
    unparsed_sex: str | None = strawberry.field(
        description="Sex as printed on the document, at most 5000 characters; null when it has none."
    )


@strawberry.type(description="The ID number check and the data it read.")
class VerificationReportIdNumber:
    status: VerificationReportCheckStatus = strawberry.field(description="VERIFIED or UNVERIFIED.")
    error: VerificationReportCheckError | None = strawberry.field(
        description="Why it did not verify."
    )
    id_number_type: IdNumberType | None = strawberry.field(description="The kind of ID number.")
    first_name: str | None = strawberry.field(description="First name checked with the number.")
    last_name: str | None = strawberry.field(description="Last name checked with the number.")
    dob: VerificationSessionDob | None = strawberry.field(
        description="Date of birth checked with the number."
    )


@strawberry.type(description="The selfie check: the face matched against the document's photo.")
class VerificationReportSelfie:
    status: VerificationReportCheckStatus = strawberry.field(description="VERIFIED or UNVERIFIED.")
    error: VerificationReportCheckError | None = strawberry.field(
        description="Why it did not verify."
    )


@strawberry.type(description="The email check.")
class VerificationReportEmail:
    status: VerificationReportCheckStatus = strawberry.field(description="VERIFIED or UNVERIFIED.")
    error: VerificationReportCheckError | None = strawberry.field(
        description="Why it did not verify."
    )
    email: str | None = strawberry.field(description="The email address checked.")


@strawberry.type(description="The phone check.")
class VerificationReportPhone:
    status: VerificationReportCheckStatus = strawberry.field(description="VERIFIED or UNVERIFIED.")
    error: VerificationReportCheckError | None = strawberry.field(
        description="Why it did not verify."
    )
    phone: str | None = strawberry.field(description="The phone number checked, E.164.")


@strawberry.type(
    description=(
        "The result of one verification attempt (`vr_…`). Which checks it carries follows the "
        "session: `document` for document sessions (with `selfie` and `idNumber` when required), "
        "`idNumber` for ID-number sessions, `email` and `phone` when their verification is required."
    )
)
class VerificationReport(Node):
    object: str = strawberry.field(description="Always `identity.verification_report`.")
    created: datetime = strawberry.field(
        description="When the attempt finished (UTC, microseconds)."
    )
    livemode: bool = strawberry.field(description="True in live mode, false in test mode.")
    type: VerificationSessionType = strawberry.field(
        description="The type of the session's checks."
    )
    client_reference_id: str | None = strawberry.field(
        description="The session's client reference id."
    )
    verification_flow: str | None = strawberry.field(
        description="The verification flow (`vf_…`) the session was made from; null when none."
    )
    options: VerificationSessionOptions = strawberry.field(
        description="The options the checks ran with."
    )
    document: VerificationReportDocument | None = strawberry.field(
        description="The document check."
    )
    id_number: VerificationReportIdNumber | None = strawberry.field(
        description="The ID number check."
    )
    selfie: VerificationReportSelfie | None = strawberry.field(description="The selfie check.")
    email: VerificationReportEmail | None = strawberry.field(description="The email check.")
    phone: VerificationReportPhone | None = strawberry.field(description="The phone check.")
    session_id: strawberry.Private[str]

    @strawberry.field(description="The session this report belongs to.")
    async def verification_session(self, info: Info[Context, None]) -> VerificationSession | None:
        return await VerificationSession.load(info.context, self.session_id)

    @classmethod
    def from_row(cls, row: Any) -> VerificationReport:
        return cls(
            id=strawberry.ID(row.id),
            object="identity.verification_report",
            created=row.created,
            livemode=row.livemode,
            type=sessions.SessionType(row.type),
            client_reference_id=row.client_reference_id,
            verification_flow=row.verification_flow,
            options=options_from_stored(row.options),
            document=_document(row.document),
            id_number=_id_number(row.id_number),
            selfie=_check(VerificationReportSelfie, row.selfie),
            email=_check(VerificationReportEmail, row.email, "email"),
            phone=_check(VerificationReportPhone, row.phone, "phone"),
            session_id=row.session_id,
        )


def _status(value: dict[str, Any]) -> VerificationReportCheckStatus:
    return VerificationReportCheckStatus(value["status"])


def _error(value: dict[str, Any]) -> VerificationReportCheckError | None:
    error = value.get("error")
    if error is None:
        return None
    code = error.get("code")
    known = code if code in sessions.LastErrorCode.__members__.values() else None
    return VerificationReportCheckError(
        code=sessions.LastErrorCode(known) if known is not None else None,
        reason=error.get("reason"),
    )


def _date(value: dict[str, Any] | None) -> VerificationReportDate | None:
    return VerificationReportDate(**value) if value is not None else None


def _dob(value: dict[str, Any] | None) -> VerificationSessionDob | None:
    return VerificationSessionDob(**value) if value is not None else None


def _address(value: dict[str, Any] | None) -> VerificationSessionAddress | None:
    return VerificationSessionAddress(**value) if value is not None else None


def _document(value: dict[str, Any] | None) -> VerificationReportDocument | None:
    if value is None:
        return None
    return VerificationReportDocument(
        status=_status(value),
        error=_error(value),
        first_name=value.get("first_name"),
        last_name=value.get("last_name"),
        dob=_dob(value.get("dob")),
        address=_address(value.get("address")),
        issuing_country=value.get("issuing_country"),
        type=sessions.DocumentType(value["type"]) if value.get("type") else None,
        number=value.get("number"),
        expiration_date=_date(value.get("expiration_date")),
        issued_date=_date(value.get("issued_date")),
        files=value.get("files"),
        sex=sessions.Sex(value["sex"]) if value.get("sex") else None,
        unparsed_place_of_birth=value.get("unparsed_place_of_birth"),
        unparsed_sex=value.get("unparsed_sex"),
    )


def _id_number(value: dict[str, Any] | None) -> VerificationReportIdNumber | None:
    if value is None:
        return None
    return VerificationReportIdNumber(
        status=_status(value),
        error=_error(value),
        id_number_type=sessions.IdNumberType(value["id_number_type"])
        if value.get("id_number_type")
        else None,
        first_name=value.get("first_name"),
        last_name=value.get("last_name"),
        dob=_dob(value.get("dob")),
    )


def _check(cls: Any, value: dict[str, Any] | None, data_key: str | None = None) -> Any:
    if value is None:
        return None
    extra = {data_key: value.get(data_key)} if data_key else {}
    return cls(status=_status(value), error=_error(value), **extra)
