"""Durable background jobs: processing a submission, finishing a redaction.

A job row is claimed, done and deleted inside one transaction. On Postgres the claim is
`FOR UPDATE SKIP LOCKED`, so several gateway processes share the queue and each job is run by
exactly one of them; a process that dies mid-job rolls back, and the job is due again at once.
On SQLite the write transaction (BEGIN IMMEDIATE) already serialises the claim.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Job, utcnow


class JobKind(StrEnum):
    PROCESS = "process"
    REDACT = "redact"


async def enqueue(
    db: AsyncSession,
    *,
    kind: JobKind,
    session_id: str,
    delay_seconds: float,
    payload: dict[str, Any],
) -> Job:
    job = Job(
        kind=kind.value,
        session_id=session_id,
        run_at=utcnow() + timedelta(seconds=delay_seconds),
        payload=payload,
    )
    db.add(job)
    await db.flush()
    return job


async def any_due(db: AsyncSession, *, now: datetime) -> bool:
    """Whether some job is due: a cheap read, so idle processes do not take SQLite's write lock
    on every poll."""
    return (
        await db.exec(select(col(Job.id)).where(col(Job.run_at) <= now).limit(1))
    ).first() is not None


async def claim_due(db: AsyncSession, *, now: datetime) -> Job | None:
    """The oldest due job, locked for this transaction; None when nothing is due."""
    statement = (
        select(Job)
        .where(col(Job.run_at) <= now)
        .order_by(col(Job.run_at), col(Job.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await db.exec(statement)).first()


async def finish(db: AsyncSession, *, job: Job) -> None:
    await db.exec(delete(Job).where(col(Job.id) == job.id))


async def reschedule(db: AsyncSession, *, job_id: int, run_at: datetime) -> None:
    await db.exec(update(Job).where(col(Job.id) == job_id).values(run_at=run_at))


async def cancel_pending(db: AsyncSession, *, session_id: str, kind: JobKind) -> None:
    """Drop a session's pending jobs of a kind (a simulated outcome finished its processing)."""
    await db.exec(delete(Job).where(col(Job.session_id) == session_id, col(Job.kind) == kind.value))
