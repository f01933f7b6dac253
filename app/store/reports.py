"""VerificationReports: one per verification attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Reader
from app.domain import ids
from app.domain.access import Scope
from app.domain.verification import redact_person
from app.models import VerificationReport, VerificationSession, utcnow
from app.pagination import PageRequest
from app.store import keyset, reads
from app.store.keyset import Page

CHECKS = ("document", "id_number", "selfie", "email", "phone")


@dataclass(frozen=True, kw_only=True)
class ReportFilter:
    session_id: str | None = None
    type: str | None = None
    client_reference_id: str | None = None
    created_gt: datetime | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    created_lte: datetime | None = None


async def create_report(
    db: AsyncSession, *, session: VerificationSession, checks: dict[str, dict[str, Any]]
) -> VerificationReport:
    report = VerificationReport(
        id=ids.new_id(ids.REPORT),
        account_id=session.account_id,
        livemode=session.livemode,
        created=utcnow(),
        session_id=session.id,
        type=session.type,
        verification_flow=session.verification_flow,
        client_reference_id=session.client_reference_id,
        options=session.options,
        **{check: checks.get(check) for check in CHECKS},
    )
    db.add(report)
    await db.flush()
    return report


RECORD = reads.Record(VerificationReport)
_KEY = (col(VerificationReport.created), col(VerificationReport.id))
_FILTERS = ("session_id", "type", "client_reference_id")


async def get_reports(reader: Reader, *, scope: Scope, report_ids: Sequence[str]) -> dict[str, Any]:
    """The visible reports among `report_ids`, by id, in one query (records, read-only)."""
    return await reads.get_by_ids(
        reader, RECORD, VerificationReport, prefix=ids.REPORT, scope=scope, wanted=report_ids
    )


@lru_cache(maxsize=256)
def _page(shape: tuple[bool, bool, bool], filters: tuple[str, ...]) -> keyset.PageQueries:
    conditions = [*reads.scoped(VerificationReport), *_filtered(filters)]
    return keyset.page_queries(
        rows=sa_select(*RECORD.columns).where(*conditions),
        keys=sa_select(col(VerificationReport.id)).where(*conditions),
        key=_KEY,
        shape=shape,
        record=RECORD.type,
    )


async def list_reports(
    reader: Reader,
    *,
    scope: Scope,
    filter: ReportFilter,
    page: PageRequest,
    far_side: bool = True,
) -> Page[Any]:
    values = reads.given(filter, _FILTERS)
    return await keyset.list_page(
        reader,
        lambda shape: _page(shape, tuple(values)),
        values={**reads.scope_values(scope), **values},
        page=page,
        far_side=far_side,
    )


async def count_reports(db: AsyncConnection, *, scope: Scope, filter: ReportFilter) -> int:
    values = reads.given(filter, _FILTERS)
    return await reads.count(
        db, VerificationReport, scope=scope, conditions=_filtered(tuple(values)), values=values
    )


async def redact_reports(db: AsyncSession, *, session_id: str) -> None:
    rows = (
        await db.exec(
            select(VerificationReport).where(col(VerificationReport.session_id) == session_id)
        )
    ).all()
    for row in rows:
        for check in CHECKS:
            setattr(row, check, redact_person(getattr(row, check)))
        db.add(row)
    await db.flush()


def _filtered(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    return [
        *reads.equal_to(VerificationReport, _FILTERS, names),
        *keyset.created_range(col(VerificationReport.created), names),
    ]
