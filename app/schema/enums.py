"""GraphQL enums. Each registers the domain's enum with Strawberry, so GraphQL names are the
UPPER_CASE member names and values are Stripe's lowercase strings; the aliases let resolvers and
type hints use the GraphQL names."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from app.domain import sessions

strawberry.enum(
    sessions.Status,
    name="VerificationSessionStatus",
    description=(
        "Where a session is in its lifecycle: REQUIRES_INPUT (waiting for the user), PROCESSING "
        "(submitted, checks running), VERIFIED (all checks passed; final), CANCELED (final)."
    ),
)
strawberry.enum(
    sessions.SessionType,
    name="VerificationSessionType",
    description=(
        "The check a session performs: DOCUMENT (an identity document, optionally with a selfie "
        "and ID number), ID_NUMBER (an ID number alone) or VERIFICATION_FLOW (configured by a "
        "verification flow; set by the gateway, never accepted as input)."
    ),
)
strawberry.enum(
    sessions.LastErrorCode,
    name="VerificationSessionErrorCode",
    description=(
        "Why the last verification attempt failed. New codes may be added: clients must "
        "tolerate values they do not know."
    ),
)
strawberry.enum(
    sessions.DocumentType, name="DocumentType", description="A kind of identity document."
)
strawberry.enum(
    sessions.RedactionStatus,
    name="RedactionStatus",
    description="PROCESSING while personal data is being erased, REDACTED once it is gone.",
)
strawberry.enum(
    sessions.IdNumberType,
    name="IdNumberType",
    description="The kind of ID number: Brazilian CPF, Singapore NRIC or US Social Security number.",
)
strawberry.enum(
    sessions.Sex,
    name="Sex",
    description="Sex as read from the document; REDACTED once the session is redacted.",
)

VerificationSessionStatus: TypeAlias = sessions.Status
VerificationSessionType: TypeAlias = sessions.SessionType
VerificationSessionErrorCode: TypeAlias = sessions.LastErrorCode
DocumentType: TypeAlias = sessions.DocumentType
RedactionStatus: TypeAlias = sessions.RedactionStatus
IdNumberType: TypeAlias = sessions.IdNumberType
Sex: TypeAlias = sessions.Sex
