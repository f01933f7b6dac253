"""The hosted page's use cases: find the session behind a link; submitting through it is
`services.sessions.submit` with the link's token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db import read_session
from app.domain.access import Scope
from app.services import Database
from app.services.sessions import link_usable
from app.store.flows import get_flow
from app.store.sessions import get_link


@dataclass(frozen=True)
class Found:
    """A link (current, spent or expired), its session, and the kind of checks the session
    runs: its type, or its verification flow's."""

    link: Any
    session: Any
    kind: str

    @property
    def scope(self) -> Scope:
        return _scope(self.session)

    @property
    def usable(self) -> bool:
        return link_usable(self.link, self.session)


async def find(database: Database, *, token: str) -> Found | None:
    """The link with this token and its session; None if it was never issued."""
    async with read_session(database.engine) as db:
        found = await get_link(db, token=token)
        if found is None:
            return None
        link, session = found
        kind = session.type
        if session.verification_flow:
            flow = await get_flow(db, scope=_scope(session), flow_id=session.verification_flow)
            kind = flow.type if flow is not None else kind
    return Found(link=link, session=session, kind=kind)


def _scope(session: Any) -> Scope:
    return Scope(account_id=session.account_id, livemode=session.livemode)
