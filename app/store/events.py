"""Events: written in the transaction of the change they record, listed in sequence order, purged
in batches once past EVENT_RETENTION_DAYS (`app.services.retention`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, ColumnElement, bindparam, delete, exists, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Reader
from app.domain import events as event_rules
from app.domain import ids
from app.domain.access import Scope
from app.domain.lifecycle import EventType
from app.models import Event, VerificationSession, WebhookDelivery, utcnow
from app.origin import api_request
from app.pagination import PageRequest
from app.store import keyset, notices, reads, webhooks
from app.store.keyset import Page


@dataclass(frozen=True, kw_only=True)
class EventFilter:
    types: Sequence[str] | None = None
    session_id: str | None = None
    created_gt: datetime | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    created_lte: datetime | None = None
    # Stripe's `delivery_success`: only events every endpoint answered with a 2xx (True), or
    # only those with a delivery pending or failed (False).
    delivery_success: bool | None = None


def snapshot_of(session: VerificationSession) -> dict[str, Any]:
    return event_rules.snapshot(
        id=session.id,
        created=session.created,
        livemode=session.livemode,
        status=session.status,
        type=session.type,
        client_reference_id=session.client_reference_id,
        last_error=session.last_error,
        last_verification_report=session.last_verification_report,
        metadata=session.metadata_,
        options=session.options,
        provided_details=session.provided_details,
        redaction_status=session.redaction_status,
        related_customer=session.related_customer,
        related_person=session.related_person,
        verification_flow=session.verification_flow,
    )


async def record_event(
    db: AsyncSession,
    *,
    session: VerificationSession,
    type: EventType,
    before: dict[str, Any] | None,
) -> Event:
    """Write the event for a change; `before` is the session's snapshot before it (None on create)."""
    await lock_scope(db, account_id=session.account_id, livemode=session.livemode)
    await notices.announce(db)
    origin = api_request.get()
    event = Event(
        id=ids.new_id(ids.EVENT),
        account_id=session.account_id,
        livemode=session.livemode,
        created=utcnow(),
        type=type.value,
        session_id=session.id,
        data=event_rules.event_data(before, snapshot_of(session)),
        request_id=origin.id if origin else None,
        idempotency_key=origin.idempotency_key if origin else None,
    )
    db.add(event)
    await db.flush()
    # In the event's own transaction: an event is never committed without its deliveries.
    await webhooks.enqueue_deliveries(db, event=event)
    return event


async def lock_scope(db: AsyncSession, *, account_id: str, livemode: bool) -> None:
    """Serialize this transaction's event inserts with those of other transactions in the same
    scope until it ends, so that a scope's sequences become visible in order (Postgres; SQLite
    has one writer at a time). Why: `app.store.event_stream`."""
    if db.get_bind().dialect.name != "postgresql":
        return
    key = f"events:{account_id}:{int(livemode)}"
    await db.exec(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


RECORD = reads.Record(Event)
_KEY = (col(Event.sequence),)


async def get_events(reader: Reader, *, scope: Scope, event_ids: Sequence[str]) -> dict[str, Any]:
    """The visible events among `event_ids`, by id, in one query (records, read-only)."""
    return await reads.get_by_ids(
        reader, RECORD, Event, prefix=ids.EVENT, scope=scope, wanted=event_ids
    )


@lru_cache(maxsize=256)
def _page(shape: tuple[bool, bool, bool], filters: tuple[str, ...]) -> keyset.PageQueries:
    conditions = [*reads.scoped(Event), *_filtered(filters)]
    return keyset.page_queries(
        rows=sa_select(*RECORD.columns).where(*conditions),
        keys=sa_select(col(Event.sequence)).where(*conditions),
        key=_KEY,
        shape=shape,
        record=RECORD.type,
    )


async def list_events(
    reader: Reader, *, scope: Scope, filter: EventFilter, page: PageRequest, far_side: bool = True
) -> Page[Any]:
    values = _filter_values(filter)
    return await keyset.list_page(
        reader,
        lambda shape: _page(shape, tuple(values)),
        values={**reads.scope_values(scope), **values},
        page=page,
        far_side=far_side,
    )


async def count_events(db: AsyncConnection, *, scope: Scope, filter: EventFilter) -> int:
    values = _filter_values(filter)
    return await reads.count(
        db, Event, scope=scope, conditions=_filtered(tuple(values)), values=values
    )


async def purge_events(db: AsyncSession, *, created_before: datetime, limit: int) -> int:
    """Delete at most `limit` events created before `created_before`, oldest first, with their
    finished webhook deliveries; returns how many events went.

    An event with a delivery still due or in flight (`next_attempt_at` set: waiting, leased by
    a worker, or held for a disabled endpoint) stays, so its attempts can still be signed and
    sent. A finished delivery never becomes due again, so one read then two DELETEs suffice;
    the event DELETE still checks that no delivery points at the event (the foreign key).
    """
    due = exists().where(
        col(WebhookDelivery.event_id) == col(Event.id),
        col(WebhookDelivery.next_attempt_at).is_not(None),
    )
    rows = (
        await db.exec(
            select(Event.sequence, Event.id)
            .where(col(Event.created) < created_before, ~due)
            .order_by(col(Event.created))
            .limit(limit)
            # Another process purging at once takes other events (Postgres; SQLite has one
            # writer), so the two never wait on, or deadlock over, the same rows.
            .with_for_update(of=Event, skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    event_ids = [event_id for _, event_id in rows]
    await db.exec(
        delete(WebhookDelivery).where(
            col(WebhookDelivery.event_id).in_(event_ids),
            col(WebhookDelivery.next_attempt_at).is_(None),
        )
    )
    referenced = exists().where(col(WebhookDelivery.event_id) == col(Event.id))
    result = await db.exec(
        delete(Event).where(
            col(Event.sequence).in_([sequence for sequence, _ in rows]), ~referenced
        )
    )
    return int(result.rowcount)


async def created_of(db: AsyncConnection, *, scope: Scope, sequence: int) -> datetime | None:
    """When the scope's event with this sequence was created; None when there is none."""
    statement = sa_select(col(Event.created)).where(
        col(Event.sequence) == sequence,
        col(Event.account_id) == scope.account_id,
        col(Event.livemode) == scope.livemode,
    )
    value = (await db.execute(statement)).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


async def redact_events(db: AsyncSession, *, session_id: str) -> None:
    rows = (await db.exec(select(Event).where(col(Event.session_id) == session_id))).all()
    for row in rows:
        await db.exec(
            update(Event)
            .where(col(Event.sequence) == row.sequence)
            .values(data=event_rules.redact_event_data(row.data))
        )


def _filter_values(filter: EventFilter) -> dict[str, Any]:
    """The filter's values by bind-parameter name; `types` as `type_0`, `type_1`, …, so that
    the names (the statement's shape) say how many there are."""
    given: dict[str, Any] = {
        "session_id": filter.session_id,
        "delivery_success": filter.delivery_success,
    }
    given.update(reads.one_of_values("type", list(dict.fromkeys(filter.types or ()))))
    given.update(reads.given(filter, ()))
    return {name: value for name, value in given.items() if value is not None}


def _filtered(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    types = sum(name.startswith("type_") for name in names)
    if types:
        conditions.append(reads.one_of(Event.type, "type", types))
    if "session_id" in names:
        conditions.append(col(Event.session_id) == bindparam("session_id"))
    if "delivery_success" in names:
        # "Some delivery is pending" is the opposite of the wanted `delivery_success`.
        conditions.append(webhooks.has_pending() != bindparam("delivery_success", type_=Boolean()))
    conditions += keyset.created_range(col(Event.created), names)
    return conditions
