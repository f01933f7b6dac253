"""Automatic persisted queries: the shared, bounded store of registered documents."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from app.db import write_session
from app.services import Database
from app.store import persisted_queries as store
from app.store.persisted_queries import Found


async def find(database: Database, *, sha256: str) -> Found | None:
    """The document stored under `sha256`, with when it was last used; None when unknown."""
    return await store.find(database.reader, sha256=sha256)


async def register(
    database: Database, *, sha256: str, query: str, now: datetime, keep: int
) -> list[str]:
    """Store a document (already checked against its hash and the query limits) and trim the
    store to the `keep` most recently used; one transaction.

    Returns:
        The hashes evicted to make room.
    """
    async with write_session(database.engine) as db:
        added = await store.insert(db, sha256=sha256, query=query, now=now)
        return await store.evict(db, keep=keep) if added else []


async def touch(database: Database, *, hashes: Collection[str], now: datetime) -> None:
    """Record that these documents were used at `now`."""
    async with write_session(database.engine) as db:
        await store.touch(db, hashes=hashes, now=now)
