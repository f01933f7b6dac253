"""The live feed's bounded queue: a subscriber that stops reading while live is disconnected, one
still replaying reads the table again instead, and neither ever holds the poller up."""

from __future__ import annotations

import asyncio
from typing import Any

from app.db import Reader, create_engine, write_session
from app.domain import ids
from app.domain.access import Scope
from app.domain.sessions import SessionCreate
from app.services import Database as Services
from app.services import sessions as session_service
from app.services.live import LiveFeed
from app.store import accounts
from app.store.events import EventFilter
from tests.conftest import Database, run


async def _world(url: str) -> tuple[Services, Scope]:
    engine = create_engine(url)
    services = Services(engine=engine, reader=Reader(engine))
    account_id = ids.new_id(ids.ACCOUNT)
    async with write_session(engine) as db:
        await accounts.create_key(db, account_id=account_id, livemode=False, restricted=False)
    return services, Scope(account_id, False)


async def _create(services: Services, scope: Scope, count: int) -> None:
    for _ in range(count):
        await session_service.create(services, scope=scope, params=SessionCreate(type="document"))


def test_a_live_subscriber_that_stops_reading_is_disconnected(database: Database) -> None:
    async def go() -> tuple[int, int]:
        services, scope = await _world(database.url)
        try:
            feed = LiveFeed(services, poll_seconds=60, queue_size=2)
            dropped: list[bool] = []
            stream: Any = feed.events(
                scope=scope,
                filter=EventFilter(),
                since=None,
                disconnect=lambda: dropped.append(True),
            )
            # given a live subscriber that read one event and then stopped reading
            first = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.05)
            await _create(services, scope, 1)
            await feed.poll()
            await first
            # when more events arrive than its queue holds
            await _create(services, scope, 4)
            await feed.poll()
            # then it is disconnected once, and the poller went on
            await stream.aclose()
            return len(dropped), feed.subscriber_count
        finally:
            await services.reader.close()
            await services.engine.dispose()

    assert run(go()) == (1, 0)


def test_a_subscriber_whose_queue_fills_while_replaying_reads_the_table_again(
    database: Database,
) -> None:
    async def go() -> tuple[list[int], list[int], int]:
        services, scope = await _world(database.url)
        try:
            await _create(services, scope, 3)
            feed = LiveFeed(services, poll_seconds=60, queue_size=1)
            dropped: list[bool] = []
            stream: Any = feed.events(
                scope=scope, filter=EventFilter(), since=0, disconnect=lambda: dropped.append(True)
            )
            # given a subscriber replaying from the start, paused after its first event
            received = [(await stream.__anext__()).sequence]
            # when more events arrive than its queue holds before it reads on
            await _create(services, scope, 3)
            await feed.poll()
            for _ in range(5):
                received.append((await stream.__anext__()).sequence)
            await stream.aclose()
            listed = await feed.database.reader.all(*_all_sequences(scope))
            return received, [row[0] for row in listed], len(dropped)
        finally:
            await services.reader.close()
            await services.engine.dispose()

    received, stored, dropped = run(go())
    # then it got every event once, in order, and was not disconnected
    assert received == stored
    assert dropped == 0


def _all_sequences(scope: Scope) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import select

    from app.db import Query
    from app.models import Event

    query = Query(
        select(Event.sequence)  # type: ignore[call-overload]
        .where(Event.account_id == scope.account_id)
        .order_by(Event.sequence)
    )
    return query, {}
