"""Documents registered through automatic persisted queries (`persisted_queries`), by SHA-256.

A lookup is one primary-key read on the lean reader. A registration inserts the row (or, when
another process stored the same hash first, touches it) and then trims the table to its bound,
newest `last_used` first, in the caller's transaction. Rows are content-addressed: a hash always
names the same text, so a row is never updated except for its `last_used`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, delete, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Query, Reader
from app.models import PersistedQuery


class Found(NamedTuple):
    query: str
    last_used: datetime


_FIND = Query(
    sa_select(col(PersistedQuery.query), col(PersistedQuery.last_used)).where(
        col(PersistedQuery.sha256) == bindparam("sha256")
    ),
    record=Found,
)


async def find(reader: Reader, *, sha256: str) -> Found | None:
    rows = await reader.all(_FIND, {"sha256": sha256})
    return rows[0] if rows else None


async def insert(db: AsyncSession, *, sha256: str, query: str, now: datetime) -> bool:
    """Store the document unless its hash is stored already (then only touch it).

    Returns:
        True when a row was added, so the table may now be over its bound.
    """
    try:
        async with db.begin_nested():
            db.add(PersistedQuery(sha256=sha256, query=query, created=now, last_used=now))
            await db.flush()
    except IntegrityError:
        # Another process registered it between our lookup and now (Postgres waits for its
        # transaction, then refuses the duplicate key; SQLite's writers never overlap).
        await touch(db, hashes=[sha256], now=now)
        return False
    return True


async def touch(db: AsyncSession, *, hashes: Collection[str], now: datetime) -> None:
    """Mark the documents as used at `now` (never moving `last_used` back)."""
    await db.exec(
        update(PersistedQuery)
        .where(col(PersistedQuery.sha256).in_(list(hashes)), col(PersistedQuery.last_used) < now)
        .values(last_used=now)
    )


async def evict(db: AsyncSession, *, keep: int) -> list[str]:
    """Delete every document but the `keep` most recently used; the hashes deleted.

    The subquery walks `ix_persisted_queries_last_used` from its newest end past `keep` entries;
    registrations are rare (once per new document), so that walk is not on any hot path.
    """
    beyond = (
        select(col(PersistedQuery.sha256))
        .order_by(col(PersistedQuery.last_used).desc(), col(PersistedQuery.sha256).desc())
        .offset(keep)
    )
    result = await db.exec(
        delete(PersistedQuery)
        .where(col(PersistedQuery.sha256).in_(beyond))
        .returning(col(PersistedQuery.sha256))
    )
    return [row[0] for row in result.all()]
