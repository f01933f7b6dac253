"""VerificationSession data access: create, read, update, and keyset-paginated lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Reader
from app.domain import ids
from app.domain.access import Scope
from app.domain.errors import ResourceMissing
from app.domain.lifecycle import EventType
from app.domain.sessions import (
    SessionCreate,
    SessionUpdate,
    Status,
    check_create,
    check_update,
    flow_session_values,
    fresh_credentials,
)
from app.models import VerificationLink, VerificationSession, utcnow
from app.pagination import PageRequest
from app.store import keyset, notices, reads
from app.store.events import record_event
from app.store.flows import get_flow
from app.store.keyset import Page

# Stored column names that differ from the domain's field names.
_COLUMNS = {"metadata": "metadata_"}


@dataclass(frozen=True, kw_only=True)
class SessionFilter:
    status: str | None = None
    client_reference_id: str | None = None
    related_customer: str | None = None
    created_gt: datetime | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    created_lte: datetime | None = None


def _missing(session_id: str) -> ResourceMissing:
    return ResourceMissing(f"No such VerificationSession: '{session_id}'", field=["id"])


async def create_session(
    db: AsyncSession, *, scope: Scope, params: SessionCreate
) -> VerificationSession:
    """Store a new session in requires_input with a fresh client secret and url token.

    Raises:
        DomainError: the parameters break a rule, or the verification flow does not exist.
    """
    values = check_create(params)
    if params.verification_flow is not None:
        flow = await get_flow(db, scope=scope, flow_id=params.verification_flow)
        if flow is None:
            raise ResourceMissing(
                f"No such verification flow: '{params.verification_flow}'",
                field=["verification_flow"],
            )
        values.update(flow_session_values(flow_id=flow.id, flow_options=flow.options))
    now = utcnow()
    session_id = ids.new_id(ids.SESSION)
    credentials = fresh_credentials(session_id=session_id, now=now)
    row = VerificationSession(
        id=session_id,
        account_id=scope.account_id,
        livemode=scope.livemode,
        created=now,
        status=Status.REQUIRES_INPUT.value,
        **{_COLUMNS.get(name, name): value for name, value in values.items()},
        **credentials,
    )
    db.add(row)
    await db.flush()
    db.add(
        VerificationLink(
            token=credentials["url_token"],
            session_id=row.id,
            expires_at=credentials["url_expires_at"],
        )
    )
    await record_event(db, session=row, type=EventType.CREATED, before=None)
    return row


async def update_session(
    db: AsyncSession, *, scope: Scope, session_id: str, update: SessionUpdate
) -> VerificationSession:
    """Apply an update to a session in requires_input, holding its row lock until commit.

    Raises:
        ResourceMissing: no such session in this scope.
        DomainError: the session's status forbids updates, or a value breaks a rule.
    """
    row = await lock_session(db, scope=scope, session_id=session_id)
    if row is None:
        raise _missing(session_id)
    changes = check_update(
        status=row.status,
        redacted=row.redaction_status is not None,
        current_metadata=row.metadata_,
        current_options=row.options,
        update=update,
    )
    for name, value in changes.items():
        setattr(row, _COLUMNS.get(name, name), value)
    db.add(row)
    await db.flush()
    # An update records no event; watchers of the session are told all the same.
    await notices.announce(db)
    return row


async def lock_session(
    db: AsyncSession, *, scope: Scope, session_id: str
) -> VerificationSession | None:
    """The session with this id in this scope for a writer: an ORM row, locked until the
    transaction ends; None when there is none (other scopes' sessions are not found)."""
    if ids.prefix_of(session_id) != ids.SESSION:
        return None  # not an id at all: nothing to look up (and nothing Postgres would reject)
    statement = (
        select(VerificationSession)
        .where(col(VerificationSession.id) == session_id, *reads.scoped(VerificationSession))
        .params(**reads.scope_values(scope))
        .with_for_update()
    )
    return (await db.exec(statement)).first()


async def get_session_by_id(db: AsyncSession, *, session_id: str) -> VerificationSession | None:
    """The session with this id as committed, not locked: for the worker, which knows the id
    from its own job."""
    statement = select(VerificationSession).where(col(VerificationSession.id) == session_id)
    return (await db.exec(statement)).first()


async def lock_session_by_id(db: AsyncSession, *, session_id: str) -> VerificationSession | None:
    """The session, locked until the transaction ends, waiting for the lock; None when there is
    no such session. For the worker, which knows the id from its own job."""
    statement = (
        select(VerificationSession)
        .where(col(VerificationSession.id) == session_id)
        .with_for_update()
    )
    return (await db.exec(statement)).first()


async def lock_session_unless_locked(
    db: AsyncSession, *, session_id: str
) -> VerificationSession | None:
    """The session, locked until the transaction ends, without waiting: None when there is no
    such session or another transaction holds its lock (Postgres; SQLite's write transaction
    already excludes every other writer)."""
    statement = (
        select(VerificationSession)
        .where(col(VerificationSession.id) == session_id)
        .with_for_update(skip_locked=True)
    )
    return (await db.exec(statement)).first()


RECORD = reads.Record(VerificationSession)


async def get_session(reader: Reader, *, scope: Scope, session_id: str) -> Any | None:
    """The session with this id in this scope (a record, read-only), or None."""
    return (await get_sessions(reader, scope=scope, session_ids=[session_id])).get(session_id)


async def get_sessions(
    reader: Reader, *, scope: Scope, session_ids: Sequence[str]
) -> dict[str, Any]:
    """The visible sessions among `session_ids`, by id, in one query (records, read-only)."""
    return await reads.get_by_ids(
        reader, RECORD, VerificationSession, prefix=ids.SESSION, scope=scope, wanted=session_ids
    )


async def get_link(
    db: AsyncSession, *, token: str
) -> tuple[VerificationLink, VerificationSession] | None:
    """A hosted-page link (current, spent or expired) and its session; None if never issued."""
    link = await db.get(VerificationLink, token)
    if link is None:
        return None
    session = await db.get(VerificationSession, link.session_id)
    return (link, session) if session is not None else None


async def get_link_row(db: AsyncSession, *, token: str) -> VerificationLink | None:
    """A hosted-page link as it is in this transaction (current, spent or expired)."""
    return await db.get(VerificationLink, token)


_KEY = (col(VerificationSession.created), col(VerificationSession.id))
_FILTERS = ("status", "client_reference_id", "related_customer")


@lru_cache(maxsize=64)
def _record(attributes: frozenset[str] | None) -> reads.Record:
    return RECORD if attributes is None else reads.Record(VerificationSession, attributes)


@lru_cache(maxsize=256)
def _page(
    shape: tuple[bool, bool, bool],
    filters: tuple[str, ...],
    attributes: frozenset[str] | None = None,
) -> keyset.PageQueries:
    conditions = [*reads.scoped(VerificationSession), *_filtered(filters)]
    record = _record(attributes)
    return keyset.page_queries(
        rows=sa_select(*record.columns).where(*conditions),
        keys=sa_select(col(VerificationSession.id)).where(*conditions),
        key=_KEY,
        shape=shape,
        record=record.type,
    )


def page_statement(*, filter: SessionFilter, page: PageRequest) -> Select[Any]:
    """The statement of one page (its values as bind parameters): a seek on (created, id),
    newest first, overfetching one row."""
    return _page(keyset.seek(page).shape, tuple(reads.given(filter, _FILTERS))).rows.statement


def far_side_statement(*, filter: SessionFilter, page: PageRequest) -> Select[Any] | None:
    """The probe for hasPreviousPage (forward) or hasNextPage (backward); see `keyset`."""
    probe = _page(keyset.seek(page).shape, tuple(reads.given(filter, _FILTERS))).probe
    return probe.statement if probe is not None else None


async def list_sessions(
    reader: Reader,
    *,
    scope: Scope,
    filter: SessionFilter,
    page: PageRequest,
    attributes: frozenset[str] | None = None,
    far_side: bool = True,
) -> Page[Any]:
    """One page of sessions, newest first: a seek on (created, id) and, after a cursor and
    unless `far_side` is False, a one-row probe of the far side (see `keyset`). With
    `attributes`, records hold only those (and `id` and `created`, the list's key); otherwise
    every column."""
    values = reads.given(filter, _FILTERS)
    fetched = attributes | {"id", "created"} if attributes is not None else None
    return await keyset.list_page(
        reader,
        lambda shape: _page(shape, tuple(values), fetched),
        values={**reads.scope_values(scope), **values},
        page=page,
        far_side=far_side,
    )


async def count_sessions(db: AsyncConnection, *, scope: Scope, filter: SessionFilter) -> int:
    """How many sessions match; not bounded by a page, so it runs off the event loop."""
    values = reads.given(filter, _FILTERS)
    return await reads.count(
        db, VerificationSession, scope=scope, conditions=_filtered(tuple(values)), values=values
    )


def _filtered(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    return [
        *reads.equal_to(VerificationSession, _FILTERS, names),
        *keyset.created_range(col(VerificationSession.created), names),
    ]
