"""SHUTDOWN_GRACE_SECONDS: whole seconds from 0 to 3600, 30 by default; anything else is refused
at start, naming the variable and the rule."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_shutdown_grace_defaults_to_thirty_seconds_and_takes_the_bounds() -> None:
    assert Settings.from_environ({}).shutdown_grace_seconds == 30
    assert Settings.from_environ({"SHUTDOWN_GRACE_SECONDS": "0"}).shutdown_grace_seconds == 0
    assert Settings.from_environ({"SHUTDOWN_GRACE_SECONDS": "3600"}).shutdown_grace_seconds == 3600


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("-1", "must be between 0 and 3600, got '-1'"),
        ("3601", "must be between 0 and 3600, got '3601'"),
        ("1.5", "must be a whole number, got '1.5'"),
        ("soon", "must be a whole number, got 'soon'"),
    ],
)
def test_a_bad_shutdown_grace_is_refused_naming_the_variable(value: str, rule: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"SHUTDOWN_GRACE_SECONDS": value})
    assert str(raised.value) == f"SHUTDOWN_GRACE_SECONDS {rule}"
