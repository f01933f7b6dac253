"""GraphQL enums. Each registers the domain's enum with Strawberry, so GraphQL names are the
UPPER_CASE member names and values are Stripe's lowercase strings; the aliases let resolvers and
type hints use the GraphQL names."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeAlias, TypeVar

import strawberry
from strawberry.types.enum import has_enum_definition

from app.domain import sessions

E = TypeVar("E", bound=Enum)


def describe_values(enum: type[E], descriptions: Mapping[E, str]) -> None:
    """Give every GraphQL value of `enum`, already registered with `strawberry.enum`, its
    description. The domain's enums are StrEnums, which cannot hold `strawberry.enum_value`, so
    the descriptions are set on the registered definition; a member without one fails at import.
    """
    missing = [member.name for member in enum if member not in descriptions]
    if missing:
        raise ValueError(f"{enum.__name__}: no description for {', '.join(missing)}")
    by_value = {member.value: text for member, text in descriptions.items()}
    if not has_enum_definition(enum):
        raise TypeError(f"{enum.__name__} is not registered with strawberry.enum")
    definition = enum.__strawberry_definition__
    for value in definition.values:
        value.description = by_value[value.value]


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
strawberry.enum(
    sessions.MatchingPolicy,
    name="MatchingPolicy",
    description="How strictly the name or date of birth read from the document must match (Stripe's `options.matching`).",
)

describe_values(
    sessions.Status,
    {
        sessions.Status.REQUIRES_INPUT: "Waiting for the user to submit, or to try again after a failed attempt (see `lastError`).",
        sessions.Status.PROCESSING: "Submitted; the checks are running.",
        sessions.Status.VERIFIED: "Every check passed. Final.",
        sessions.Status.CANCELED: "Canceled before it was verified. Final.",
    },
)
describe_values(
    sessions.SessionType,
    {
        sessions.SessionType.DOCUMENT: "An identity document, optionally with a selfie and an ID number.",
        sessions.SessionType.ID_NUMBER: "An ID number alone, checked with the person's name and date of birth.",
        sessions.SessionType.VERIFICATION_FLOW: "Checks configured by a verification flow; set by the gateway, never accepted as input.",
    },
)
describe_values(
    sessions.LastErrorCode,
    {
        sessions.LastErrorCode.ABANDONED: "The user left the verification without finishing it.",
        sessions.LastErrorCode.CONSENT_DECLINED: "The user declined to be verified.",
        sessions.LastErrorCode.COUNTRY_NOT_SUPPORTED: "The document's issuing country is not supported.",
        sessions.LastErrorCode.DEVICE_NOT_SUPPORTED: "The user's device cannot capture what the check needs (a camera, for instance).",
        sessions.LastErrorCode.DOCUMENT_EXPIRED: "The document has expired.",
        sessions.LastErrorCode.DOCUMENT_TYPE_NOT_SUPPORTED: "The document is not one of the session's allowed types.",
        sessions.LastErrorCode.DOCUMENT_UNVERIFIED_OTHER: "The document could not be verified, for another reason.",
        sessions.LastErrorCode.EMAIL_UNVERIFIED_OTHER: "The email address could not be verified, for another reason.",
        sessions.LastErrorCode.EMAIL_VERIFICATION_DECLINED: "The user declined to verify the email address.",
        sessions.LastErrorCode.ID_NUMBER_INSUFFICIENT_DOCUMENT_DATA: "The document lacks the data needed to check the ID number.",
        sessions.LastErrorCode.ID_NUMBER_MISMATCH: "The ID number does not match the name and date of birth given.",
        sessions.LastErrorCode.ID_NUMBER_UNVERIFIED_OTHER: "The ID number could not be verified, for another reason.",
        sessions.LastErrorCode.PHONE_UNVERIFIED_OTHER: "The phone number could not be verified, for another reason.",
        sessions.LastErrorCode.PHONE_VERIFICATION_DECLINED: "The user declined to verify the phone number.",
        sessions.LastErrorCode.SELFIE_DOCUMENT_MISSING_PHOTO: "The document has no photo of a face to match the selfie against.",
        sessions.LastErrorCode.SELFIE_FACE_MISMATCH: "The selfie does not match the face on the document.",
        sessions.LastErrorCode.SELFIE_MANIPULATED: "The selfie appears to have been manipulated.",
        sessions.LastErrorCode.SELFIE_UNVERIFIED_OTHER: "The selfie could not be verified, for another reason.",
        sessions.LastErrorCode.UNDER_SUPPORTED_AGE: "The person is younger than the supported age.",
    },
)
describe_values(
    sessions.DocumentType,
    {
        sessions.DocumentType.DRIVING_LICENSE: "A driving licence.",
        sessions.DocumentType.ID_CARD: "A national identity card.",
        sessions.DocumentType.PASSPORT: "A passport.",
    },
)
describe_values(
    sessions.RedactionStatus,
    {
        sessions.RedactionStatus.PROCESSING: "Redaction was requested; the personal data is being erased.",
        sessions.RedactionStatus.REDACTED: "The personal data is gone.",
    },
)
describe_values(
    sessions.IdNumberType,
    {
        sessions.IdNumberType.BR_CPF: "A Brazilian CPF (Cadastro de Pessoas Físicas) number.",
        sessions.IdNumberType.SG_NRIC: "A Singapore NRIC (National Registration Identity Card) number.",
        sessions.IdNumberType.US_SSN: "A US Social Security number.",
    },
)
describe_values(
    sessions.Sex,
    {
        sessions.Sex.FEMALE: "Female.",
        sessions.Sex.MALE: "Male.",
        sessions.Sex.UNKNOWN: "Not stated on the document, or not readable.",
        sessions.Sex.REDACTED: "Erased with the rest of the session's personal data.",
    },
)

describe_values(
    sessions.MatchingPolicy,
    {
        sessions.MatchingPolicy.NONE: "No matching is required.",
        sessions.MatchingPolicy.SIMILAR: "The values must be similar, not necessarily identical.",
    },
)

VerificationSessionStatus: TypeAlias = sessions.Status
VerificationSessionType: TypeAlias = sessions.SessionType
VerificationSessionErrorCode: TypeAlias = sessions.LastErrorCode
DocumentType: TypeAlias = sessions.DocumentType
RedactionStatus: TypeAlias = sessions.RedactionStatus
IdNumberType: TypeAlias = sessions.IdNumberType
Sex: TypeAlias = sessions.Sex
MatchingPolicy: TypeAlias = sessions.MatchingPolicy
