"""Change notices between gateway processes, for a change (an event, or a session update that
records none): on Postgres a `NOTIFY` in its transaction, delivered to listening processes when
it commits and dropped if it rolls back; on any database, the engine's after-commit callbacks
(`app.db.on_commit`: a Redis publish when REDIS_URL is set, see `app.services.notices`). A
notice carries nothing (the tables are the source of truth): a process that misses one learns
of the change at its next poll, later but no less."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import call_after_commit

CHANNEL = "gateway_changes"


async def announce(db: AsyncSession) -> None:
    """Tell the listening processes, at commit, that something changed. Postgres folds the
    notices of one transaction into one."""
    call_after_commit(db)
    if db.get_bind().dialect.name == "postgresql":
        await db.exec(select(func.pg_notify(CHANNEL, "")))
