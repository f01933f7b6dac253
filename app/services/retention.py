"""The worker's purges (`app.domain.retention` says what is too old): expired idempotency
records, old events with their finished webhook deliveries, long-spent hosted links.

Each call purges one batch of each kind, each batch in its own short write transaction, so no
purge holds SQLite's write lock, or Postgres's row locks, for long; the worker calls again
(after a short pause) while a batch came back full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db import write_session
from app.domain.retention import Retention
from app.models import utcnow
from app.services import Database
from app.store import events, idempotency, links

# Rows one statement deletes at most (an event batch also takes its finished deliveries).
BATCH = 500


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind one call deleted."""

    idempotency_keys: int = 0
    events: int = 0
    hosted_links: int = 0

    def more_after(self, batch: int) -> bool:
        """Whether some kind filled its batch, so more may be waiting."""
        return max(self.idempotency_keys, self.events, self.hosted_links) >= batch

    @property
    def total(self) -> int:
        return self.idempotency_keys + self.events + self.hosted_links


async def purge_some(
    database: Database,
    *,
    retention: Retention,
    claim_lease: timedelta,
    batch: int = BATCH,
    now: datetime | None = None,
) -> Purged:
    """One batch of each kind that retention covers; kinds set to 0 are left alone.

    Args:
        claim_lease: How long an unfinished idempotency claim may still be running
            (`app.web.idempotency.CLAIM_LEASE`): such a claim is never purged.
        batch: The most rows of each kind deleted.
    """
    now = now or utcnow()
    keys = 0
    if retention.purges_idempotency_keys:
        async with write_session(database.engine) as db:
            keys = await idempotency.purge_expired(
                db, now=now, abandoned_before=now - claim_lease, limit=batch
            )
    purged_events = 0
    if (event_cutoff := retention.event_cutoff(now)) is not None:
        async with write_session(database.engine) as db:
            purged_events = await events.purge_events(db, created_before=event_cutoff, limit=batch)
    purged_links = 0
    if (link_cutoff := retention.hosted_link_cutoff(now)) is not None:
        async with write_session(database.engine) as db:
            purged_links = await links.purge_links(db, done_before=link_cutoff, limit=batch)
    return Purged(idempotency_keys=keys, events=purged_events, hosted_links=purged_links)
