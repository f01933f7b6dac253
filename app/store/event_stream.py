"""Events as a stream, oldest first, for subscriptions: after a sequence in one scope (a replay),
after each scope's own mark for many scopes at once (the live feed's poll), and the lock that
makes a scope's sequences become visible in order.

Why the lock. Postgres hands out `events.sequence` values when a row is inserted, not when its
transaction commits, so a transaction that took 9 may commit after one that took 10. A reader
that saw 10 and then asks for "after 10" would skip 9 for good. Of the two known fixes (record
each event's transaction id and only read past `pg_snapshot_xmin`, or serialize the event
inserts of a scope), this takes the second: before its insert a transaction takes a
transaction-level advisory lock on the event's scope (`store.events.lock_scope`) (account, mode), held until it commits or
rolls back, so the next insert in that scope takes its sequence only after the previous one is
visible. Within a scope, sequence order is then commit order and "after the last sequence seen"
never skips a row. The xid approach would need cursors ordered by (xid, sequence), unlike the
`events` query's sequence cursors, which subscriptions must share. Scopes are what readers
filter on (a subscriber sees one account and mode), so scopes need not wait for each other.
SQLite has one writer at a time (`BEGIN IMMEDIATE`, see `app.db`), so it has no such gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from app.db import Query, Reader
from app.domain.access import Scope
from app.models import Event
from app.store import reads
from app.store.events import RECORD, EventFilter, _filter_values, _filtered


@lru_cache(maxsize=256)
def _after(filters: tuple[str, ...]) -> Query:
    conditions = [
        *reads.scoped(Event),
        col(Event.sequence) > bindparam("after_sequence"),
        *_filtered(filters),
    ]
    return Query(
        sa_select(*RECORD.columns)
        .where(*conditions)
        .order_by(col(Event.sequence))
        .limit(bindparam("batch_limit")),
        record=RECORD.type,
    )


async def events_after(
    reader: Reader, *, scope: Scope, filter: EventFilter, after: int, limit: int
) -> list[Any]:
    """At most `limit` events of the scope matching `filter` with a sequence above `after`,
    oldest first (records)."""
    values = _filter_values(filter)
    return await reader.all(
        _after(tuple(values)),
        {
            **reads.scope_values(scope),
            **values,
            "after_sequence": after,
            "batch_limit": limit,
        },
    )


@lru_cache(maxsize=64)
def _after_marks(count: int) -> Query:
    # One index range per scope (`ix_events_scope_sequence`), OR-ed: one statement for the
    # poll of many scopes. Ordered by sequence and cut at a limit, each scope's part of the
    # answer is a prefix of its new rows, so advancing its mark to the last one read is safe.
    ranges = [
        and_(
            col(Event.account_id) == bindparam(f"account_{index}"),
            col(Event.livemode) == bindparam(f"livemode_{index}"),
            col(Event.sequence) > bindparam(f"mark_{index}"),
        )
        for index in range(count)
    ]
    return Query(
        sa_select(*RECORD.columns)
        .where(or_(*ranges))
        .order_by(col(Event.sequence))
        .limit(bindparam("batch_limit")),
        record=RECORD.type,
    )


async def events_after_marks(
    reader: Reader, *, marks: Sequence[tuple[Scope, int]], limit: int
) -> list[Any]:
    """The events of several scopes, each after its own mark, oldest first, at most `limit`."""
    if not marks:
        return []
    values: dict[str, Any] = {"batch_limit": limit}
    for index, (scope, mark) in enumerate(marks):
        values[f"account_{index}"] = scope.account_id
        values[f"livemode_{index}"] = scope.livemode
        values[f"mark_{index}"] = mark
    return await reader.all(_after_marks(len(marks)), values)


_LATEST = Query(sa_select(func.max(col(Event.sequence))).where(*reads.scoped(Event)))


async def latest_sequence(reader: Reader, *, scope: Scope) -> int:
    """The sequence of the scope's newest visible event; 0 when it has none."""
    rows = await reader.all(_LATEST, reads.scope_values(scope))
    return int(rows[0][0] or 0) if rows else 0
