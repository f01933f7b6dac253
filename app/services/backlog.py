"""What the database holds to do: due background jobs and webhook attempts, for /metrics. Read
at scrape time by the scraping process alone, so the figures are the database's, not a sum over
the processes."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import read_session
from app.models import utcnow
from app.services import Database
from app.store import jobs, webhooks


@dataclass(frozen=True)
class Backlog:
    """Attributes:
    jobs_due: Background jobs whose `run_at` has passed (a leased job is not due).
    oldest_due_job_age_seconds: How long ago the oldest of them fell due; 0 when none is.
    webhook_attempts_due: Webhook deliveries whose next attempt is due.
    """

    jobs_due: int
    oldest_due_job_age_seconds: float
    webhook_attempts_due: int


async def backlog(database: Database) -> Backlog:
    now = utcnow()
    async with read_session(database.engine) as db:
        due, oldest = await jobs.due_summary(db, now=now)
        attempts = await webhooks.count_due(db, now=now)
    age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    return Backlog(jobs_due=due, oldest_due_job_age_seconds=age, webhook_attempts_due=attempts)
