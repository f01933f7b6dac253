"""Keyset (seek) pagination over any table whose list order is a unique key, newest first.

A page is `WHERE key < cursor ORDER BY key DESC LIMIT size + 1` on an index that ends in the key
columns: the database seeks to the cursor and reads `size + 1` entries, however deep the page.
The extra row tells whether more follow. Backward pages run the same seek ascending and are
reversed. Sessions and reports order by `(created, id)`, events by `sequence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.pagination import Cursor, PageRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    has_next_page: bool
    has_previous_page: bool


@dataclass(frozen=True)
class Seek:
    """Where a page starts: key values after (forward) or before (backward) which to read."""

    size: int
    forward: bool
    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None


def seek(page: PageRequest) -> Seek:
    """Where a requested page starts, as key values: `(created, id)` cursors or sequences."""

    def values(cursor: Cursor | int | None) -> tuple[Any, ...] | None:
        if cursor is None:
            return None
        return (cursor.created, cursor.id) if isinstance(cursor, Cursor) else (cursor,)

    return Seek(
        size=page.size, forward=page.forward, after=values(page.after), before=values(page.before)
    )


def _key(columns: Sequence[Any]) -> Any:
    return columns[0] if len(columns) == 1 else tuple_(*columns)


def _values(values: tuple[Any, ...]) -> Any:
    return values[0] if len(values) == 1 else tuple_(*values)


def page_statement(
    statement: SelectOfScalar[T], *, key: Sequence[Any], seek: Seek
) -> SelectOfScalar[T]:
    """`statement` (already scoped and filtered) narrowed to one page, overfetching one row."""
    if seek.after is not None:
        statement = statement.where(_key(key) < _values(seek.after))
    if seek.before is not None:
        statement = statement.where(_key(key) > _values(seek.before))
    order = [column.desc() for column in key] if seek.forward else [column.asc() for column in key]
    return statement.order_by(*order).limit(seek.size + 1)


def far_side_statement(
    statement: SelectOfScalar[Any], *, key: Sequence[Any], seek: Seek
) -> SelectOfScalar[Any] | None:
    """Is anything on the far side of the cursor the page started from? None when the page did
    not start from a cursor (the first or last page of the list).

    An ordered `LIMIT 1` read outward from the cursor rather than `EXISTS`: Postgres plans an
    EXISTS as "any matching row", assumes matches are spread evenly over the table and may pick
    a sequential scan, which reads almost the whole table when the matches are the newest rows,
    stored at its end because rows are appended in key order. The ORDER BY leaves the index as
    the only plan without a sort, so the probe reads one index entry.
    """
    if seek.forward and seek.after is not None:
        beyond = _key(key) >= _values(seek.after)
        order = [column.asc() for column in key]
    elif not seek.forward and seek.before is not None:
        beyond = _key(key) <= _values(seek.before)
        order = [column.desc() for column in key]
    else:
        return None
    return statement.where(beyond).order_by(*order).limit(1)


async def list_page(
    db: AsyncSession,
    *,
    rows: SelectOfScalar[T],
    keys: SelectOfScalar[Any],
    key: Sequence[Any],
    page: PageRequest,
) -> Page[T]:
    """One page of `rows` (scoped and filtered), with `keys` (the same conditions, selecting a
    key column) as the far-side probe."""
    where = seek(page)
    return await fetch_page(
        db,
        statement=page_statement(rows, key=key, seek=where),
        probe=far_side_statement(keys, key=key, seek=where),
        seek=where,
    )


async def fetch_page(
    db: AsyncSession,
    *,
    statement: SelectOfScalar[T],
    probe: SelectOfScalar[Any] | None,
    seek: Seek,
) -> Page[T]:
    """Run a page statement and its far-side probe; rows come back in list order."""
    rows = list((await db.exec(statement)).all())
    has_more = len(rows) > seek.size
    rows = rows[: seek.size]
    if not seek.forward:
        rows.reverse()
    has_beyond = probe is not None and (await db.exec(probe)).first() is not None
    return Page(
        rows=rows,
        has_next_page=has_more if seek.forward else has_beyond,
        has_previous_page=has_beyond if seek.forward else has_more,
    )


def created_range(
    column: Any,
    *,
    gt: datetime | None,
    gte: datetime | None,
    lt: datetime | None,
    lte: datetime | None,
) -> list[ColumnElement[bool]]:
    """Conditions for a `created { gt gte lt lte }` filter; every given bound applies."""
    bounds = ((column.__gt__, gt), (column.__ge__, gte), (column.__lt__, lt), (column.__le__, lte))
    return [compare(bound) for compare, bound in bounds if bound is not None]
