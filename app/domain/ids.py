"""Stripe-style object ids and secret tokens: a prefix and base-62 characters."""

from __future__ import annotations

import re
import secrets
import string

BASE62 = string.digits + string.ascii_letters
ID_LENGTH = 24

SESSION = "vs"
FLOW = "vf"
ACCOUNT = "acct"
REPORT = "vr"
EVENT = "evt"

_ID_PATTERN = re.compile(r"^([a-z]+)_([0-9A-Za-z]{24})$")


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """A fresh id such as `vs_1NuNAILkdIwHu7ixh7OtGMLw`."""
    return f"{prefix}_{random_base62(ID_LENGTH)}"


def prefix_of(object_id: str) -> str | None:
    """The prefix of a well-formed id, or None when the string is not an id at all."""
    match = _ID_PATTERN.match(object_id)
    return match.group(1) if match else None
