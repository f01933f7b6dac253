"""Webhook use cases: managing endpoints, and the worker's deliveries (claim due attempts, then
record each answer). The HTTP request itself is the worker's (`app.worker`): no transaction is
open while an endpoint is being called."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from app.db import read_session, write_session
from app.domain import ids
from app.domain import metadata as metadata_rules
from app.domain import webhooks as rules
from app.domain.access import Scope
from app.domain.errors import ResourceMissing
from app.domain.sessions import KEEP
from app.domain.webhooks import EndpointCreate, EndpointUpdate
from app.models import WebhookEndpoint, utcnow
from app.services import Database
from app.store import webhooks as store
from app.store.webhooks import Attempt


def _missing(endpoint_id: str) -> ResourceMissing:
    return ResourceMissing(f"No such webhook endpoint: '{endpoint_id[:100]}'", field=["id"])


async def create(database: Database, *, scope: Scope, params: EndpointCreate) -> WebhookEndpoint:
    """A new enabled endpoint with a fresh `whsec_` secret (the only answer that shows it).

    Raises:
        DomainError: a parameter breaks a rule, or the scope has its maximum of endpoints.
    """
    endpoint = WebhookEndpoint(
        id=ids.new_id(ids.WEBHOOK_ENDPOINT),
        account_id=scope.account_id,
        livemode=scope.livemode,
        created=utcnow(),
        url=rules.check_url(params.url, livemode=scope.livemode),
        description=rules.check_description(params.description),
        metadata_=metadata_rules.merge({}, params.metadata or {}),
        enabled_events=rules.check_enabled_events(params.enabled_events),
        api_version=params.api_version,
        secret=rules.new_secret(),
    )
    async with write_session(database.engine) as db:
        rules.check_endpoint_count(await store.count_endpoints(db, scope=scope))
        return await store.add_endpoint(db, endpoint)


async def get(database: Database, *, scope: Scope, endpoint_id: str) -> WebhookEndpoint:
    """Raises: ResourceMissing."""
    async with read_session(database.engine) as db:
        found = await store.get_endpoint(db, scope=scope, endpoint_id=endpoint_id)
    if found is None:
        raise _missing(endpoint_id)
    return found


async def list_all(database: Database, *, scope: Scope) -> list[WebhookEndpoint]:
    """Every endpoint of the scope, newest first (there are at most `rules.MAX_ENDPOINTS`)."""
    async with read_session(database.engine) as db:
        return await store.list_endpoints(db, scope=scope)


async def update(
    database: Database, *, scope: Scope, endpoint_id: str, update: EndpointUpdate
) -> WebhookEndpoint:
    """The changes asked for, and a new secret when `update.roll_secret`: the one it replaces
    still signs deliveries (beside the new one) for `update.expire_previous_secret_in` seconds
    (24 h when None, 0 to end it at once).

    Raises:
        DomainError: no such endpoint, or a bad value.
    """
    grace = rules.check_grace_seconds(update.expire_previous_secret_in)
    async with write_session(database.engine) as db:
        endpoint = await store.get_endpoint(db, scope=scope, endpoint_id=endpoint_id, lock=True)
        if endpoint is None:
            raise _missing(endpoint_id)
        if update.url is not KEEP:
            endpoint.url = rules.check_url(update.url, livemode=scope.livemode)
        if update.enabled_events is not KEEP:
            endpoint.enabled_events = rules.check_enabled_events(update.enabled_events)
        if update.description is not KEEP:
            endpoint.description = rules.check_description(update.description)
        if update.metadata is not KEEP:
            endpoint.metadata_ = metadata_rules.merge(endpoint.metadata_, update.metadata)
        if update.disabled is not KEEP:
            endpoint.disabled = update.disabled
        if update.roll_secret:
            endpoint.previous_secret = endpoint.secret if grace else None
            endpoint.previous_secret_expires_at = (
                utcnow() + timedelta(seconds=grace) if grace else None
            )
            endpoint.secret = rules.new_secret()
        db.add(endpoint)
        await db.flush()
        return endpoint


async def delete(database: Database, *, scope: Scope, endpoint_id: str) -> None:
    """The endpoint and every delivery to it. Raises: ResourceMissing."""
    async with write_session(database.engine) as db:
        endpoint = await store.get_endpoint(db, scope=scope, endpoint_id=endpoint_id, lock=True)
        if endpoint is None:
            raise _missing(endpoint_id)
        await store.delete_endpoint(db, endpoint=endpoint)


async def pending_counts(database: Database, *, event_ids: Sequence[str]) -> dict[str, int]:
    """Stripe's `pending_webhooks` of each event (0 when left out)."""
    return await store.pending_counts(database.reader, event_ids=event_ids)


async def claim_due(database: Database, *, timeout_seconds: float, limit: int) -> list[Attempt]:
    """Due attempts for this process to send now, each leased for its timeout and a margin."""
    now = utcnow()
    async with read_session(database.engine) as db:
        if not await store.any_due(db, now=now):
            return []
    lease_until = now + timedelta(seconds=timeout_seconds + LEASE_MARGIN_SECONDS)
    async with write_session(database.engine) as db:
        return await store.claim_due(db, now=now, lease_until=lease_until, limit=limit)


async def release(database: Database, *, attempts: Sequence[Attempt]) -> int:
    """Hand back claimed attempts whose answer was not recorded (a process stopping mid-send):
    due at once for any process, and not counted against the retry schedule, since no answer
    was seen. An attempt already recorded, or claimed again meanwhile, is left alone. How many
    were handed back."""
    now = utcnow()
    released = 0
    async with write_session(database.engine) as db:
        for attempt in attempts:
            released += await store.release_attempt(db, attempt=attempt, due_at=now)
    return released


# How long after an attempt's timeout its lease ends: a process that died mid-attempt leaves the
# delivery to another process after this.
LEASE_MARGIN_SECONDS = 30.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Answer:
    """What came back from an attempt: an HTTP status, or `error` when none came."""

    status: int | None
    error: str | None = None
    body: str | None = None


async def record(
    database: Database, *, attempt: Attempt, answer: Answer, schedule: Sequence[float]
) -> bool:
    """Store an attempt's answer: done on a 2xx, else due again after the schedule's delay for
    this attempt, or failed for good once the schedule is spent. False when the attempt had
    outlived its lease and another claim holds the delivery (nothing is written)."""
    now = utcnow()
    delay = rules.retry_delay(attempt.attempt, schedule)
    async with write_session(database.engine) as db:
        return await store.record_attempt(
            db,
            attempt=attempt,
            at=now,
            status=answer.status,
            error=answer.error,
            response=(answer.body or "")[: rules.RESPONSE_EXCERPT_CHARACTERS] or None,
            next_attempt_at=None if delay is None else now + timedelta(seconds=delay),
        )


__all__ = ["Answer", "Attempt", "EndpointCreate", "EndpointUpdate"]
