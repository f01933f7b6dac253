"""Change notices between gateway processes: a Postgres `NOTIFY` in the transaction of a change
(an event, or a session update that records none), delivered to listening processes when it
commits, and dropped if it rolls back. A notice carries nothing (the tables are the source of
truth): a process that misses one learns of the change at its next poll, later but no less.
On SQLite there are no notices; processes over one file poll."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

CHANNEL = "gateway_changes"


async def announce(db: AsyncSession) -> None:
    """Tell the listening processes, at commit, that something changed. Postgres folds the
    notices of one transaction into one."""
    if db.get_bind().dialect.name != "postgresql":
        return
    await db.exec(select(func.pg_notify(CHANNEL, "")))
