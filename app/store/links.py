"""Hosted-page links past their use: purged in batches once HOSTED_LINK_RETENTION_DAYS have gone
by since they were spent or expired (`app.services.retention`). Reading a link is
`store.sessions.get_link`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import VerificationLink


def _done_before(cutoff: datetime) -> ColumnElement[bool]:
    # Each side has its own index (`ix_verification_links_spent_at`, `..._expires_at`), so the
    # OR is two index ranges, never a scan of the live links.
    return or_(col(VerificationLink.spent_at) < cutoff, col(VerificationLink.expires_at) < cutoff)


async def purge_links(db: AsyncSession, *, done_before: datetime, limit: int) -> int:
    """Delete at most `limit` links spent or expired before `done_before`; how many went.

    A link's spend time and expiry never move back, so a link found here is still purgeable
    when the DELETE runs; nothing references a link (a session keeps its token as a copy).
    """
    done = _done_before(done_before)
    # SKIP LOCKED: a second process purging at once takes other links (Postgres; SQLite has one
    # writer), so the two never wait on, or deadlock over, the same rows.
    tokens = (
        await db.exec(
            select(VerificationLink.token)
            .where(done)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not tokens:
        return 0
    result = await db.exec(
        delete(VerificationLink).where(col(VerificationLink.token).in_(list(tokens)), done)
    )
    return int(result.rowcount)
