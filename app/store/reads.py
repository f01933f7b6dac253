"""What the lean reads of every object share: plain records, and scope conditions as bind
parameters.

A record is a namedtuple with the model's attribute names (`metadata_`, not the column's
`metadata`), so code that reads a row (`row.status`, `row.metadata_`) works on either; it is
read-only, as a read's result should be. Conditions name their values as bind parameters, so a
statement is built once per shape and reused (see `app.db.Query`); the ORM writers use the same
conditions with `.params(...)`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, col

from app.db import Query, Reader
from app.domain import ids
from app.domain.access import Scope
from app.store import keyset


class Record:
    """The columns of a model and the record type its lean reads return: every column, or only
    `attributes` (a read that fetches what a query needs). An attribute that was not fetched is
    not there at all, so reading it fails instead of reading a wrong None."""

    def __init__(self, model: type[SQLModel], attributes: Collection[str] | None = None) -> None:
        mapped = [
            attribute
            for attribute in inspect(model).column_attrs
            if attributes is None or attribute.key in attributes
        ]
        self.columns = [attribute.columns[0] for attribute in mapped]
        names = [attribute.key for attribute in mapped]
        factory: Any = namedtuple  # called through a name mypy does not special-case
        record: Any = factory(f"{model.__name__}Record", names)
        self.type: type[tuple[Any, ...]] = record


def given(filter: Any, names: Sequence[str]) -> dict[str, Any]:
    """A filter's set fields among `names` and its `created_*` bounds, by bind-parameter name;
    which names are there is the statements' shape."""
    fields = (*names, *(bound for bound, _ in keyset.CREATED_BOUNDS))
    return {name: value for name in fields if (value := getattr(filter, name)) is not None}


def equal_to(model: Any, names: Sequence[str], present: Collection[str]) -> list[Any]:
    """`column = :name` for each of `names` among `present`."""
    return [getattr(model, name) == bindparam(name) for name in names if name in present]


def scoped(model: Any) -> list[ColumnElement[bool]]:
    """Visible within one account and one mode (values: `scope_values`)."""
    return [
        col(model.account_id) == bindparam("scope_account"),
        col(model.livemode) == bindparam("scope_livemode"),
    ]


def scope_values(scope: Scope) -> dict[str, Any]:
    return {"scope_account": scope.account_id, "scope_livemode": scope.livemode}


def one_of(column: Any, name: str, count: int) -> ColumnElement[bool]:
    """`column IN (:name_0, …)` for `count` values (one statement per count; counts are small)."""
    return col(column).in_(
        [bindparam(f"{name}_{index}", type_=column.type) for index in range(count)]
    )


def one_of_values(name: str, values: list[Any]) -> dict[str, Any]:
    return {f"{name}_{index}": value for index, value in enumerate(values)}


@lru_cache(maxsize=256)
def _by_ids(record: Record, model: Any, count: int) -> Query:
    return Query(
        select(*record.columns).where(one_of(model.id, "id", count), *scoped(model)),
        record=record.type,
    )


async def get_by_ids(
    reader: Reader, record: Record, model: Any, *, prefix: str, scope: Scope, wanted: Sequence[str]
) -> dict[str, Any]:
    """The visible objects among the ids `wanted` (those with `prefix`), by id, in one query."""
    found = sorted({each for each in wanted if ids.prefix_of(each) == prefix})
    if not found:
        return {}
    rows = await reader.all(
        _by_ids(record, model, len(found)), {**scope_values(scope), **one_of_values("id", found)}
    )
    return {row.id: row for row in rows}


async def count(
    db: AsyncConnection,
    model: Any,
    *,
    scope: Scope,
    conditions: list[ColumnElement[bool]],
    values: dict[str, Any],
) -> int:
    """How many objects in the scope meet `conditions` (bind parameters named in `values`)."""
    statement = (
        select(func.count())
        .select_from(model)
        .where(*scoped(model), *conditions)
        .params(**scope_values(scope), **values)
    )
    return int((await db.execute(statement)).scalar_one())
