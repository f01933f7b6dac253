"""VerificationReport reads (reports are written by the lifecycle, never by a caller)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.access import Scope
from app.pagination import PageRequest
from app.services import Database
from app.store import reports as store
from app.store.keyset import Page
from app.store.reports import ReportFilter


async def get_many(
    database: Database, *, scope: Scope, report_ids: Sequence[str]
) -> dict[str, Any]:
    """The visible reports among `report_ids`, by id."""
    return await store.get_reports(database.reader, scope=scope, report_ids=report_ids)


async def list_page(
    database: Database, *, scope: Scope, filter: ReportFilter, page: PageRequest, far_side: bool
) -> Page[Any]:
    """One page of reports, newest first."""
    return await store.list_reports(
        database.reader, scope=scope, filter=filter, page=page, far_side=far_side
    )


async def count(database: Database, *, scope: Scope, filter: ReportFilter) -> int:
    async with database.engine.connect() as connection:
        return await store.count_reports(connection, scope=scope, filter=filter)


__all__ = ["ReportFilter", "count", "get_many", "list_page"]
