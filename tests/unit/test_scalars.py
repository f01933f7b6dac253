"""The DateTime scalar's serialization: the same text as `isoformat`, in UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from app.schema.scalars import parse_datetime, serialize_datetime

OFFSETS = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def reference(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_a_utc_value_prints_as_isoformat_does(value: datetime) -> None:
    assert serialize_datetime(value) == reference(value)


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS)
)
def test_any_offset_is_converted_to_utc_first(value: datetime) -> None:
    assert serialize_datetime(value) == reference(value)
    assert parse_datetime(serialize_datetime(value)) == value


def test_small_years_and_whole_seconds_keep_every_digit() -> None:
    assert (
        serialize_datetime(datetime(7, 3, 4, 5, 6, 7, tzinfo=UTC)) == "0007-03-04T05:06:07.000000Z"
    )
