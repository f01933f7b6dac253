"""VerificationSession data access: create, read, update, and keyset-paginated lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

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
from app.store import keyset
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
    row = await get_session(db, scope=scope, session_id=session_id, for_update=True)
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
    return row


async def get_session(
    db: AsyncSession, *, scope: Scope, session_id: str, for_update: bool = False
) -> VerificationSession | None:
    """The session with this id in this scope, or None (other scopes' sessions are not found)."""
    if ids.prefix_of(session_id) != ids.SESSION:
        return None  # not an id at all: nothing to look up (and nothing Postgres would reject)
    statement = select(VerificationSession).where(
        col(VerificationSession.id) == session_id, *_scoped(scope)
    )
    if for_update:
        statement = statement.with_for_update()
    return (await db.exec(statement)).first()


async def get_sessions(
    db: AsyncSession, *, scope: Scope, session_ids: Sequence[str]
) -> dict[str, VerificationSession]:
    """The visible sessions among `session_ids`, by id, in one query."""
    if not session_ids:
        return {}
    statement = select(VerificationSession).where(
        col(VerificationSession.id).in_(set(session_ids)), *_scoped(scope)
    )
    return {row.id: row for row in (await db.exec(statement)).all()}


async def get_link(
    db: AsyncSession, *, token: str
) -> tuple[VerificationLink, VerificationSession] | None:
    """A hosted-page link (current, spent or expired) and its session; None if never issued."""
    link = await db.get(VerificationLink, token)
    if link is None:
        return None
    session = await db.get(VerificationSession, link.session_id)
    return (link, session) if session is not None else None


_KEY = (col(VerificationSession.created), col(VerificationSession.id))


def page_statement(
    *, scope: Scope, filter: SessionFilter, page: PageRequest
) -> SelectOfScalar[VerificationSession]:
    """The query for one page: a seek on (created, id), newest first, overfetching one row."""
    statement = select(VerificationSession).where(*_scoped(scope), *_filtered(filter))
    return keyset.page_statement(statement, key=_KEY, seek=keyset.seek(page))


def far_side_statement(
    *, scope: Scope, filter: SessionFilter, page: PageRequest
) -> SelectOfScalar[str] | None:
    """The probe for hasPreviousPage (forward) or hasNextPage (backward); see `keyset`."""
    statement = select(col(VerificationSession.id)).where(*_scoped(scope), *_filtered(filter))
    return keyset.far_side_statement(statement, key=_KEY, seek=keyset.seek(page))


async def list_sessions(
    db: AsyncSession, *, scope: Scope, filter: SessionFilter, page: PageRequest
) -> Page[VerificationSession]:
    return await keyset.fetch_page(
        db,
        statement=page_statement(scope=scope, filter=filter, page=page),
        probe=far_side_statement(scope=scope, filter=filter, page=page),
        seek=keyset.seek(page),
    )


async def count_sessions(db: AsyncSession, *, scope: Scope, filter: SessionFilter) -> int:
    statement = (
        select(func.count())
        .select_from(VerificationSession)
        .where(*_scoped(scope), *_filtered(filter))
    )
    return (await db.exec(statement)).one()


def _scoped(scope: Scope) -> list[ColumnElement[bool]]:
    return [
        col(VerificationSession.account_id) == scope.account_id,
        col(VerificationSession.livemode) == scope.livemode,
    ]


def _filtered(filter: SessionFilter) -> list[ColumnElement[bool]]:
    session = VerificationSession
    created = col(session.created)
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (col(session.status), filter.status),
        (col(session.client_reference_id), filter.client_reference_id),
        (col(session.related_customer), filter.related_customer),
    ):
        if value is not None:
            conditions.append(column == value)
    conditions += keyset.created_range(
        created,
        gt=filter.created_gt,
        gte=filter.created_gte,
        lt=filter.created_lt,
        lte=filter.created_lte,
    )
    return conditions
