"""Object types of the schema, mapped from stored rows. Resolvers here only read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from app.domain import sessions
from app.domain.sessions import hosted_url
from app.schema.context import Context
from app.schema.enums import (
    DocumentType,
    IdNumberType,
    MatchingPolicy,
    RedactionStatus,
    Sex,
    VerificationSessionErrorCode,
    VerificationSessionStatus,
    VerificationSessionType,
)
from app.schema.loaders import report_loader, session_loader
from app.schema.permissions import NotWithClientSecret
from app.schema.scalars import Metadata

_new = object.__new__

if TYPE_CHECKING:
    from app.schema.reports import VerificationReport


@strawberry.interface(description="An object with a globally unique, Stripe-style ID.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's ID: a type prefix such as `vs_`, then 24 base-62 characters."
    )


@strawberry.type(description="Why the last verification attempt failed.")
class VerificationSessionLastError:
    code: VerificationSessionErrorCode | None = strawberry.field(
        description="A short code for the failure; null when the reason has no code."
    )
    reason: str | None = strawberry.field(
        description="A message for the developer, at most 5000 characters. Not for end users."
    )


@strawberry.type(description="Options for the document check.")
class VerificationSessionDocumentOptions:
    allowed_types: list[DocumentType] | None = strawberry.field(
        description="The document types accepted, at least one; null means all three."
    )
    require_id_number: bool | None = strawberry.field(
        description="Also collect an ID number and check it against the document."
    )
    require_live_capture: bool | None = strawberry.field(
        description="Accept only a document photographed live, not an uploaded file."
    )
    require_matching_selfie: bool | None = strawberry.field(
        description="Also capture a selfie and match it against the document's photo."
    )


@strawberry.type(description="Options for the email or phone check (set by a verification flow).")
class VerificationSessionContactOptions:
    require_verification: bool | None = strawberry.field(
        description="Whether the user must prove they control the address or number."
    )


@strawberry.type(
    description="How strictly the document's data must match (set by a verification flow)."
)
class VerificationSessionMatchingOptions:
    dob: MatchingPolicy | None = strawberry.field(
        description="The date-of-birth matching policy, NONE or SIMILAR; null when not set."
    )
    name: MatchingPolicy | None = strawberry.field(
        description="The name matching policy, NONE or SIMILAR; null when not set."
    )


@strawberry.type(
    description=(
        "Options for the ID number check (set by a verification flow). Stripe's object has no "
        "settings yet; its presence is what it says."
    )
)
class VerificationSessionIdNumberOptions:
    requested: bool = strawberry.field(
        description="Always true: the options name the ID number check."
    )


@strawberry.type(description="A set of options for the session's verification checks.")
class VerificationSessionOptions:
    document: VerificationSessionDocumentOptions | None = strawberry.field(
        description="Document check options; null when none were given."
    )
    email: VerificationSessionContactOptions | None = strawberry.field(
        description="Email check options; output only, set by a verification flow."
    )
    id_number: VerificationSessionIdNumberOptions | None = strawberry.field(
        description="ID number check options; output only, set by a verification flow; null when it sets none."
    )
    matching: VerificationSessionMatchingOptions | None = strawberry.field(
        description="Matching policies; output only, set by a verification flow; null when it sets none."
    )
    phone: VerificationSessionContactOptions | None = strawberry.field(
        description="Phone check options; output only, set by a verification flow."
    )


@strawberry.type(
    description="The Connect person a session verifies, and the account it belongs to."
)
class VerificationSessionRelatedPerson:
    account: str = strawberry.field(description="The connected account (`acct_…`).")
    person: str = strawberry.field(description="The person (`person_…`) of that account.")


@strawberry.type(description="Details about the user being verified; may be shown to the user.")
class VerificationSessionProvidedDetails:
    email: str | None = strawberry.field(description="The user's email address.")
    phone: str | None = strawberry.field(description="The user's phone number, E.164.")


@strawberry.type(description="Redaction state of a session.")
class VerificationSessionRedaction:
    status: RedactionStatus = strawberry.field(
        description="PROCESSING while personal data is erased, REDACTED once done."
    )


@strawberry.type(description="A postal address.")
class VerificationSessionAddress:
    city: str | None = strawberry.field(description="City, district, suburb, town or village.")
    country: str | None = strawberry.field(
        description="Two-letter ISO 3166-1 alpha-2 country code."
    )
    line1: str | None = strawberry.field(description="Address line 1 (street, PO box or company).")
    line2: str | None = strawberry.field(description="Address line 2 (apartment, suite, unit).")
    postal_code: str | None = strawberry.field(description="ZIP or postal code.")
    state: str | None = strawberry.field(description="State, county, province or region.")


@strawberry.type(description="A date of birth.")
class VerificationSessionDob:
    day: int | None = strawberry.field(description="Day of month, 1 to 31.")
    month: int | None = strawberry.field(description="Month, 1 to 12.")
    year: int | None = strawberry.field(description="Four-digit year.")


@strawberry.type(description="The user's verified data; null until the session is verified.")
class VerificationSessionVerifiedOutputs:
    address: VerificationSessionAddress | None = strawberry.field(
        description="The verified address."
    )
    dob: VerificationSessionDob | None = strawberry.field(description="The verified date of birth.")
    email: str | None = strawberry.field(description="The verified email address.")
    first_name: str | None = strawberry.field(description="The verified first name.")
    last_name: str | None = strawberry.field(description="The verified last name.")
    id_number: str | None = strawberry.field(description="The verified ID number.")
    id_number_type: IdNumberType | None = strawberry.field(description="The kind of ID number.")
    phone: str | None = strawberry.field(description="The verified phone number, E.164.")
    sex: Sex | None = strawberry.field(description="The verified sex.")
    unparsed_place_of_birth: str | None = strawberry.field(
        description="Place of birth as printed on the document."
    )
    unparsed_sex: str | None = strawberry.field(description="Sex as printed on the document.")


@strawberry.type(
    description=(
        "A VerificationSession guides a user through verifying their identity (`vs_…`). It is "
        "created in REQUIRES_INPUT with a client secret and a hosted-page url, then submitted, "
        "processed and verified or sent back for more input."
    )
)
class VerificationSession(Node):
    object: str = strawberry.field(description="Always `identity.verification_session`.")
    client_reference_id: str | None = strawberry.field(
        permission_classes=[NotWithClientSecret],
        description="Your own reference for the user (customer id, session id), at most 5000 characters.",
    )
    created: datetime = strawberry.field(
        description="When the session was created (UTC, microseconds). Lists sort on it, newest first."
    )

    # Fields derived from the stored row are computed when a query selects them, not for every
    # session read: a page of 50 rows would otherwise build every nested object of all 50.
    @strawberry.field(description="Why the last attempt failed; null when none has failed.")
    def last_error(self) -> VerificationSessionLastError | None:
        return _last_error(self.row.last_error)

    livemode: bool = strawberry.field(
        description="True for sessions made with a live key, false for test mode."
    )
    metadata: Metadata = strawberry.field(
        permission_classes=[NotWithClientSecret],
        description="Your key-value pairs; `{}` when empty.",
    )

    @strawberry.field(description="Options for the verification checks.")
    def options(self) -> VerificationSessionOptions | None:
        return options_from_stored(self.row.options)

    @strawberry.field(
        permission_classes=[NotWithClientSecret], description="Details you provided about the user."
    )
    def provided_details(self) -> VerificationSessionProvidedDetails | None:
        details = self.row.provided_details
        if details is None:
            return None
        return VerificationSessionProvidedDetails(
            email=details.get("email"), phone=details.get("phone")
        )

    @strawberry.field(
        permission_classes=[NotWithClientSecret], description="Null until redaction is requested."
    )
    def redaction(self) -> VerificationSessionRedaction | None:
        status = self.row.redaction_status
        if not status:
            return None
        return VerificationSessionRedaction(status=sessions.RedactionStatus(status))

    @strawberry.field(
        permission_classes=[NotWithClientSecret],
        description="The customer (`cus_…`) this session verifies.",
    )
    def related_customer(self) -> str | None:
        return self.row.related_customer  # type: ignore[no-any-return]

    @strawberry.field(
        permission_classes=[NotWithClientSecret],
        description="The Connect person (`person_…`) and account (`acct_…`) this session verifies; null when not given.",
    )
    def related_person(self) -> VerificationSessionRelatedPerson | None:
        value = self.row.related_person
        if value is None:
            return None
        return VerificationSessionRelatedPerson(account=value["account"], person=value["person"])

    @strawberry.field(description="Lifecycle status.")
    def status(self) -> VerificationSessionStatus:
        return _STATUSES[self.row.status]

    @strawberry.field(description="The type of verification check.")
    def type(self) -> VerificationSessionType:
        return _TYPES[self.row.type]

    @strawberry.field(
        permission_classes=[NotWithClientSecret],
        description="The verification flow (`vf_…`) the session was made from, if any.",
    )
    def verification_flow(self) -> str | None:
        return self.row.verification_flow  # type: ignore[no-any-return]

    @strawberry.field(
        permission_classes=[NotWithClientSecret],
        description="The verified data; null until the session is verified.",
    )
    def verified_outputs(self) -> VerificationSessionVerifiedOutputs | None:
        return _verified_outputs(self.row.verified_outputs)

    # The stored session (an ORM row or a read's record: the same attributes, though a record
    # may hold only those the query needs; see `FIELD_ATTRIBUTES`).
    row: strawberry.Private[Any]
    public_base_url: strawberry.Private[str]

    @strawberry.field(
        description="The report of the latest attempt; null until a first attempt was made.",
        permission_classes=[NotWithClientSecret],
    )
    async def last_verification_report(
        self, info: Info[Context, None]
    ) -> Annotated[VerificationReport, strawberry.lazy("app.schema.reports")] | None:
        from app.schema.reports import VerificationReport

        report_id = self.row.last_verification_report
        if report_id is None:
            return None
        row = await report_loader(info.context).load(report_id)
        return VerificationReport.from_row(row) if row is not None else None

    @strawberry.field(
        permission_classes=[NotWithClientSecret],
        description=(
            "Short-lived secret (24 h, single use) that a frontend uses to submit this session. "
            "Never log it or put it in a URL. Null once the session leaves REQUIRES_INPUT, and "
            "always null for restricted keys."
        ),
    )
    def client_secret(self, info: Info[Context, None]) -> str | None:
        return None if info.context.may_see_secrets is False else self.row.client_secret

    @strawberry.field(
        description=(
            "Hosted page (48 h, single use) where the user submits their information. Null once "
            "the session leaves REQUIRES_INPUT, and always null for restricted keys."
        )
    )
    def url(self, info: Info[Context, None]) -> str | None:
        if info.context.may_see_secrets is False or not self.row.url_token:
            return None
        return hosted_url(public_base_url=self.public_base_url, url_token=self.row.url_token)

    @classmethod
    async def load(cls, context: Context, session_id: str) -> VerificationSession | None:
        """The session by id through the request's batch loader (one query per request)."""
        row = await session_loader(context).load(session_id)
        if row is None:
            return None
        return cls.from_row(row, public_base_url=context.settings.public_base_url)

    @classmethod
    def from_row(cls, row: Any, *, public_base_url: str) -> VerificationSession:
        # The instance the dataclass constructor would build, with its attributes set straight
        # into its __dict__: a third of the constructor's keyword-argument cost, for every row of
        # every page. tests/unit/test_schema_types.py checks it equals the constructor's and
        # sets every field the constructor takes. (`strawberry.ID` and `Metadata` are NewTypes,
        # for the type checker only.)
        session = _new(cls)
        attributes = session.__dict__
        attributes["id"] = row.id
        attributes["object"] = "identity.verification_session"
        attributes["client_reference_id"] = row.client_reference_id
        attributes["created"] = row.created
        attributes["livemode"] = row.livemode
        attributes["metadata"] = row.metadata_
        attributes["row"] = row
        attributes["public_base_url"] = public_base_url
        return session


# The stored attributes each field of VerificationSession reads (by GraphQL name), and those
# every session read needs whatever is selected: `from_row`'s, and those of the credentials
# check on read. A list page fetches only these for what its query selects
# (`selected_attributes`); tests/api/test_list_projection.py reads every field on a page and
# compares it with the whole session.
BASE_ATTRIBUTES = frozenset(
    {
        "id",
        "created",
        "client_reference_id",
        "livemode",
        "metadata_",
        "status",
        "redaction_status",
        "client_secret_expires_at",
        "url_expires_at",
    }
)
FIELD_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": (),
    "object": (),
    "clientReferenceId": (),
    "created": (),
    "livemode": (),
    "metadata": (),
    "status": (),
    "lastError": ("last_error",),
    "options": ("options",),
    "providedDetails": ("provided_details",),
    "redaction": ("redaction_status",),
    "relatedCustomer": ("related_customer",),
    "relatedPerson": ("related_person",),
    "type": ("type",),
    "verificationFlow": ("verification_flow",),
    "verifiedOutputs": ("verified_outputs",),
    "lastVerificationReport": ("last_verification_report",),
    "clientSecret": ("client_secret",),
    "url": ("url_token",),
}


def selected_attributes(fields: Iterable[str] | None) -> frozenset[str] | None:
    """The attributes a read must fetch for sessions whose selected fields are `fields`; None
    (every attribute) when a field is not declared in FIELD_ATTRIBUTES or `fields` is unknown."""
    if fields is None:
        return None
    attributes = set(BASE_ATTRIBUTES)
    for name in fields:
        declared = FIELD_ATTRIBUTES.get(name)
        if declared is None:
            return None
        attributes.update(declared)
    return frozenset(attributes)


# Stored values to their enum members: what `Status(value)` answers, without its call overhead
# (read for every row of a page).
_STATUSES = {member.value: member for member in sessions.Status}
_TYPES = {member.value: member for member in sessions.SessionType}


def _last_error(value: dict[str, Any] | None) -> VerificationSessionLastError | None:
    if value is None:
        return None
    code = value.get("code")
    # A code this version does not know reads as null rather than failing the whole response.
    known = code if code in sessions.LastErrorCode.__members__.values() else None
    return VerificationSessionLastError(
        code=sessions.LastErrorCode(known) if known is not None else None,
        reason=value.get("reason"),
    )


def options_from_stored(value: dict[str, Any]) -> VerificationSessionOptions:
    document = value.get("document")
    return VerificationSessionOptions(
        document=(
            VerificationSessionDocumentOptions(
                allowed_types=(
                    [sessions.DocumentType(item) for item in document["allowed_types"]]
                    if "allowed_types" in document
                    else None
                ),
                require_id_number=document.get("require_id_number"),
                require_live_capture=document.get("require_live_capture"),
                require_matching_selfie=document.get("require_matching_selfie"),
            )
            if document is not None
            else None
        ),
        email=_contact(value.get("email")),
        id_number=(
            VerificationSessionIdNumberOptions(requested=True)
            if value.get("id_number") is not None
            else None
        ),
        matching=_matching(value.get("matching")),
        phone=_contact(value.get("phone")),
    )


def _matching(value: dict[str, Any] | None) -> VerificationSessionMatchingOptions | None:
    if value is None:
        return None
    dob, name = value.get("dob"), value.get("name")
    return VerificationSessionMatchingOptions(
        dob=sessions.MatchingPolicy(dob) if dob is not None else None,
        name=sessions.MatchingPolicy(name) if name is not None else None,
    )


def _contact(value: dict[str, Any] | None) -> VerificationSessionContactOptions | None:
    if value is None:
        return None
    return VerificationSessionContactOptions(require_verification=value.get("require_verification"))


def _verified_outputs(value: dict[str, Any] | None) -> VerificationSessionVerifiedOutputs | None:
    if value is None:
        return None
    address = value.get("address")
    dob = value.get("dob")
    return VerificationSessionVerifiedOutputs(
        address=VerificationSessionAddress(**address) if address is not None else None,
        dob=VerificationSessionDob(**dob) if dob is not None else None,
        email=value.get("email"),
        first_name=value.get("first_name"),
        last_name=value.get("last_name"),
        id_number=value.get("id_number"),
        id_number_type=(
            sessions.IdNumberType(value["id_number_type"]) if value.get("id_number_type") else None
        ),
        phone=value.get("phone"),
        sex=sessions.Sex(value["sex"]) if value.get("sex") else None,
        unparsed_place_of_birth=value.get("unparsed_place_of_birth"),
        unparsed_sex=value.get("unparsed_sex"),
    )
