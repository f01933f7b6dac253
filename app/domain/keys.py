"""API keys: `sk_test_…`/`sk_live_…` (secret) and `rk_test_…`/`rk_live_…` (restricted, read-only).

A key is shown once, at creation; only its SHA-256 digest is stored. Keys carry 32 random base-62
characters (190 bits), so a plain fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from app.domain.ids import random_base62

_KEY = re.compile(r"^(sk|rk)_(test|live)_[0-9A-Za-z]{32}$")


@dataclass(frozen=True)
class KeyKind:
    restricted: bool
    livemode: bool


def new_key(*, livemode: bool, restricted: bool) -> str:
    return f"{'rk' if restricted else 'sk'}_{'live' if livemode else 'test'}_{random_base62(32)}"


def parse_key(key: str) -> KeyKind | None:
    """The kind of a well-formed key, or None when the string cannot be a key."""
    match = _KEY.match(key)
    if match is None:
        return None
    return KeyKind(restricted=match.group(1) == "rk", livemode=match.group(2) == "live")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
