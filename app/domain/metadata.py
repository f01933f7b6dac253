"""Metadata: up to 50 string keys (40 characters, no square brackets) of string values (500).

Merge semantics follow Stripe: keys given on update are merged into the stored ones, a key set to
the empty string is removed, and clearing the metadata (None) removes every key.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.errors import InvalidParameter

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500


def merge(current: Mapping[str, str], changes: Mapping[str, object] | None) -> dict[str, str]:
    """The metadata that results from applying `changes` to `current`.

    Args:
        current: The stored metadata ({} for a new object).
        changes: The caller's keys; None clears everything.

    Raises:
        InvalidParameter: A key or value breaks a limit, or the result has more than 50 keys.
    """
    if changes is None:
        return {}
    result = dict(current)
    for key, value in changes.items():
        _check_pair(key, value)
        if value == "":
            result.pop(key, None)
        else:
            result[key] = str(value)
    if len(result) > MAX_KEYS:
        raise InvalidParameter(
            f"Metadata can have up to {MAX_KEYS} keys, but you've set {len(result)}.",
            field=["metadata"],
        )
    return result


def _check_pair(key: str, value: object) -> None:
    field = ["metadata", key]
    if key == "":
        raise InvalidParameter("Metadata keys must not be empty.", field=field)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameter(
            f"Metadata keys can have up to {MAX_KEY_LENGTH} characters, but you passed in a key "
            f"that is {len(key)} characters. Invalid key: {key}",
            field=field,
        )
    if "[" in key or "]" in key:
        raise InvalidParameter(
            f"Metadata keys may not contain '[' or ']'. Invalid key: {key}", field=field
        )
    if not isinstance(value, str):
        raise InvalidParameter(
            f"Metadata values must be strings, but the value for key {key} is not.", field=field
        )
    # Postgres cannot store U+0000 in JSON; refuse it on every backend alike.
    if "\x00" in key or "\x00" in value:
        raise InvalidParameter(
            f"Metadata keys and values must not contain the NUL character (U+0000). "
            f"Invalid pair for key: {key!r}",
            field=field,
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidParameter(
            f"Metadata values can have up to {MAX_VALUE_LENGTH} characters, but you passed in a "
            f"value that is {len(value)} characters. Invalid value for key: {key}",
            field=field,
        )
