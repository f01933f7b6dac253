"""GraphQL enums. Each wraps the domain's enum, so GraphQL names are the UPPER_CASE member names
and values are Stripe's lowercase strings."""

from __future__ import annotations

import strawberry

from app.domain import sessions

VerificationSessionStatus = strawberry.enum(
    sessions.Status,
    name="VerificationSessionStatus",
    description=(
        "Where a session is in its lifecycle: REQUIRES_INPUT (waiting for the user), PROCESSING "
        "(submitted, checks running), VERIFIED (all checks passed; final), CANCELED (final)."
    ),
)
VerificationSessionType = strawberry.enum(
    sessions.SessionType,
    name="VerificationSessionType",
    description=(
        "The check a session performs: DOCUMENT (an identity document, optionally with a selfie "
        "and ID number), ID_NUMBER (an ID number alone) or VERIFICATION_FLOW (configured by a "
        "verification flow; set by the gateway, never accepted as input)."
    ),
)
VerificationSessionErrorCode = strawberry.enum(
    sessions.LastErrorCode,
    name="VerificationSessionErrorCode",
    description=(
        "Why the last verification attempt failed. New codes may be added: clients must "
        "tolerate values they do not know."
    ),
)
DocumentType = strawberry.enum(
    sessions.DocumentType, name="DocumentType", description="A kind of identity document."
)
RedactionStatus = strawberry.enum(
    sessions.RedactionStatus,
    name="RedactionStatus",
    description="PROCESSING while personal data is being erased, REDACTED once it is gone.",
)
IdNumberType = strawberry.enum(
    sessions.IdNumberType,
    name="IdNumberType",
    description="The kind of ID number: Brazilian CPF, Singapore NRIC or US Social Security number.",
)
Sex = strawberry.enum(
    sessions.Sex,
    name="Sex",
    description="Sex as read from the document; REDACTED once the session is redacted.",
)
