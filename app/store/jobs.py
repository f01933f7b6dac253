"""Durable background jobs: processing a submission, finishing a redaction.

A job is claimed in a write transaction (on Postgres `FOR UPDATE SKIP LOCKED`, so several
gateway processes share the queue; on SQLite the write transaction, BEGIN IMMEDIATE, already
serialises the claim). A redaction is done and deleted in that same transaction. A submission's
verifier call may take seconds, so it runs outside any transaction: the claim leases the job by
moving its `run_at` to the lease's end, and the answer is applied in a second, short transaction
only while that lease still holds (`held`). A process that dies mid-call leaves the lease to
expire, and the job is due again; one that stops gracefully hands it back (`release`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, update
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


async def due_summary(db: AsyncSession, *, now: datetime) -> tuple[int, datetime | None]:
    """How many jobs are due and when the oldest of them fell due (None when none is); one
    range read on the `run_at` index."""
    statement = select(func.count(), func.min(col(Job.run_at))).where(col(Job.run_at) <= now)
    count, oldest = (await db.exec(statement)).one()
    return int(count), oldest


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


async def lease(db: AsyncSession, *, job: Job, until: datetime) -> None:
    """Keep the claimed job from every other claim until `until`."""
    job.run_at = until
    db.add(job)
    await db.flush()


async def held(db: AsyncSession, *, job_id: int, lease_until: datetime) -> Job | None:
    """The job, locked, if the lease that ends at `lease_until` still holds it; None once it is
    done, or another claim took it after the lease ran out."""
    statement = (
        select(Job).where(col(Job.id) == job_id, col(Job.run_at) == lease_until).with_for_update()
    )
    return (await db.exec(statement)).first()


async def release(
    db: AsyncSession, *, job_id: int, lease_until: datetime, run_at: datetime
) -> None:
    """Hand a leased job back, due at `run_at`, unless another claim holds it by now."""
    await db.exec(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.run_at) == lease_until)
        .values(run_at=run_at)
    )


async def finish(db: AsyncSession, *, job: Job) -> None:
    await db.exec(delete(Job).where(col(Job.id) == job.id))


async def reschedule(db: AsyncSession, *, job_id: int, run_at: datetime) -> None:
    await db.exec(update(Job).where(col(Job.id) == job_id).values(run_at=run_at))


async def cancel_pending(db: AsyncSession, *, session_id: str, kind: JobKind) -> None:
    """Drop a session's pending jobs of a kind (a simulated outcome finished its processing)."""
    await db.exec(delete(Job).where(col(Job.session_id) == session_id, col(Job.kind) == kind.value))
