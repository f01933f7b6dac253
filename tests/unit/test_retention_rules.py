"""Retention windows: how the settings are read, and the rules over them (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.retention import Retention, resumable
from app.settings import Settings, SettingsError

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
URL = {"DATABASE_URL": "sqlite+aiosqlite:///x.sqlite3"}


def test_the_defaults_are_stripes_windows_and_a_week_for_links() -> None:
    settings = Settings.from_environ(URL)
    assert settings.retention == Retention(idempotency_hours=24, event_days=30, hosted_link_days=7)


def test_zero_and_the_bounds_are_accepted() -> None:
    settings = Settings.from_environ(
        {
            **URL,
            "IDEMPOTENCY_RETENTION_HOURS": "0",
            "EVENT_RETENTION_DAYS": "3650",
            "HOSTED_LINK_RETENTION_DAYS": "1",
        }
    )
    assert settings.retention == Retention(idempotency_hours=0, event_days=3650, hosted_link_days=1)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            "IDEMPOTENCY_RETENTION_HOURS",
            "8761",
            "IDEMPOTENCY_RETENTION_HOURS must be 0 (never purge) or between 1 and 8760 hours, "
            "got '8761'",
        ),
        (
            "EVENT_RETENTION_DAYS",
            "-1",
            "EVENT_RETENTION_DAYS must be 0 (never purge) or between 1 and 3650 days, got '-1'",
        ),
        (
            "HOSTED_LINK_RETENTION_DAYS",
            "1.5",
            "HOSTED_LINK_RETENTION_DAYS must be a whole number of days, got '1.5'",
        ),
    ],
)
def test_a_bad_window_names_the_setting_and_the_rule(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({**URL, name: raw})
    assert str(raised.value) == message


def test_a_key_lives_as_long_as_it_is_kept_and_24_hours_when_kept_for_good() -> None:
    assert Retention(idempotency_hours=1).key_lifetime == timedelta(hours=1)
    assert Retention(idempotency_hours=0).key_lifetime == timedelta(hours=24)
    assert not Retention(idempotency_hours=0).purges_idempotency_keys


def test_zero_days_has_no_cutoff() -> None:
    assert Retention(event_days=0, hosted_link_days=0).event_cutoff(NOW) is None
    assert Retention(event_days=0, hosted_link_days=0).hosted_link_cutoff(NOW) is None
    assert Retention().event_cutoff(NOW) == NOW - timedelta(days=30)
    assert Retention().hosted_link_cutoff(NOW) == NOW - timedelta(days=7)


def test_a_cursor_resumes_only_while_its_event_is_inside_the_window() -> None:
    cutoff = NOW - timedelta(days=30)
    assert resumable(cursor_event_created=cutoff + timedelta(seconds=1), cutoff=cutoff)
    assert not resumable(cursor_event_created=cutoff - timedelta(seconds=1), cutoff=cutoff)
    assert not resumable(cursor_event_created=None, cutoff=cutoff)  # purged, or not this scope's
    assert resumable(cursor_event_created=None, cutoff=None)  # events kept for good
