"""Who is calling: API keys and client secrets."""

from __future__ import annotations

from app.domain.access import Principal
from app.services import Database
from app.store import accounts


async def authenticate(database: Database, *, key: str) -> Principal | None:
    """The principal an API key or a session's client secret stands for; None for a malformed,
    unknown, spent or expired one."""
    return await accounts.authenticate(database.reader, key=key)
