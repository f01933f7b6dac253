"""Events: written in the transaction of the change they record, listed in sequence order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain import events as event_rules
from app.domain import ids
from app.domain.access import Scope
from app.domain.lifecycle import EventType
from app.models import Event, VerificationSession, utcnow
from app.pagination import PageRequest
from app.store import keyset
from app.store.keyset import Page


@dataclass(frozen=True, kw_only=True)
class EventFilter:
    types: Sequence[str] | None = None
    session_id: str | None = None
    created_gt: datetime | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    created_lte: datetime | None = None


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
    event = Event(
        id=ids.new_id(ids.EVENT),
        account_id=session.account_id,
        livemode=session.livemode,
        created=utcnow(),
        type=type.value,
        session_id=session.id,
        data=event_rules.event_data(before, snapshot_of(session)),
    )
    db.add(event)
    await db.flush()
    return event


async def get_events(
    db: AsyncSession, *, scope: Scope, event_ids: Sequence[str]
) -> dict[str, Event]:
    wanted = [event_id for event_id in event_ids if ids.prefix_of(event_id) == ids.EVENT]
    if not wanted:
        return {}
    statement = select(Event).where(col(Event.id).in_(set(wanted)), *_scoped(scope))
    return {row.id: row for row in (await db.exec(statement)).all()}


_KEY = (col(Event.sequence),)


async def list_events(
    db: AsyncSession, *, scope: Scope, filter: EventFilter, page: PageRequest
) -> Page[Event]:
    conditions = [*_scoped(scope), *_filtered(filter)]
    return await keyset.list_page(
        db,
        rows=select(Event).where(*conditions),
        keys=select(col(Event.sequence)).where(*conditions),
        key=_KEY,
        page=page,
    )


async def count_events(db: AsyncSession, *, scope: Scope, filter: EventFilter) -> int:
    statement = select(func.count()).select_from(Event).where(*_scoped(scope), *_filtered(filter))
    return (await db.exec(statement)).one()


async def redact_events(db: AsyncSession, *, session_id: str) -> None:
    rows = (await db.exec(select(Event).where(col(Event.session_id) == session_id))).all()
    for row in rows:
        await db.exec(
            update(Event)
            .where(col(Event.sequence) == row.sequence)
            .values(data=event_rules.redact_event_data(row.data))
        )


def _scoped(scope: Scope) -> list[ColumnElement[bool]]:
    return [col(Event.account_id) == scope.account_id, col(Event.livemode) == scope.livemode]


def _filtered(filter: EventFilter) -> list[ColumnElement[bool]]:
    created = col(Event.created)
    conditions: list[ColumnElement[bool]] = []
    if filter.types is not None:
        conditions.append(col(Event.type).in_(list(filter.types)))
    if filter.session_id is not None:
        conditions.append(col(Event.session_id) == filter.session_id)
    conditions += keyset.created_range(
        created,
        gt=filter.created_gt,
        gte=filter.created_gte,
        lt=filter.created_lt,
        lte=filter.created_lte,
    )
    return conditions
