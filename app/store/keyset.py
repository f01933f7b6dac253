"""Keyset (seek) pagination over any table whose list order is a unique key, newest first.

A page is `WHERE key < cursor ORDER BY key DESC LIMIT size + 1` on an index that ends in the key
columns: the database seeks to the cursor and reads `size + 1` entries, however deep the page.
The extra row tells whether more follow. Backward pages run the same seek ascending and are
reversed. Sessions and reports order by `(created, id)`, events by `sequence`.

Statements are built per shape (direction, which cursors are given, which filters are set) with
named bind parameters, once, and run with each request's values (see `app.db.Query`): building a
SELECT costs more than running it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, bindparam, tuple_
from sqlalchemy.sql import Select

from app.db import Query, Reader
from app.pagination import Cursor, PageRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page's rows in list order, and whether more lie beyond each end: None for the end
    beyond the cursor the page started from when the caller did not ask (`far_side=False`)."""

    rows: list[T]
    has_next_page: bool | None
    has_previous_page: bool | None


@dataclass(frozen=True)
class Seek:
    """Where a page starts: key values after (forward) or before (backward) which to read."""

    size: int
    forward: bool
    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        """What the page's statements depend on (their values aside)."""
        return (self.forward, self.after is not None, self.before is not None)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"page_limit": self.size + 1}
        for side, key in (("after", self.after), ("before", self.before)):
            for index, value in enumerate(key or ()):
                values[f"{side}_{index}"] = value
        return values


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


def _bound(side: str, columns: Sequence[Any]) -> Any:
    params = [
        bindparam(f"{side}_{index}", type_=column.type) for index, column in enumerate(columns)
    ]
    return params[0] if len(params) == 1 else tuple_(*params)


def page_statement(
    statement: Select[Any], *, key: Sequence[Any], shape: tuple[bool, bool, bool]
) -> Select[Any]:
    """`statement` (already scoped and filtered) narrowed to one page, overfetching one row."""
    forward, after, before = shape
    if after:
        statement = statement.where(_key(key) < _bound("after", key))
    if before:
        statement = statement.where(_key(key) > _bound("before", key))
    order = [column.desc() for column in key] if forward else [column.asc() for column in key]
    return statement.order_by(*order).limit(bindparam("page_limit"))


def far_side_statement(
    statement: Select[Any], *, key: Sequence[Any], shape: tuple[bool, bool, bool]
) -> Select[Any] | None:
    """Is anything on the far side of the cursor the page started from? None when the page did
    not start from a cursor (the first or last page of the list).

    An ordered `LIMIT 1` read outward from the cursor rather than `EXISTS`: Postgres plans an
    EXISTS as "any matching row", assumes matches are spread evenly over the table and may pick
    a sequential scan, which reads almost the whole table when the matches are the newest rows,
    stored at its end because rows are appended in key order. The ORDER BY leaves the index as
    the only plan without a sort, so the probe reads one index entry.
    """
    forward, after, before = shape
    if forward and after:
        beyond = _key(key) >= _bound("after", key)
        order = [column.asc() for column in key]
    elif not forward and before:
        beyond = _key(key) <= _bound("before", key)
        order = [column.desc() for column in key]
    else:
        return None
    return statement.where(beyond).order_by(*order).limit(1)


@dataclass(frozen=True)
class PageQueries:
    """The statements of one page shape: the page itself and its far-side probe."""

    rows: Query
    probe: Query | None


def page_queries(
    *,
    rows: Select[Any],
    keys: Select[Any],
    key: Sequence[Any],
    shape: tuple[bool, bool, bool],
    record: type[tuple[Any, ...]],
) -> PageQueries:
    """The page of `rows` (scoped and filtered) and the probe over `keys` (the same conditions,
    selecting a key column), for one shape."""
    probe = far_side_statement(keys, key=key, shape=shape)
    return PageQueries(
        rows=Query(page_statement(rows, key=key, shape=shape), record=record),
        probe=Query(probe) if probe is not None else None,
    )


async def list_page(
    reader: Reader,
    queries: Callable[[tuple[bool, bool, bool]], PageQueries],
    *,
    values: Mapping[str, Any],
    page: PageRequest,
    far_side: bool = True,
) -> Page[Any]:
    """The requested page: `queries` gives the statements of its shape, `values` the scope's
    and the filter's bind-parameter values. `far_side=False` leaves out the probe beyond the
    cursor, for a caller that does not need to know (a connection whose selection has no
    `hasPreviousPage` going forward, no `hasNextPage` going backward)."""
    where = seek(page)
    return await read_page(
        reader, queries(where.shape), values=values, seek=where, far_side=far_side
    )


async def read_page(
    reader: Reader,
    queries: PageQueries,
    *,
    values: Mapping[str, Any],
    seek: Seek,
    far_side: bool = True,
) -> Page[Any]:
    """Run a page and (with `far_side`) its probe in one snapshot; rows come back in list
    order."""
    values = {**values, **seek.values()}
    reads = [(queries.rows, values)]
    probe = queries.probe if far_side else None
    if probe is not None:
        reads.append((probe, values))
    found = await reader.many(reads)
    rows = found[0]
    has_more = len(rows) > seek.size
    rows = rows[: seek.size]
    if not seek.forward:
        rows.reverse()
    has_beyond: bool | None
    if probe is not None:
        has_beyond = bool(found[1])
    elif queries.probe is None:
        has_beyond = False  # the page did not start from a cursor: nothing lies beyond it
    else:
        has_beyond = None  # not asked
    return Page(
        rows=rows,
        has_next_page=has_more if seek.forward else has_beyond,
        has_previous_page=has_beyond if seek.forward else has_more,
    )


# Created-range filters: (name of the bound, comparison).
CREATED_BOUNDS = (
    ("created_gt", "__gt__"),
    ("created_gte", "__ge__"),
    ("created_lt", "__lt__"),
    ("created_lte", "__le__"),
)


def created_range(column: Any, names: Collection[str]) -> list[ColumnElement[bool]]:
    """Conditions for a `created { gt gte lt lte }` filter: one for each bound among `names`,
    its value the bind parameter of that name."""
    return [
        getattr(column, compare)(bindparam(name, type_=column.type))
        for name, compare in CREATED_BOUNDS
        if name in names
    ]
