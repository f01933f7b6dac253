"""Who is calling: the account and mode a request is scoped to, and what its key may do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Objects are visible only within one account and one mode (test or live)."""

    account_id: str
    livemode: bool


@dataclass(frozen=True)
class Principal:
    """An authenticated API key. Restricted keys may only read, and never see client secrets."""

    scope: Scope
    restricted: bool
