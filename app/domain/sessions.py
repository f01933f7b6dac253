"""VerificationSession rules: the enums, input checks, and which status allows which operation.

Values here are Stripe-shaped (snake_case keys, lowercase enum strings) so that every surface,
GraphQL today and a Stripe-compatible REST API later, shares one set of rules. Nothing here touches
the database or knows about GraphQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from app.domain import metadata as metadata_rules
from app.domain.errors import InvalidParameter, InvalidState, MissingParameter
from app.domain.ids import random_base62

MAX_STRING_LENGTH = 5000
CLIENT_SECRET_TTL = timedelta(hours=24)
URL_TTL = timedelta(hours=48)


class Status(StrEnum):
    REQUIRES_INPUT = "requires_input"
    PROCESSING = "processing"
    VERIFIED = "verified"
    CANCELED = "canceled"


class SessionType(StrEnum):
    DOCUMENT = "document"
    ID_NUMBER = "id_number"
    VERIFICATION_FLOW = "verification_flow"


class DocumentType(StrEnum):
    DRIVING_LICENSE = "driving_license"
    ID_CARD = "id_card"
    PASSPORT = "passport"


class RedactionStatus(StrEnum):
    PROCESSING = "processing"
    REDACTED = "redacted"


class IdNumberType(StrEnum):
    BR_CPF = "br_cpf"
    SG_NRIC = "sg_nric"
    US_SSN = "us_ssn"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"
    REDACTED = "[redacted]"


class MatchingPolicy(StrEnum):
    """How strictly the document's name or date of birth must match (Stripe's `options.matching`)."""

    NONE = "none"
    SIMILAR = "similar"


class LastErrorCode(StrEnum):
    ABANDONED = "abandoned"
    CONSENT_DECLINED = "consent_declined"
    COUNTRY_NOT_SUPPORTED = "country_not_supported"
    DEVICE_NOT_SUPPORTED = "device_not_supported"
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_TYPE_NOT_SUPPORTED = "document_type_not_supported"
    DOCUMENT_UNVERIFIED_OTHER = "document_unverified_other"
    EMAIL_UNVERIFIED_OTHER = "email_unverified_other"
    EMAIL_VERIFICATION_DECLINED = "email_verification_declined"
    ID_NUMBER_INSUFFICIENT_DOCUMENT_DATA = "id_number_insufficient_document_data"
    ID_NUMBER_MISMATCH = "id_number_mismatch"
    ID_NUMBER_UNVERIFIED_OTHER = "id_number_unverified_other"
    PHONE_UNVERIFIED_OTHER = "phone_unverified_other"
    PHONE_VERIFICATION_DECLINED = "phone_verification_declined"
    SELFIE_DOCUMENT_MISSING_PHOTO = "selfie_document_missing_photo"
    SELFIE_FACE_MISMATCH = "selfie_face_mismatch"
    SELFIE_MANIPULATED = "selfie_manipulated"
    SELFIE_UNVERIFIED_OTHER = "selfie_unverified_other"
    UNDER_SUPPORTED_AGE = "under_supported_age"


INPUT_TYPES: Final = (SessionType.DOCUMENT, SessionType.ID_NUMBER)
DOCUMENT_FLAGS: Final = ("require_id_number", "require_live_capture", "require_matching_selfie")
# Options only a verification flow sets; a caller's create or update cannot (as on Stripe).
FLOW_ONLY_OPTIONS: Final = ("email", "id_number", "matching", "phone")
MATCHING_FIELDS: Final = ("dob", "name")

# Deliberately loose: the shape a person would recognise, not RFC 5322 in full; but no control
# characters, and `\Z`, as `$` would also match before a trailing newline.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+\Z")
# E.164: a plus, a country code that does not start with 0, 7 to 15 digits in all.
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
_CUSTOMER = re.compile(r"^cus_[0-9A-Za-z]+\Z")
# `related_person`'s ids (Stripe Connect's): the prefix, then letters and digits.
_RELATED_PERSON = {"account": ("acct_", "an account id"), "person": ("person_", "a person id")}
_ID_BODY = re.compile(r"^[0-9A-Za-z]+\Z")


class _Keep:
    """Marks an update field the caller did not send: the stored value stays."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final[Any] = _Keep()


@dataclass(kw_only=True)
class SessionCreate:
    """What a caller asks for when creating a session (Stripe's create parameters)."""

    type: str | None = None
    verification_flow: str | None = None
    client_reference_id: str | None = None
    metadata: Mapping[str, object] | None = None
    options: Mapping[str, Any] | None = None
    provided_details: Mapping[str, Any] | None = None
    related_customer: str | None = None
    related_person: Mapping[str, Any] | None = None
    return_url: str | None = None


@dataclass(kw_only=True)
class SessionUpdate:
    """An update; a field left at KEEP is not changed, None clears it."""

    metadata: Mapping[str, object] | None = KEEP
    options: Mapping[str, Any] | None = KEEP
    provided_details: Mapping[str, Any] | None = KEEP
    type: str | None = KEEP


def check_create(params: SessionCreate) -> dict[str, Any]:
    """Validate create parameters that need no database.

    Returns the values to store (without the flow's type and options, which the store copies).

    Raises:
        MissingParameter: neither `type` nor `verification_flow`.
        InvalidParameter: any other broken rule, with the offending field's path.
    """
    if params.type is None and params.verification_flow is None:
        raise MissingParameter(
            "Missing required param: type. Provide a type (document or id_number) or a "
            "verification_flow.",
            field=["type"],
        )
    if params.type is not None and params.verification_flow is not None:
        raise InvalidParameter(
            "You cannot provide both type and verification_flow: a session made from a "
            "verification flow takes its type from the flow.",
            field=["type"],
        )
    if params.options and params.verification_flow is not None:
        raise InvalidParameter(
            "You cannot provide both options and verification_flow: a session made from a "
            "verification flow takes its options from the flow.",
            field=["options"],
        )
    values: dict[str, Any] = {}
    if params.type is not None:
        values["type"] = check_input_type(params.type)
    values["client_reference_id"] = check_string(
        params.client_reference_id, field=["client_reference_id"]
    )
    values["related_customer"] = check_customer(params.related_customer)
    values["related_person"] = check_related_person(params.related_person)
    values["return_url"] = check_return_url(params.return_url)
    values["metadata"] = metadata_rules.merge({}, params.metadata or {})
    values["options"] = check_options(params.options or {})
    values["provided_details"] = check_provided_details(params.provided_details)
    return values


def refuse_status(action: str, done: str, status: str, allowed: str) -> InvalidState:
    """Stripe's wording: what was refused, the current status, and the statuses that allow it."""
    return InvalidState(
        f'You cannot {action} this VerificationSession because it has a status of "{status}". '
        f"Only a VerificationSession in {allowed} status may be {done}."
    )


def refuse_redacted(action: str) -> InvalidState:
    return InvalidState(
        f"You cannot {action} this VerificationSession because it has been redacted."
    )


def check_update(
    *,
    status: str,
    redacted: bool,
    current_metadata: Mapping[str, str],
    current_options: Mapping[str, Any],
    update: SessionUpdate,
) -> dict[str, Any]:
    """The stored fields an update changes, after checking the session may be updated.

    Raises:
        InvalidState: the session is redacted or not in requires_input.
        InvalidParameter: a value breaks a rule.
    """
    if redacted:
        raise refuse_redacted("update")
    if status != Status.REQUIRES_INPUT:
        raise refuse_status("update", "updated", status, '"requires_input"')
    changes: dict[str, Any] = {}
    if update.type is not KEEP:
        if update.type is None:
            raise InvalidParameter(
                "type cannot be cleared; give document or id_number.", field=["type"]
            )
        changes["type"] = check_input_type(update.type)
    if update.metadata is not KEEP:
        changes["metadata"] = metadata_rules.merge(current_metadata, update.metadata)
    if update.options is not KEEP:
        changes["options"] = _replace_document_options(current_options, update.options)
    if update.provided_details is not KEEP:
        changes["provided_details"] = check_provided_details(update.provided_details)
    return changes


def _replace_document_options(
    current: Mapping[str, Any], requested: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Options after an update: a given `document` replaces the stored one whole; null (or null
    options) removes it. `email` and `phone` come only from a flow and are kept."""
    given = check_options(requested or {})
    options = dict(current)
    if requested is None or "document" in requested:
        options.pop("document", None)
    options.update(given)
    return options


def check_input_type(value: str) -> str:
    if value not in INPUT_TYPES:
        raise InvalidParameter(
            f"Invalid type: {value!r}. Callers may choose document or id_number; "
            "verification_flow is set by giving a verification flow.",
            field=["type"],
        )
    return value


def check_string(value: str | None, *, field: list[str]) -> str | None:
    if value is not None and len(value) > MAX_STRING_LENGTH:
        raise InvalidParameter(
            f"{field[-1]} can have up to {MAX_STRING_LENGTH} characters, but you passed in "
            f"{len(value)}.",
            field=field,
        )
    # Postgres cannot store U+0000 in text or JSON; refuse it on every backend alike.
    if value is not None and "\x00" in value:
        raise InvalidParameter(
            f"{field[-1]} must not contain the NUL character (U+0000).", field=field
        )
    return value


def check_customer(value: str | None) -> str | None:
    check_string(value, field=["related_customer"])
    if value is not None and not _CUSTOMER.match(value):
        raise InvalidParameter(
            f"related_customer must be a customer id such as cus_123, got {value!r}.",
            field=["related_customer"],
        )
    return value


def check_related_person(value: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Stripe's `related_person`: both `account` (`acct_…`) and `person` (`person_…`), or none.
    Whether the person belongs to the account is not checked: there is no Connect store.

    Raises:
        MissingParameter: `account` or `person` is missing.
        InvalidParameter: an unknown key, or an id of the wrong shape.
    """
    if value is None:
        return None
    for key in value:
        if key not in _RELATED_PERSON:
            raise InvalidParameter(
                f"Unknown field {key!r}; related_person holds account and person.",
                field=["related_person", key],
            )
    result: dict[str, str] = {}
    for key, (prefix, kind) in _RELATED_PERSON.items():
        path = ["related_person", key]
        item = value.get(key)
        if item is None:
            raise MissingParameter(
                f"Missing required param: related_person.{key}. related_person needs both "
                "account and person.",
                field=path,
            )
        if isinstance(item, str):
            check_string(item, field=path)
        if not (
            isinstance(item, str)
            and item.startswith(prefix)
            and _ID_BODY.match(item.removeprefix(prefix))
        ):
            raise InvalidParameter(
                f"related_person.{key} must be {kind}: {prefix} then letters and digits, such "
                f"as {prefix}123; got {str(item)[:100]!r}.",
                field=path,
            )
        result[key] = item
    return result


def check_return_url(value: str | None) -> str | None:
    check_string(value, field=["return_url"])
    if value is None:
        return None
    problem = InvalidParameter(
        "return_url must be an absolute http or https URL, such as https://example.com/done.",
        field=["return_url"],
    )
    try:
        # urlsplit raises on a malformed host, such as an unclosed IPv6 literal `http://[::1`.
        parts = urlsplit(value)
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise problem
    return value


def check_options(options: Mapping[str, Any], *, allow_output_only: bool = False) -> dict[str, Any]:
    """Normalise `options`; those in FLOW_ONLY_OPTIONS (`email`, `id_number`, `matching`,
    `phone`) are accepted only from verification flows, as Stripe sets them only from one.

    The result keeps only what was given, in Stripe's shape:
    `{"document": {"allowed_types": [...], "require_id_number": bool, ...}, "email": {...},
    "matching": {"dob": "similar", "name": "none"}, "id_number": {}}`.
    """
    allowed = {"document", *(FLOW_ONLY_OPTIONS if allow_output_only else ())}
    result: dict[str, Any] = {}
    for name, value in options.items():
        path = ["options", name]
        if name in FLOW_ONLY_OPTIONS and not allow_output_only:
            raise InvalidParameter(
                f"options.{name} is set only by a verification flow; a session's own options "
                "may hold: document.",
                field=path,
            )
        if name not in allowed:
            raise InvalidParameter(
                f"Unknown option {name!r}; options may hold: {', '.join(sorted(allowed))}.",
                field=path,
            )
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise InvalidParameter(f"options.{name} must be an object.", field=path)
        if name == "document":
            result["document"] = _check_document_options(value)
        elif name == "matching":
            result["matching"] = _check_matching(value)
        elif name == "id_number":
            if value:
                raise InvalidParameter(
                    "options.id_number takes no settings: give it as an empty object.",
                    field=[*path, next(iter(value))],
                )
            result["id_number"] = {}
        else:
            result[name] = _check_flags(value, ("require_verification",), field=path)
    return result


def _check_matching(matching: Mapping[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    policies = [member.value for member in MatchingPolicy]
    for key, value in matching.items():
        path = ["options", "matching", key]
        if key not in MATCHING_FIELDS:
            raise InvalidParameter(
                f"Unknown option {key!r}; options.matching may hold: {', '.join(MATCHING_FIELDS)}.",
                field=path,
            )
        if value is None:
            continue
        if value not in policies:
            raise InvalidParameter(
                f"options.matching.{key} must be none or similar, got {str(value)[:100]!r}.",
                field=path,
            )
        result[key] = value
    return result


def _check_document_options(document: Mapping[str, Any]) -> dict[str, Any]:
    base = ["options", "document"]
    flags = {key: value for key, value in document.items() if key != "allowed_types"}
    flag_values: dict[str, Any] = dict(_check_flags(flags, DOCUMENT_FLAGS, field=base))
    if "allowed_types" in document and document["allowed_types"] is not None:
        types = document["allowed_types"]
        path = [*base, "allowed_types"]
        if not isinstance(types, list) or not types:
            raise InvalidParameter(
                "allowed_types must list at least one of driving_license, id_card, passport; "
                "omit it to allow all three.",
                field=path,
            )
        for item in types:
            if item not in DocumentType.__members__.values():
                raise InvalidParameter(
                    f"Invalid document type {item!r}: use driving_license, id_card or passport.",
                    field=path,
                )
        # Keep the caller's order, drop repeats.
        return {"allowed_types": list(dict.fromkeys(types)), **flag_values}
    return flag_values


def _check_flags(
    values: Mapping[str, Any], names: tuple[str, ...], *, field: list[str]
) -> dict[str, bool]:
    result: dict[str, bool] = {}
    for key, value in values.items():
        if key not in names:
            raise InvalidParameter(
                f"Unknown option {key!r}; this object may hold: {', '.join(names)}.",
                field=[*field, key],
            )
        if value is None:
            continue
        if not isinstance(value, bool):
            raise InvalidParameter(f"{key} must be true or false.", field=[*field, key])
        result[key] = value
    return result


def check_provided_details(details: Mapping[str, Any] | None) -> dict[str, str] | None:
    if details is None:
        return None
    result: dict[str, str] = {}
    email = details.get("email")
    phone = details.get("phone")
    if email is not None:
        check_string(email, field=["provided_details", "email"])
        if not _EMAIL.match(email):
            raise InvalidParameter(
                f"provided_details.email must be an email address such as jenny@example.com, "
                f"got {email!r}.",
                field=["provided_details", "email"],
            )
        result["email"] = email
    if phone is not None:
        if not _PHONE.match(phone):
            raise InvalidParameter(
                "provided_details.phone must be in E.164 format, a plus sign and 7 to 15 digits "
                "such as +14155550123.",
                field=["provided_details", "phone"],
            )
        result["phone"] = phone
    return result


def fresh_credentials(*, session_id: str, now: datetime) -> dict[str, Any]:
    """A new client secret (24 h) and hosted-page url token (48 h) for a session."""
    return {
        "client_secret": f"{session_id}_secret_{random_base62(24)}",
        "client_secret_expires_at": now + CLIENT_SECRET_TTL,
        "url_token": random_base62(32),
        "url_expires_at": now + URL_TTL,
    }


def hosted_url(*, public_base_url: str, url_token: str) -> str:
    return f"{public_base_url}/verify/{url_token}"


def flow_session_values(*, flow_id: str, flow_options: Mapping[str, Any]) -> dict[str, Any]:
    """A session made from a flow: type VERIFICATION_FLOW with the flow's options copied."""
    return {
        "type": SessionType.VERIFICATION_FLOW.value,
        "verification_flow": flow_id,
        "options": dict(flow_options),
    }
