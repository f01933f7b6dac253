"""Webhook endpoints and deliveries.

A delivery row is written for each endpoint that wants an event, in the event's transaction
(`enqueue_deliveries`, called by `store.events.record_event`). Workers in any process claim due
rows (`claim_due`: `FOR UPDATE SKIP LOCKED` on Postgres, the write lock on SQLite) by pushing
`next_attempt_at` past the attempt's timeout, send outside any transaction, then record the
answer (`record_attempt`) only if no later claim took the row meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Query, Reader
from app.domain import webhooks as rules
from app.domain.access import Scope
from app.models import Event, WebhookDelivery, WebhookEndpoint, utcnow
from app.store import reads


async def count_endpoints(db: AsyncSession, *, scope: Scope) -> int:
    statement = (
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(
            col(WebhookEndpoint.account_id) == scope.account_id,
            col(WebhookEndpoint.livemode) == scope.livemode,
        )
    )
    return int((await db.exec(statement)).one())


async def add_endpoint(db: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    db.add(endpoint)
    await db.flush()
    return endpoint


async def get_endpoint(
    db: AsyncSession, *, scope: Scope, endpoint_id: str, lock: bool = False
) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(
        col(WebhookEndpoint.id) == endpoint_id,
        col(WebhookEndpoint.account_id) == scope.account_id,
        col(WebhookEndpoint.livemode) == scope.livemode,
    )
    if lock:
        statement = statement.with_for_update()
    return (await db.exec(statement)).first()


async def list_endpoints(db: AsyncSession, *, scope: Scope) -> list[WebhookEndpoint]:
    """Every endpoint of the scope (at most `rules.MAX_ENDPOINTS`), newest first."""
    statement = (
        select(WebhookEndpoint)
        .where(
            col(WebhookEndpoint.account_id) == scope.account_id,
            col(WebhookEndpoint.livemode) == scope.livemode,
        )
        .order_by(col(WebhookEndpoint.created).desc(), col(WebhookEndpoint.id).desc())
    )
    return list((await db.exec(statement)).all())


async def delete_endpoint(db: AsyncSession, *, endpoint: WebhookEndpoint) -> None:
    """The endpoint and its deliveries, sent or not: nothing more goes to it."""
    await db.exec(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id))
    await db.delete(endpoint)
    await db.flush()


async def enqueue_deliveries(db: AsyncSession, *, event: Event) -> None:
    """A delivery, due at once, to each enabled endpoint of the event's scope that wants it."""
    endpoints = (
        await db.exec(
            select(WebhookEndpoint.id, WebhookEndpoint.enabled_events).where(
                col(WebhookEndpoint.account_id) == event.account_id,
                col(WebhookEndpoint.livemode) == event.livemode,
                col(WebhookEndpoint.disabled).is_(False),
            )
        )
    ).all()
    now = utcnow()
    for endpoint_id, enabled_events in endpoints:
        if rules.wants(enabled_events, event.type):
            db.add(
                WebhookDelivery(
                    event_id=event.id, endpoint_id=endpoint_id, created=now, next_attempt_at=now
                )
            )
    await db.flush()


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One claimed attempt: what to send where, and the claim (`attempt`, counting from 1)
    that `record_attempt` must still hold."""

    delivery_id: int
    attempt: int
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]
    api_version: str | None
    event: Any  # an events record (store.events.RECORD)
    livemode: bool
    lease_until: datetime


async def claim_due(
    db: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[Attempt]:
    """Up to `limit` due deliveries to enabled endpoints, oldest due first, each leased until
    `lease_until`: another process takes it only after that, if this one never answers."""
    due = (
        await db.exec(
            select(WebhookDelivery)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
            .where(
                col(WebhookDelivery.next_attempt_at) <= now,
                col(WebhookEndpoint.disabled).is_(False),
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
    ).all()
    if not due:
        return []
    endpoints = {
        endpoint.id: endpoint
        for endpoint in (
            await db.exec(
                select(WebhookEndpoint).where(
                    col(WebhookEndpoint.id).in_({row.endpoint_id for row in due})
                )
            )
        ).all()
    }
    events = {
        row.id: row
        for row in (
            await (await db.connection()).execute(
                sa_select(*_EVENT.columns).where(col(Event.id).in_({row.event_id for row in due}))
            )
        ).all()
    }
    claimed = []
    for row in due:
        assert row.id is not None
        row.attempts += 1
        row.next_attempt_at = lease_until
        endpoint = endpoints[row.endpoint_id]
        secrets = [endpoint.secret]
        if endpoint.previous_secret and (endpoint.previous_secret_expires_at or now) > now:
            secrets.append(endpoint.previous_secret)
        claimed.append(
            Attempt(
                delivery_id=row.id,
                attempt=row.attempts,
                endpoint_id=endpoint.id,
                url=endpoint.url,
                secrets=tuple(secrets),
                api_version=endpoint.api_version,
                event=_EVENT.type(*events[row.event_id]),
                livemode=endpoint.livemode,
                lease_until=lease_until,
            )
        )
    await db.flush()
    return claimed


async def any_due(db: AsyncSession, *, now: datetime) -> bool:
    """Whether some delivery is due: a cheap read, so idle processes do not take SQLite's write
    lock on every poll."""
    statement = select(col(WebhookDelivery.id)).where(col(WebhookDelivery.next_attempt_at) <= now)
    return (await db.exec(statement.limit(1))).first() is not None


async def count_due(db: AsyncSession, *, now: datetime) -> int:
    """How many deliveries have an attempt due; a range read on the due index."""
    statement = select(func.count()).where(col(WebhookDelivery.next_attempt_at) <= now)
    return int((await db.exec(statement)).one())


async def record_attempt(
    db: AsyncSession,
    *,
    attempt: Attempt,
    at: datetime,
    status: int | None,
    error: str | None,
    response: str | None,
    next_attempt_at: datetime | None,
) -> bool:
    """The answer to an attempt; False (and nothing written) when a later claim holds the row,
    because this attempt outlived its lease."""
    done = status is not None and rules.succeeded(status)
    result = await db.exec(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == attempt.delivery_id,
            col(WebhookDelivery.attempts) == attempt.attempt,
            col(WebhookDelivery.succeeded_at).is_(None),
        )
        .values(
            last_attempt_at=at,
            last_status=status,
            last_error=error,
            last_response=response,
            succeeded_at=at if done else None,
            next_attempt_at=None if done else next_attempt_at,
        )
    )
    return bool(result.rowcount)


async def release_attempt(db: AsyncSession, *, attempt: Attempt, due_at: datetime) -> bool:
    """Hand a claimed attempt back unsent, due at `due_at` and not counted, unless its answer
    was recorded or another claim holds the delivery by now (then False)."""
    result = await db.exec(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == attempt.delivery_id,
            col(WebhookDelivery.attempts) == attempt.attempt,
            col(WebhookDelivery.next_attempt_at) == attempt.lease_until,
            col(WebhookDelivery.succeeded_at).is_(None),
        )
        .values(attempts=attempt.attempt - 1, next_attempt_at=due_at)
    )
    return bool(result.rowcount)


_EVENT = reads.Record(Event)


def has_pending() -> ColumnElement[bool]:
    """The event has a delivery that has not (yet) reached a 2xx: pending, or failed for good."""
    return exists().where(
        col(WebhookDelivery.event_id) == col(Event.id), col(WebhookDelivery.succeeded_at).is_(None)
    )


@lru_cache(maxsize=64)
def _pending_counts(count: int) -> Query:
    return Query(
        sa_select(col(WebhookDelivery.event_id), func.count())
        .where(
            reads.one_of(WebhookDelivery.event_id, "event", count),
            col(WebhookDelivery.succeeded_at).is_(None),
        )
        .group_by(col(WebhookDelivery.event_id))
    )


async def pending_counts(reader: Reader, *, event_ids: Sequence[str]) -> dict[str, int]:
    """For each event, how many endpoints have not yet answered one of its deliveries with a
    2xx (Stripe's `pending_webhooks`), in one query; events without any are left out."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    rows = await reader.all(_pending_counts(len(wanted)), reads.one_of_values("event", wanted))
    return {event_id: int(count) for event_id, count in rows}
