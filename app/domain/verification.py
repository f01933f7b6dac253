"""What a verification attempt reads and decides: the person's data, the report's checks, and
the redacted form of both. Stripe-shaped dicts in, Stripe-shaped dicts out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from app.domain.errors import InvalidParameter
from app.domain.lifecycle import last_error
from app.domain.sessions import MAX_STRING_LENGTH, DocumentType, IdNumberType, SessionType

REDACTED = "[redacted]"

# Stripe's test person, so a tester who changes nothing still gets plausible data.
TEST_PERSON: dict[str, Any] = {
    "first_name": "Jenny",
    "last_name": "Rosen",
    "dob": {"day": 1, "month": 1, "year": 1901},
    "address": {
        "line1": "354 Oyster Point Blvd",
        "line2": None,
        "city": "South San Francisco",
        "state": "CA",
        "postal_code": "94080",
        "country": "US",
    },
    "id_number_type": "us_ssn",
    "id_number": "000000000",
    "email": "jenny.rosen@example.com",
    "phone": "+14155550123",
    "sex": "female",
    "unparsed_place_of_birth": None,
    "unparsed_sex": None,
}

_STRINGS = (
    "first_name",
    "last_name",
    "id_number",
    "email",
    "phone",
    "unparsed_place_of_birth",
    "unparsed_sex",
)
_ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_UNFINISHED = {"abandoned", "consent_declined", "device_not_supported"}


def check_verified_outputs(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tester's personal data over the test person's, checked for shape.

    Raises:
        InvalidParameter: a field breaks its rule; `field` is its path under verified_outputs.
    """
    result = {
        **TEST_PERSON,
        "address": dict(TEST_PERSON["address"]),
        "dob": dict(TEST_PERSON["dob"]),
    }
    for key, value in (data or {}).items():
        path = ["verified_outputs", key]
        if value is None:
            continue
        if key in _STRINGS:
            result[key] = _string(value, path)
        elif key == "id_number_type":
            if value not in IdNumberType.__members__.values():
                raise InvalidParameter(
                    "id_number_type must be br_cpf, sg_nric or us_ssn.", field=path
                )
            result[key] = value
        elif key == "sex":
            if value not in ("female", "male", "unknown"):
                raise InvalidParameter("sex must be FEMALE, MALE or UNKNOWN.", field=path)
            result[key] = value
        elif key == "dob":
            result[key] = _dob(value, path)
        elif key == "address":
            result[key] = _address(value, path)
        else:
            raise InvalidParameter(f"Unknown field {key!r} in verified outputs.", field=path)
    return result


def check_collected_person(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Personal data a live frontend collected, checked for shape as the tester's is, but with
    nothing filled in: only the given fields, for the verifier to decide on.

    Raises:
        InvalidParameter: a field breaks its rule; `field` is its path under verified_outputs.
    """
    checked = check_verified_outputs(data)
    return {key: checked[key] for key, value in (data or {}).items() if value is not None}


def _string(value: Any, path: list[str]) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING_LENGTH or "\x00" in value:
        raise InvalidParameter(
            f"{path[-1]} must be text of at most {MAX_STRING_LENGTH} characters.", field=path
        )
    return value


def _dob(value: Any, path: list[str]) -> dict[str, int]:
    try:
        born = date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidParameter(
            "dob must be a real date with day, month and year.", field=path
        ) from None
    if born > date.today():
        raise InvalidParameter("dob cannot be in the future.", field=path)
    return {"day": born.day, "month": born.month, "year": born.year}


def _address(value: Any, path: list[str]) -> dict[str, str | None]:
    if not isinstance(value, Mapping):
        raise InvalidParameter("address must be an object.", field=path)
    address: dict[str, str | None] = {key: None for key in _ADDRESS}
    for key, item in value.items():
        if key not in _ADDRESS:
            raise InvalidParameter(f"Unknown address field {key!r}.", field=[*path, key])
        address[key] = None if item is None else _string(item, [*path, key])
    country = address["country"]
    if country is not None and not _COUNTRY.match(country):
        raise InvalidParameter(
            "country must be a two-letter ISO 3166-1 code such as US.", field=[*path, "country"]
        )
    return address


def _failing_check(code: str, session_type: str) -> str:
    """Which check a last-error code belongs to."""
    for prefix, check in (
        ("selfie_", "selfie"),
        ("id_number_", "id_number"),
        ("email_", "email"),
        ("phone_", "phone"),
    ):
        if code.startswith(prefix):
            return check
    return "id_number" if session_type == SessionType.ID_NUMBER else "document"


def required_checks(session_type: str, options: Mapping[str, Any]) -> list[str]:
    """The checks a report carries: `document` for document sessions (plus `selfie` and
    `id_number` when the options require them), `id_number` for ID-number sessions, and `email`
    / `phone` when their verification is required."""
    document = options.get("document") or {}
    checks: list[str] = []
    if session_type == SessionType.ID_NUMBER:
        checks.append("id_number")
    else:
        checks.append("document")
        if document.get("require_matching_selfie"):
            checks.append("selfie")
        if document.get("require_id_number"):
            checks.append("id_number")
    for contact in ("email", "phone"):
        if (options.get(contact) or {}).get("require_verification"):
            checks.append(contact)
    return checks


def report_checks(
    *,
    session_type: str,
    options: Mapping[str, Any],
    person: Mapping[str, Any],
    last_error_code: str | None,
    today: date,
) -> dict[str, dict[str, Any]]:
    """Each required check's result and the data it read. On success every check is verified.
    On failure the check the error code belongs to is unverified with that error; the others
    passed, unless the user never got through the checks (abandoned, consent declined, device not
    supported), in which case they are unverified with no error of their own."""
    checks = required_checks(session_type, options)
    failing = _failing_check(last_error_code, session_type) if last_error_code else None
    if failing is not None and failing not in checks:
        # An error about a check the session did not ask for lands on its first check.
        failing = checks[0]
    allowed = (options.get("document") or {}).get("allowed_types") or [
        item.value for item in DocumentType
    ]
    results: dict[str, dict[str, Any]] = {}
    for check in checks:
        if last_error_code is None:
            status, error = "verified", None
        elif check == failing:
            status, error = "unverified", last_error(last_error_code)
        else:
            # The user left before any check ran, or another check failed after this one passed.
            status, error = ("unverified" if last_error_code in _UNFINISHED else "verified"), None
        results[check] = {
            "status": status,
            "error": error,
            **_check_data(check, person, document_type=allowed[0], today=today),
        }
    return results


def _check_data(
    check: str, person: Mapping[str, Any], *, document_type: str, today: date
) -> dict[str, Any]:
    # A verifier may send an attempt back with no personal data at all (`person={}`, as the
    # provider example in `app.verifiers` does); the check then read nothing.
    if check == "document":
        return {
            "first_name": person.get("first_name"),
            "last_name": person.get("last_name"),
            "dob": person.get("dob"),
            "address": person.get("address"),
            "issuing_country": (person.get("address") or {}).get("country") or "US",
            "type": document_type,
            "number": "D1234567",
            "expiration_date": _calendar_date(_years_from(today, 5)),
            "issued_date": _calendar_date(_years_from(today, -5)),
            # No images are collected here, so there are no File ids to list.
            "files": None,
            "sex": person.get("sex"),
            "unparsed_place_of_birth": person.get("unparsed_place_of_birth"),
            "unparsed_sex": person.get("unparsed_sex"),
        }
    if check == "id_number":
        return {
            "id_number_type": person.get("id_number_type"),
            "first_name": person.get("first_name"),
            "last_name": person.get("last_name"),
            "dob": person.get("dob"),
        }
    if check == "selfie":
        return {}
    return {check: person.get(check)}


def _years_from(day: date, years: int) -> date:
    """The same day `years` later (or earlier); 29 February becomes the 28th in other years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _calendar_date(day: date) -> dict[str, int]:
    return {"day": day.day, "month": day.month, "year": day.year}


def redact_person(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Personal data as it reads after redaction: strings `[redacted]`, dates null, sex REDACTED.
    Status and error fields of a check are not personal and stay."""
    if data is None:
        return None
    result: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("status", "error", "type", "id_number_type"):
            result[key] = value
        elif key == "sex":
            result[key] = REDACTED if value is not None else None
        elif key in ("dob", "expiration_date", "issued_date"):
            result[key] = None
        elif key == "address":
            result[key] = (
                {
                    part: (REDACTED if item is not None else None)
                    for part, item in (value or {}).items()
                }
                if value
                else None
            )
        elif isinstance(value, str):
            result[key] = REDACTED
        else:
            result[key] = None
    return result
