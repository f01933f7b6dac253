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
    """Who is calling. An API key: secret keys do everything, restricted keys only read and never
    see client secrets. Or a session's client secret (`session_id` set): a browser frontend that
    may read a limited view of that one session and submit it. `key_hash` is the API key's
    SHA-256 digest (None for a client secret): per-key limits count against it."""

    scope: Scope
    restricted: bool
    session_id: str | None = None
    key_hash: str | None = None

    @property
    def is_client_secret(self) -> bool:
        return self.session_id is not None
