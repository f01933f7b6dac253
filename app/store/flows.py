"""Verification flows: stored templates of a session's type and options."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain import ids
from app.domain.access import Scope
from app.domain.sessions import check_input_type, check_options
from app.models import VerificationFlow, utcnow


async def create_flow(
    db: AsyncSession, *, scope: Scope, type: str, options: dict[str, Any]
) -> VerificationFlow:
    flow = VerificationFlow(
        id=ids.new_id(ids.FLOW),
        account_id=scope.account_id,
        livemode=scope.livemode,
        type=check_input_type(type),
        options=check_options(options, allow_output_only=True),
        created=utcnow(),
    )
    db.add(flow)
    await db.flush()
    return flow


async def get_flow(db: AsyncSession, *, scope: Scope, flow_id: str) -> VerificationFlow | None:
    if ids.prefix_of(flow_id) != ids.FLOW:
        return None  # not an id at all: nothing to look up (and nothing Postgres would reject)
    flow = await db.get(VerificationFlow, flow_id)
    if flow is None or flow.account_id != scope.account_id or flow.livemode != scope.livemode:
        return None
    return flow
