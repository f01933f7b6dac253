"""The background worker every gateway process runs: it finishes due jobs (processing a
submission, redacting a session) through `services.jobs`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from app.services import Database, jobs
from app.verifiers import TestModeSimulator, Verifier

if TYPE_CHECKING:
    from app.models import VerificationSession

logger = logging.getLogger("app.worker")

# How long shutdown waits for the job in hand (a verifier call, say) before canceling it.
SHUTDOWN_GRACE_SECONDS = 10.0


class Worker:
    def __init__(
        self,
        *,
        database: Database,
        live_verifier: Verifier | None,
        poll_seconds: float,
        retry_seconds: float = 30.0,
    ) -> None:
        self.database = database
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
        return await jobs.run_due(
            self.database, verifier_for=self._verifier, retry_after=self.retry_after
        )

    def _verifier(self, session: VerificationSession) -> Verifier:
        if not session.livemode:
            return self.simulator
        if self.live_verifier is None:
            # Submissions are refused without one, so this is a configuration change mid-flight.
            raise RuntimeError("a live session is processing but no VERIFIER is configured")
        return self.live_verifier
