"""VerificationReports: one per verification attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain import ids
from app.domain.access import Scope
from app.domain.verification import redact_person
from app.models import VerificationReport, VerificationSession, utcnow
from app.pagination import PageRequest
from app.store import keyset
from app.store.keyset import Page

CHECKS = ("document", "id_number", "selfie", "email", "phone")


@dataclass(frozen=True, kw_only=True)
class ReportFilter:
    session_id: str | None = None
    type: str | None = None
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
        client_reference_id=session.client_reference_id,
        options=session.options,
        **{check: checks.get(check) for check in CHECKS},
    )
    db.add(report)
    await db.flush()
    return report


async def get_reports(
    db: AsyncSession, *, scope: Scope, report_ids: Sequence[str]
) -> dict[str, VerificationReport]:
    """The visible reports among `report_ids`, by id, in one query."""
    wanted = {report_id for report_id in report_ids if ids.prefix_of(report_id) == ids.REPORT}
    if not wanted:
        return {}
    statement = select(VerificationReport).where(
        col(VerificationReport.id).in_(wanted), *_scoped(scope)
    )
    return {row.id: row for row in (await db.exec(statement)).all()}


_KEY = (col(VerificationReport.created), col(VerificationReport.id))


async def list_reports(
    db: AsyncSession, *, scope: Scope, filter: ReportFilter, page: PageRequest
) -> Page[VerificationReport]:
    conditions = [*_scoped(scope), *_filtered(filter)]
    return await keyset.list_page(
        db,
        rows=select(VerificationReport).where(*conditions),
        keys=select(col(VerificationReport.id)).where(*conditions),
        key=_KEY,
        page=page,
    )


async def count_reports(db: AsyncSession, *, scope: Scope, filter: ReportFilter) -> int:
    statement = (
        select(func.count())
        .select_from(VerificationReport)
        .where(*_scoped(scope), *_filtered(filter))
    )
    return (await db.exec(statement)).one()


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


def _scoped(scope: Scope) -> list[ColumnElement[bool]]:
    return [
        col(VerificationReport.account_id) == scope.account_id,
        col(VerificationReport.livemode) == scope.livemode,
    ]


def _filtered(filter: ReportFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filter.session_id is not None:
        conditions.append(col(VerificationReport.session_id) == filter.session_id)
    if filter.type is not None:
        conditions.append(col(VerificationReport.type) == filter.type)
    conditions += keyset.created_range(
        col(VerificationReport.created),
        gt=filter.created_gt,
        gte=filter.created_gte,
        lt=filter.created_lt,
        lte=filter.created_lte,
    )
    return conditions
