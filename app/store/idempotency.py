"""Idempotency keys: claim a key before a mutation runs, store its response, purge the expired
(the worker does, in batches: `app.services.retention`).

A claim is an INSERT in its own transaction, committed before the mutation starts. The primary
key (account, mode, key) makes a second claim of the same key fail while the first stands: on
SQLite the writers are serialised (BEGIN IMMEDIATE) and the second finds the row; on Postgres the
second INSERT waits for the first transaction and then violates the key. Either way exactly one
request holds a claim, and the others read the claim it left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain.access import Scope
from app.models import IdempotencyKey


class ClaimRaced(Exception):
    """The key's holder released it between our failed claim and our read: claim again."""


def _this_key(scope: Scope, key: str) -> ColumnElement[bool]:
    return and_(
        col(IdempotencyKey.account_id) == scope.account_id,
        col(IdempotencyKey.livemode) == scope.livemode,
        col(IdempotencyKey.key) == key,
    )


async def get_record(db: AsyncSession, *, scope: Scope, key: str) -> IdempotencyKey | None:
    statement = (
        select(IdempotencyKey)
        .where(_this_key(scope, key))
        .execution_options(populate_existing=True)
    )
    return (await db.exec(statement)).first()


async def claim(
    db: AsyncSession,
    *,
    scope: Scope,
    key: str,
    fingerprint: str,
    now: datetime,
    expires_at: datetime,
    abandoned_before: datetime,
) -> IdempotencyKey | None:
    """Claim `key` for a request that is about to run; commit the caller's transaction at once.

    A record that expired, or a claim made before `abandoned_before` whose request never finished
    (its process died) and never wrote, no longer holds the key and is replaced. A claim that
    wrote holds the key until it expires: its request is not run twice.

    Returns:
        None when the claim is ours; otherwise the record that holds the key: a claim whose
        request is still running (`status_code` null) or a finished response.

    Raises:
        ClaimRaced: the holder released the key between our failed insert and our read; the
            caller may simply claim again.
    """
    await db.exec(
        delete(IdempotencyKey).where(
            _this_key(scope, key),
            or_(
                col(IdempotencyKey.expires_at) <= now,
                (col(IdempotencyKey.status_code).is_(None))
                & (col(IdempotencyKey.created) <= abandoned_before)
                & col(IdempotencyKey.wrote).is_(False),
            ),
        )
    )
    try:
        async with db.begin_nested():
            db.add(
                IdempotencyKey(
                    account_id=scope.account_id,
                    livemode=scope.livemode,
                    key=key,
                    fingerprint=fingerprint,
                    created=now,
                    expires_at=expires_at,
                )
            )
            await db.flush()
    except IntegrityError:
        existing = await get_record(db, scope=scope, key=key)
        if existing is None:
            raise ClaimRaced(key) from None
        return existing
    return None


async def finish(
    db: AsyncSession,
    *,
    scope: Scope,
    key: str,
    claimed_at: datetime,
    status_code: int,
    content_type: str,
    body: bytes,
) -> bool:
    """Store the response of the request that claimed `key` at `claimed_at`.

    Returns:
        False when that claim no longer stands (it was abandoned and taken over), so nothing was
        stored.
    """
    result = await db.exec(
        update(IdempotencyKey)
        .where(
            _this_key(scope, key),
            col(IdempotencyKey.created) == claimed_at,
            col(IdempotencyKey.status_code).is_(None),
        )
        .values(status_code=status_code, content_type=content_type, body=body)
    )
    return bool(result.rowcount)


async def mark_wrote(db: AsyncSession, *, scope: Scope, key: str, claimed_at: datetime) -> None:
    """Record, in the caller's write transaction, that the request holding the claim made at
    `claimed_at` commits work with it."""
    await db.exec(
        update(IdempotencyKey)
        .where(
            _this_key(scope, key),
            col(IdempotencyKey.created) == claimed_at,
            col(IdempotencyKey.status_code).is_(None),
        )
        .values(wrote=True)
    )


async def release(db: AsyncSession, *, scope: Scope, key: str, claimed_at: datetime) -> None:
    """Give up the claim made at `claimed_at`, so that a retry runs the request afresh; unless
    its request wrote (`mark_wrote`): then the claim stays, and the request is not run again."""
    await db.exec(
        delete(IdempotencyKey).where(
            _this_key(scope, key),
            col(IdempotencyKey.created) == claimed_at,
            col(IdempotencyKey.status_code).is_(None),
            col(IdempotencyKey.wrote).is_(False),
        )
    )


async def purge_expired(
    db: AsyncSession, *, now: datetime, abandoned_before: datetime, limit: int
) -> int:
    """Delete at most `limit` expired records, oldest expiry first; returns how many went.

    A claim whose request may still be running (no response yet, made after `abandoned_before`)
    is never purged, whatever its expiry. One statement, the batch chosen by a subquery: a list
    of 500 (account, mode, key) tuples would be an OR that Postgres tests on every row of the
    scope. The outer WHERE repeats the conditions, so a key re-claimed meanwhile (a new row with
    a new expiry) stays.
    """
    expired = and_(
        col(IdempotencyKey.expires_at) <= now,
        or_(
            col(IdempotencyKey.status_code).is_not(None),
            col(IdempotencyKey.created) <= abandoned_before,
        ),
    )
    primary_key = (
        col(IdempotencyKey.account_id),
        col(IdempotencyKey.livemode),
        col(IdempotencyKey.key),
    )
    # SKIP LOCKED (Postgres; SQLite has one writer): two processes purging at once take
    # different rows rather than waiting on, or deadlocking over, the same ones.
    batch = (
        select(*primary_key)
        .where(expired)
        .order_by(col(IdempotencyKey.expires_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await db.exec(delete(IdempotencyKey).where(tuple_(*primary_key).in_(batch), expired))
    return int(result.rowcount)
