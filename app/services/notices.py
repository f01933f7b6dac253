"""Listening for the change notices of other processes (`app.store.notices`), to wake the live
feed at once instead of at its next poll. Postgres only: a connection of its own (LISTEN cannot
share a pooled one), reconnected after a loss. A notice lost while disconnected costs latency,
never an event: on every (re)connection the feed is woken once, to read what it may have missed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from app.store.notices import CHANNEL

logger = logging.getLogger("app.live")

# How long to wait before listening again after the connection was lost or refused, and how
# often a quiet connection is checked.
RECONNECT_SECONDS = 1.0
CHECK_SECONDS = 30.0


async def listen(database_url: str, *, wake: Callable[[], None], stop: asyncio.Event) -> None:
    """Call `wake` for every notice until `stop` is set (returns at once on SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    import asyncpg  # type: ignore[import-untyped]

    failing = False  # an outage is logged once, and its end once
    while not stop.is_set():
        lost = asyncio.Event()
        connection: Any = None
        try:
            connection = await asyncpg.connect(
                user=url.username,
                password=url.password,
                host=url.host,
                port=url.port,
                database=url.database,
            )
            connection.add_termination_listener(lambda _, lost=lost: lost.set())
            await connection.add_listener(CHANNEL, lambda *_: wake())
            wake()  # whatever was committed while not listening
            if failing:
                logger.warning("live updates: listening for notices again")
                failing = False
            while not stop.is_set() and not lost.is_set():
                if not await _first(stop.wait(), lost.wait(), timeout=CHECK_SECONDS):
                    # Nothing for a while: make sure the connection still answers, since a
                    # silent network loss would otherwise never end this wait.
                    await connection.fetchval("SELECT 1", timeout=CHECK_SECONDS)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            if not failing:
                name = type(error).__name__
                logger.warning("live updates: not listening for notices (%s); retrying", name)
            failing = True
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RECONNECT_SECONDS)


async def _first(*waits: Any, timeout: float) -> bool:
    """Whether one of `waits` finished within `timeout`."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return bool(done)
    finally:
        for task in tasks:
            task.cancel()


class RedisNotices:
    """Change notices over Redis pub/sub (REDIS_URL), for processes that share a database
    without Postgres's NOTIFY (several processes over one SQLite file): `publish_soon` after a
    change commits, `listen` wakes this process's feed for every notice. Like Postgres's, a
    notice carries nothing and may be lost (Redis down, a reconnect): that costs latency only."""

    def __init__(self, redis_url: str, *, key_prefix: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.channel = f"{key_prefix}changes"
        self._sending: set[asyncio.Task[None]] = set()

    def publish_soon(self) -> None:
        """Publish a notice without waiting for it (called after a commit)."""
        task = asyncio.get_running_loop().create_task(self._publish())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self.redis.publish(self.channel, "")
        except (RedisError, OSError) as error:
            logger.warning("live updates: notice not published (%s)", type(error).__name__)

    async def listen(self, *, wake: Callable[[], None], stop: asyncio.Event) -> None:
        """Call `wake` for every notice until `stop` is set."""
        from redis.exceptions import RedisError

        while not stop.is_set():
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                wake()  # whatever was committed while not listening
                while not stop.is_set():
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=RECONNECT_SECONDS
                    )
                    if message is not None:
                        wake()
            except (RedisError, OSError) as error:
                logger.warning("live updates: not listening on Redis (%s)", type(error).__name__)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RECONNECT_SECONDS)

    async def close(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        await self.redis.aclose()
