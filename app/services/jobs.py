"""The background worker's use case: finish one due job (processing a submission, redacting a
session). See `store.jobs` for why each job's work lands exactly once across processes, and why
a verifier is called outside any transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import read_session, write_session
from app.models import Job, VerificationSession, utcnow
from app.services import Database
from app.store import jobs, lifecycle
from app.store.jobs import JobKind
from app.store.sessions import get_session_by_id, lock_session_by_id, lock_session_unless_locked
from app.verifiers import Submission, Verifier

logger = logging.getLogger("app.worker")


async def run_due(
    database: Database,
    *,
    verifier_for: Callable[[VerificationSession], Verifier],
    retry_after: timedelta,
    lease: timedelta,
) -> bool:
    """Finish one due job; False when none is due (or another process took it). A job that
    fails is logged and due again after `retry_after`, its work rolled back. A submission's
    verifier is called outside any transaction, for at most `lease` (see `store.jobs`)."""
    async with read_session(database.engine) as db:
        if not await jobs.any_due(db, now=utcnow()):
            return False
    async with write_session(database.engine) as db:
        job = await jobs.claim_due(db, now=utcnow())
        if job is None:
            return False  # another process took it
        job_id = job.id
        assert job_id is not None
        if job.kind == JobKind.REDACT:
            return await _redact(db, job, retry_after)
        session = await get_session_by_id(db, session_id=job.session_id)
        if session is None:
            await jobs.finish(db, job=job)
            return True
        lease_until = utcnow() + lease
        await jobs.lease(db, job=job, until=lease_until)
        submission = Submission(
            session_id=session.id,
            livemode=session.livemode,
            type=session.type,
            options=session.options,
            provided_details=session.provided_details,
            data=job.payload["submitted"],
        )
        verifier_session = session
    # The lease is committed: the verifier runs holding no lock (SQLite's write lock included).
    # Choosing it is inside the try, so a missing live verifier fails the job (retried after
    # `retry_after`) instead of rolling the lease back and spinning on it at every poll.
    try:
        async with asyncio.timeout(lease.total_seconds()):
            decision = await verifier_for(verifier_session).decide(submission)
    except asyncio.CancelledError:
        # Shutting down: hand the job back, due at once, for the next process.
        async with write_session(database.engine) as db:
            await jobs.release(db, job_id=job_id, lease_until=lease_until, run_at=utcnow())
        raise
    except Exception:
        logger.exception("job %s failed; it will be retried", job_id)
        await _retry_later(database, job_id, lease_until, retry_after)
        return True
    try:
        async with write_session(database.engine) as db:
            # The session first, waiting: a mutation holding it (a simulation finishing it, say)
            # deletes this job, and the job is read only after it commits.
            session = await lock_session_by_id(db, session_id=submission.session_id)
            job = await jobs.held(db, job_id=job_id, lease_until=lease_until)
            if session is None or job is None:
                return True  # done meanwhile, or outlived its lease and taken by another claim
            await lifecycle.finish_processing(db, session=session, attempt=decision)
            await jobs.finish(db, job=job)
    except Exception:
        logger.exception("job %s failed; it will be retried", job_id)
        await _retry_later(database, job_id, lease_until, retry_after)
    return True


async def _redact(db: AsyncSession, job: Job, retry_after: timedelta) -> bool:
    # Without waiting: a mutation holding the session's lock may be waiting for this very job
    # row, and waiting here would deadlock. The job is simply due again at the next poll.
    session = await lock_session_unless_locked(db, session_id=job.session_id)
    if session is None:
        return False
    try:
        # In a savepoint: when it fails, its changes roll back but the claim (the job row's
        # lock) is kept until the job is rescheduled, so no other process runs it in between.
        async with db.begin_nested():
            await lifecycle.finish_redaction(db, session=session)
    except Exception:
        logger.exception("job %s failed; it will be retried", job.id)
        assert job.id is not None
        await jobs.reschedule(db, job_id=job.id, run_at=utcnow() + retry_after)
        return True
    await jobs.finish(db, job=job)
    return True


async def _retry_later(
    database: Database, job_id: int, lease_until: datetime, retry_after: timedelta
) -> None:
    async with write_session(database.engine) as db:
        await jobs.release(
            db, job_id=job_id, lease_until=lease_until, run_at=utcnow() + retry_after
        )
