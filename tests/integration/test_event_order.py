"""Postgres commits events out of sequence order unless inserts are serialized per scope
(`app.store.event_stream`): a slow writer takes sequence n and commits late, a fast writer takes
n + 1 and would commit first. The live feed must still hand a subscriber both, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from app.db import Reader, create_engine, write_session
from app.domain import ids
from app.domain.access import Scope
from app.domain.lifecycle import EventType
from app.domain.sessions import SessionCreate
from app.models import VerificationSession
from app.services import Database as Services
from app.services import sessions as session_service
from app.services.live import LiveFeed
from app.store import accounts
from app.store.events import EventFilter, record_event
from tests.conftest import Database, run

WAITING_ON_AN_ADVISORY_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
)


async def _record(
    services: Services,
    session_id: str,
    *,
    inserted: asyncio.Event | None = None,
    hold: asyncio.Event | None = None,
) -> None:
    """One event for the session in its own transaction; with `hold`, kept uncommitted (its
    sequence taken, `inserted` set) until `hold` is set."""
    async with write_session(services.engine) as db:
        row = await db.get(VerificationSession, session_id)
        assert row is not None
        await record_event(db, session=row, type=EventType.CANCELED, before=None)
        if inserted is not None:
            inserted.set()
        if hold is not None:
            await hold.wait()


async def _interleave(url: str) -> tuple[list[int], list[int]]:
    engine = create_engine(url)
    services = Services(engine=engine, reader=Reader(engine))
    try:
        account_id = ids.new_id(ids.ACCOUNT)
        async with write_session(engine) as db:
            await accounts.create_key(db, account_id=account_id, livemode=False, restricted=False)
        scope = Scope(account_id, False)
        slow_session = await session_service.create(
            services, scope=scope, params=SessionCreate(type="document")
        )
        fast_session = await session_service.create(
            services, scope=scope, params=SessionCreate(type="document")
        )
        feed = LiveFeed(services, poll_seconds=60, queue_size=100)
        stream: Any = feed.events(
            scope=scope, filter=EventFilter(), since=None, disconnect=lambda: None
        )
        received: list[int] = []

        async def consume() -> None:
            async for row in stream:
                received.append(row.sequence)

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)
        while not feed._events.get(scope) or feed._events[scope].mark is None:
            await asyncio.sleep(0.01)

        # given a slow writer holding sequence n uncommitted
        release, inserted = asyncio.Event(), asyncio.Event()
        slow = asyncio.create_task(
            _record(services, slow_session.id, inserted=inserted, hold=release)
        )
        await inserted.wait()
        # and a fast writer after it, which would take n + 1 and commit first
        fast = asyncio.create_task(_record(services, fast_session.id))
        while not fast.done() and not await _waiting_on_lock(engine):
            await asyncio.sleep(0.01)
        # when the feed polls while the slow one is still open
        await feed.poll()
        await asyncio.sleep(0)
        seen_while_open = list(received)
        # and then both have committed
        release.set()
        await asyncio.gather(slow, fast)
        await feed.poll()
        for _ in range(100):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.01)
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        return seen_while_open, received
    finally:
        await services.reader.close()
        await engine.dispose()


async def _waiting_on_lock(engine: Any) -> bool:
    async with engine.connect() as connection:
        return int((await connection.execute(WAITING_ON_AN_ADVISORY_LOCK)).scalar_one()) > 0


def test_a_slow_and_a_fast_writer_both_reach_the_subscriber_in_order(database: Database) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its sequences commit in order")
    seen_while_open, received = run(_interleave(database.url))
    # then: nothing past the open transaction's sequence was handed out before it committed,
    # and afterwards both events arrived, in sequence order
    assert seen_while_open == []
    assert len(received) == 2
    assert received == sorted(received)
