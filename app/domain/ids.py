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
WEBHOOK_ENDPOINT = "we"

_ID_PATTERN = re.compile(r"^([a-z]+)_([0-9A-Za-z]{24})\Z")


# A byte b stands for BASE62[b % 62]. Bytes at or above 248 (4 x 62) would make the first eight
# characters likelier than the rest, so they are dropped and more are drawn: every character stays
# equally likely.
_UNBIASED_BYTES = 256 - 256 % len(BASE62)
_CHARACTER_OF_BYTE = (BASE62 * 5)[:256].encode()
_BIASED_BYTES = bytes(range(_UNBIASED_BYTES, 256))


def random_base62(length: int) -> str:
    """`length` characters from the operating system's CSPRNG (`secrets`).

    Random bytes mapped to characters in C (`bytes.translate`) rather than one `secrets.choice`
    per character: over ten times faster, which `python -m app seed` needs for a million
    sessions' ids and secrets.
    """
    chars = b""
    while len(chars) < length:
        chars += secrets.token_bytes(length + length // 8 + 1).translate(
            _CHARACTER_OF_BYTE, _BIASED_BYTES
        )
    return chars[:length].decode()


def new_id(prefix: str) -> str:
    """A fresh id such as `vs_1NuNAILkdIwHu7ixh7OtGMLw`."""
    return f"{prefix}_{random_base62(ID_LENGTH)}"


def prefix_of(object_id: str) -> str | None:
    """The prefix of a well-formed id, or None when the string is not an id at all."""
    match = _ID_PATTERN.match(object_id)
    return match.group(1) if match else None
