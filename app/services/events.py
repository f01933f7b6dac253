"""Event reads (events are recorded by the lifecycle, in the transaction of each change)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.access import Scope
from app.pagination import PageRequest
from app.services import Database
from app.store import events as store
from app.store.events import EventFilter
from app.store.keyset import Page


async def get_many(database: Database, *, scope: Scope, event_ids: Sequence[str]) -> dict[str, Any]:
    """The visible events among `event_ids`, by id."""
    return await store.get_events(database.reader, scope=scope, event_ids=event_ids)


async def list_page(
    database: Database, *, scope: Scope, filter: EventFilter, page: PageRequest, far_side: bool
) -> Page[Any]:
    """One page of events, newest first, in the order of the changes."""
    return await store.list_events(
        database.reader, scope=scope, filter=filter, page=page, far_side=far_side
    )


async def count(database: Database, *, scope: Scope, filter: EventFilter) -> int:
    async with database.engine.connect() as connection:
        return await store.count_events(connection, scope=scope, filter=filter)


__all__ = ["EventFilter", "count", "get_many", "list_page"]
