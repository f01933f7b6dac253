"""Keyset pagination: arguments, limits and opaque cursors. No database or GraphQL here.

A cursor encodes the sort key of a row, `(created, id)`, so the next page is a seek on the index
(`WHERE (created, id) < cursor`) rather than an OFFSET that would read and discard every earlier row.
`id` breaks ties between rows created in the same microsecond, which makes the order total.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain import ids

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
_CURSOR_VERSION = "v1"
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class PaginationError(ValueError):
    """Arguments that do not describe a page; `argument` names the offending one."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True)
class Cursor:
    created: datetime
    id: str


@dataclass(frozen=True)
class PageRequest:
    """A validated page: `size` rows after `after` (forward) or before `before` (backward)."""

    size: int
    forward: bool
    after: Any
    before: Any


def page_request(
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    default_size: int = DEFAULT_PAGE_SIZE,
    max_size: int = MAX_PAGE_SIZE,
    decode: Callable[..., Any] | None = None,
) -> PageRequest:
    """Check Relay connection arguments and turn them into a page.

    Raises:
        PaginationError: both `first` and `last`, a negative or too large size, a bad cursor.
    """
    if first is not None and last is not None:
        raise PaginationError(
            "first", "Passing both `first` and `last` is not supported; page with one of them."
        )
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise PaginationError(name, f"`{name}` must be between 0 and {max_size}, got {value}.")
        if value is not None and value > max_size:
            raise PaginationError(
                name, f"`{name}` must be between 0 and {max_size}, got {value}; request fewer rows."
            )
    forward = last is None
    size = first if forward else last
    return PageRequest(
        size=default_size if size is None else size,
        forward=forward,
        after=(decode or decode_cursor)(after, argument="after") if after is not None else None,
        before=(decode or decode_cursor)(before, argument="before") if before is not None else None,
    )


def encode_cursor(created: datetime, object_id: str) -> str:
    # `_to_micros`, inlined and in integer arithmetic on the timedelta's parts (dividing one
    # timedelta by another costs more): this runs for every edge of every page.
    since = created - _EPOCH
    micros = (since.days * 86400 + since.seconds) * 1_000_000 + since.microseconds
    raw = f"{_CURSOR_VERSION}:{micros}:{object_id}".encode()
    # base64.urlsafe_b64encode, without its two wrappers' cost on every edge of every page.
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, argument: str) -> Cursor:
    problem = f"`{argument}` is not a cursor returned by this API: {cursor[:64]!r}."
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, micros, object_id = raw.split(":", 2)
        # A whole object id, not just any text: a cursor cut short still decodes (base64 has no
        # checksum) and would otherwise seek from a row that never existed instead of failing.
        if version != _CURSOR_VERSION or ids.prefix_of(object_id) is None:
            raise PaginationError(argument, problem)
        return Cursor(created=_from_micros(int(micros)), id=object_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError) as error:
        raise PaginationError(argument, problem) from error


def encode_sequence_cursor(sequence: int) -> str:
    """A cursor for lists ordered by a sequence number (events)."""
    raw = f"{_CURSOR_VERSION}:seq:{sequence}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_sequence_cursor(cursor: str, *, argument: str) -> int:
    problem = f"`{argument}` is not a cursor returned by this API: {cursor[:64]!r}."
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, kind, sequence = raw.split(":")
        if version != _CURSOR_VERSION or kind != "seq" or not sequence.isdigit():
            raise PaginationError(argument, problem)
        return int(sequence)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise PaginationError(argument, problem) from error


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_MICROSECOND = timedelta(microseconds=1)


def _to_micros(value: datetime) -> int:
    # Integer arithmetic: a float timestamp would lose the last microsecond digit.
    return (value - _EPOCH) // _MICROSECOND


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
