"""Keyset pagination arguments and cursors, without a database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    PageRequest,
    PaginationError,
    decode_cursor,
    encode_cursor,
    page_request,
)

SESSION_ID = "vs_1NuNAILkdIwHu7ixh7OtGMLw"
CREATED = datetime(2026, 3, 1, 12, 30, 45, 123457, tzinfo=UTC)


def request(**overrides: object) -> PageRequest:
    arguments: dict[str, object] = {"first": None, "after": None, "last": None, "before": None}
    arguments.update(overrides)
    return page_request(**arguments)  # type: ignore[arg-type]


def rejection(**overrides: object) -> PaginationError:
    with pytest.raises(PaginationError) as raised:
        request(**overrides)
    return raised.value


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_limits_are_ten_by_default_and_one_hundred_at_most() -> None:
    assert (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) == (10, 100)


def test_no_arguments_ask_for_the_first_ten_going_forward() -> None:
    assert request() == PageRequest(size=10, forward=True, after=None, before=None)


def test_first_pages_forward_and_last_pages_backward() -> None:
    assert request(first=3) == PageRequest(size=3, forward=True, after=None, before=None)
    assert request(last=4) == PageRequest(size=4, forward=False, after=None, before=None)


@pytest.mark.parametrize("name", ["first", "last"])
@pytest.mark.parametrize("size", [0, 1, 100])
def test_sizes_from_zero_to_one_hundred_are_accepted(name: str, size: int) -> None:
    assert request(**{name: size}).size == size


@pytest.mark.parametrize(
    ("arguments", "argument", "message"),
    [
        (
            {"first": 101},
            "first",
            "`first` must be between 0 and 100, got 101; request fewer rows.",
        ),
        ({"last": 101}, "last", "`last` must be between 0 and 100, got 101; request fewer rows."),
        ({"first": -1}, "first", "`first` must be between 0 and 100, got -1."),
        ({"last": -1}, "last", "`last` must be between 0 and 100, got -1."),
        (
            {"first": 1, "last": 1},
            "first",
            "Passing both `first` and `last` is not supported; page with one of them.",
        ),
    ],
)
def test_bad_sizes_are_rejected_naming_the_argument(
    arguments: dict[str, int], argument: str, message: str
) -> None:
    error = rejection(**arguments)
    assert (error.argument, str(error)) == (argument, message)


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    # given
    cursor = encode_cursor(CREATED, SESSION_ID)
    # when
    decoded = decode_cursor(cursor, argument="after")
    # then
    assert decoded == Cursor(created=CREATED, id=SESSION_ID)


def test_a_cursor_is_the_same_for_the_same_instant_in_any_offset() -> None:
    # given
    elsewhere = CREATED.astimezone(timezone(timedelta(hours=2)))
    # then
    assert encode_cursor(elsewhere, SESSION_ID) == encode_cursor(CREATED, SESSION_ID)


def test_a_cursor_keeps_dates_before_1970_and_far_in_the_future() -> None:
    for created in (
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
    ):
        cursor = decode_cursor(encode_cursor(created, SESSION_ID), argument="after")
        assert cursor == Cursor(created=created, id=SESSION_ID)


def test_a_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(CREATED, SESSION_ID)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_after_and_before_are_decoded_into_the_request() -> None:
    # given
    after = encode_cursor(CREATED, SESSION_ID)
    before = encode_cursor(CREATED + timedelta(microseconds=1), "vs_" + "z" * 24)
    # when
    page = request(first=5, after=after, last=None, before=before)
    # then
    assert page == PageRequest(
        size=5,
        forward=True,
        after=Cursor(created=CREATED, id=SESSION_ID),
        before=Cursor(created=CREATED + timedelta(microseconds=1), id="vs_" + "z" * 24),
    )


MALFORMED_CURSORS = {
    "random text": "not a cursor",
    "empty": "",
    "non-ascii": "curseur-été",
    "base64 of garbage": b64("hello world"),
    "base64 of binary": base64.urlsafe_b64encode(bytes(range(200, 230))).decode(),
    "unknown version": b64(f"v2:1772368245123457:{SESSION_ID}"),
    "time not a number": b64(f"v1:yesterday:{SESSION_ID}"),
    "time out of range": b64(f"v1:{10**30}:{SESSION_ID}"),
    "no id": b64("v1:1772368245123457:"),
    "id not an id": b64("v1:1772368245123457:'; DROP TABLE verification_sessions; --"),
    "id too short": b64("v1:1772368245123457:vs_short"),
}


@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize("cursor", MALFORMED_CURSORS.values(), ids=MALFORMED_CURSORS.keys())
def test_malformed_cursors_are_rejected_naming_the_argument(argument: str, cursor: str) -> None:
    error = rejection(first=1, **{argument: cursor})
    assert (error.argument, str(error)) == (
        argument,
        f"`{argument}` is not a cursor returned by this API: {cursor[:64]!r}.",
    )


@pytest.mark.parametrize("cut", range(1, 64))
def test_every_truncation_of_a_real_cursor_is_rejected(cut: int) -> None:
    # given
    cursor = encode_cursor(CREATED, SESSION_ID)
    assert len(cursor) == 63
    # when
    error = rejection(first=1, after=cursor[:-cut])
    # then
    assert error.argument == "after"


@given(
    created=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_a_cursor_holds_the_exact_microseconds_since_the_epoch_for_any_moment(
    created: datetime,
) -> None:
    # the plain definition: integer microseconds since 1970, before it too
    micros = (created - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert encode_cursor(created, SESSION_ID) == b64(f"v1:{micros}:{SESSION_ID}")
    assert decode_cursor(encode_cursor(created, SESSION_ID), argument="after").created == created
