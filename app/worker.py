"""The background worker every gateway process runs: it finishes due jobs (processing a
submission, redacting a session). See `store.jobs` for why each job runs exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import read_session, write_session
from app.models import Job, VerificationSession, utcnow
from app.store import jobs, lifecycle
from app.store.jobs import JobKind
from app.verifiers import Submission, TestModeSimulator, Verifier

logger = logging.getLogger("app.worker")

# How long shutdown waits for the job in hand (a verifier call, say) before canceling it.
SHUTDOWN_GRACE_SECONDS = 10.0


class Worker:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        live_verifier: Verifier | None,
        poll_seconds: float,
        retry_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.retry_after = timedelta(seconds=retry_seconds)
        self.live_verifier = live_verifier
        self.poll_seconds = poll_seconds
        self.simulator = TestModeSimulator()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set: drain due jobs, then wait one poll interval."""
        while not stop.is_set():
            try:
                while not stop.is_set() and await self.run_one():
                    pass
            except Exception:
                logger.exception("background worker failed; retrying after the poll interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def shut_down(self, task: asyncio.Task[None]) -> None:
        """Wait for `run` (whose `stop` is set) to finish its job in hand, but not forever: a job
        still running after the grace period is canceled. Its transaction rolls back, so the job
        stays in the table and the next process runs it."""
        try:
            await asyncio.wait_for(task, timeout=SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            logger.warning(
                "a background job was still running %gs into shutdown; it was canceled and "
                "will run again",
                SHUTDOWN_GRACE_SECONDS,
            )

    async def run_one(self) -> bool:
        """Finish one due job; False when none is due."""
        # A cheap read first, so idle processes do not take SQLite's write lock every poll.
        async with read_session(self.engine) as db:
            due = (
                await db.exec(select(col(Job.id)).where(col(Job.run_at) <= utcnow()).limit(1))
            ).first()
        if due is None:
            return False
        async with write_session(self.engine) as db:
            job = await jobs.claim_due(db, now=utcnow())
            if job is None:
                return False  # another process took it
            job_id = job.id
            # Lock the session without waiting: a mutation holding it (a simulation finishing
            # it, say) may be waiting for this very job row, and waiting here would deadlock.
            # The job is simply due again at the next poll.
            session = (
                await db.exec(
                    select(VerificationSession)
                    .where(col(VerificationSession.id) == job.session_id)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if session is None:
                return False
            try:
                # The job's work runs in a savepoint: when it fails, its changes roll back but the
                # claim (the job row's lock) is kept until the job is rescheduled, so no other
                # process can run it again in between.
                async with db.begin_nested():
                    await self._run(db, job, session)
            except Exception:
                logger.exception("job %s failed; it will be retried", job_id)
                await db.exec(
                    update(Job)
                    .where(col(Job.id) == job_id)
                    .values(run_at=utcnow() + self.retry_after)
                )
                return True
            await jobs.finish(db, job=job)
        return True

    async def _run(self, db: AsyncSession, job: Job, session: VerificationSession) -> None:
        if job.kind == JobKind.PROCESS:
            decision = await self._verifier(session).decide(
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

    def _verifier(self, session: VerificationSession) -> Verifier:
        if not session.livemode:
            return self.simulator
        if self.live_verifier is None:
            # Submissions are refused without one, so this is a configuration change mid-flight.
            raise RuntimeError("a live session is processing but no VERIFIER is configured")
        return self.live_verifier
