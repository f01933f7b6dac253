"""The background worker's use case: finish one due job (processing a submission, redacting a
session). See `store.jobs` for why each job runs exactly once across processes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import read_session, write_session
from app.models import Job, VerificationSession, utcnow
from app.services import Database
from app.store import jobs, lifecycle
from app.store.jobs import JobKind
from app.store.sessions import lock_session_unless_locked
from app.verifiers import Submission, Verifier

logger = logging.getLogger("app.worker")


async def run_due(
    database: Database,
    *,
    verifier_for: Callable[[VerificationSession], Verifier],
    retry_after: timedelta,
) -> bool:
    """Finish one due job; False when none is due (or another process took it). A job that
    fails is logged and due again after `retry_after`, its work rolled back."""
    async with read_session(database.engine) as db:
        if not await jobs.any_due(db, now=utcnow()):
            return False
    async with write_session(database.engine) as db:
        job = await jobs.claim_due(db, now=utcnow())
        if job is None:
            return False  # another process took it
        job_id = job.id
        assert job_id is not None
        # Without waiting: a mutation holding the session's lock (a simulation finishing it,
        # say) may be waiting for this very job row, and waiting here would deadlock. The job
        # is simply due again at the next poll.
        session = await lock_session_unless_locked(db, session_id=job.session_id)
        if session is None:
            return False
        try:
            # The job's work runs in a savepoint: when it fails, its changes roll back but the
            # claim (the job row's lock) is kept until the job is rescheduled, so no other
            # process can run it again in between.
            async with db.begin_nested():
                await _run(db, job, session, verifier_for)
        except Exception:
            logger.exception("job %s failed; it will be retried", job_id)
            await jobs.reschedule(db, job_id=job_id, run_at=utcnow() + retry_after)
            return True
        await jobs.finish(db, job=job)
    return True


async def _run(
    db: AsyncSession,
    job: Job,
    session: VerificationSession,
    verifier_for: Callable[[VerificationSession], Verifier],
) -> None:
    if job.kind == JobKind.PROCESS:
        decision = await verifier_for(session).decide(
            Submission(
                session_id=session.id,
                livemode=session.livemode,
                type=session.type,
                options=session.options,
                provided_details=session.provided_details,
                data=job.payload["submitted"],
            )
        )
        await lifecycle.finish_processing(db, session=session, attempt=decision)
    elif job.kind == JobKind.REDACT:
        await lifecycle.finish_redaction(db, session=session)
