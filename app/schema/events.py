"""Event: one change to a session, shaped as a webhook would carry it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.schema.context import Context
from app.schema.types import Node, VerificationSession


@strawberry.type(
    description=(
        "A change to a session (`evt_…`): one per status change, plus `created` and `redacted`. "
        "Plain updates record none."
    )
)
class Event(Node):
    type: str = strawberry.field(
        description="Stripe's event type, e.g. `identity.verification_session.verified`. New types may be added."
    )
    created: datetime = strawberry.field(
        description="When the change happened (UTC, microseconds)."
    )
    livemode: bool = strawberry.field(description="True in live mode, false in test mode.")
    data: JSON = strawberry.field(
        description=(
            "What a webhook would carry: `{object, previous_attributes}`, where `object` is the "
            "session in Stripe's shape (snake_case keys, lowercase enum values, `created` in unix "
            "seconds) without its client secret, url and verified outputs, and "
            "`previous_attributes` holds the old values of what changed."
        )
    )
    session_id: strawberry.Private[str]

    @strawberry.field(description="The session as it is now (null if no longer visible).")
    async def verification_session(self, info: Info[Context, None]) -> VerificationSession | None:
        return await VerificationSession.load(info.context, self.session_id)

    @classmethod
    def from_row(cls, row: Any) -> Event:
        return cls(
            id=strawberry.ID(row.id),
            type=row.type,
            created=row.created,
            livemode=row.livemode,
            data=JSON(row.data),
            session_id=row.session_id,
        )
