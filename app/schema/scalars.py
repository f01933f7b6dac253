"""Custom scalars: DateTime (RFC 3339, UTC, microseconds), Metadata and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

Metadata = NewType("Metadata", dict[str, Any])


# "00" to "99": a two-digit field of a timestamp is looked up, not formatted.
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(100))


def serialize_datetime(value: datetime) -> str:
    """Always UTC, always six fractional digits, always `Z`: one precision for every use, as
    `isoformat(timespec="microseconds")` prints it (tests/unit/test_scalars.py compares)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # Every field's digits looked up two at a time, none formatted: a quarter of the cost of
    # `isoformat` or printf-style formatting, on every row of every page.
    two = _TWO_DIGITS
    year, micro = value.year, value.microsecond
    return (
        f"{two[year // 100]}{two[year % 100]}-{two[value.month]}-{two[value.day]}"
        f"T{two[value.hour]}:{two[value.minute]}:{two[value.second]}"
        f".{two[micro // 10000]}{two[micro // 100 % 100]}{two[micro % 100]}Z"
    )


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an RFC 3339 string such as 2026-01-31T12:00:00.000000Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"DateTime must be an RFC 3339 string such as 2026-01-31T12:00:00.000000Z, got {value[:64]!r}"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(f"DateTime must carry a time zone (Z or +hh:mm), got {value[:64]!r}")
    return parsed.astimezone(UTC)


def parse_metadata(value: object) -> dict[str, Any]:
    # Key and value rules are checked by the domain, so a broken pair becomes a userError that
    # names the key instead of a top-level error that names nothing.
    if not isinstance(value, dict):
        raise ValueError("Metadata must be a JSON object of string keys to string values")
    return value


DATETIME = strawberry.scalar(
    name="DateTime",
    description=(
        "A moment in time as an RFC 3339 string in UTC with microseconds, e.g. "
        "`2026-01-31T12:00:00.000000Z`. Inputs accept any UTC offset. Values read from the API "
        "can be passed back in filters unchanged and compare exactly."
    ),
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

METADATA = strawberry.scalar(
    name="Metadata",
    description=(
        "A JSON object of string keys to string values, `{}` when empty. At most 50 keys; a key "
        "has at most 40 characters and no `[` or `]`; a value has at most 500 characters."
    ),
    serialize=lambda value: value,
    parse_value=parse_metadata,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DATETIME, Metadata: METADATA}

__all__ = ["JSON", "SCALAR_MAP", "Metadata", "parse_datetime", "serialize_datetime"]
