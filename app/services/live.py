"""Live updates for subscriptions: one poller per process serving every subscriber.

The `events` table is the source of truth. A subscriber first replays what it asked for from the
table (`since`), then takes what the poller hands it. The poller reads new events every
SUBSCRIPTION_POLL_SECONDS in one statement for all the scopes (account and mode) that have
subscribers, each after its own mark, and fans each row out to that scope's subscribers whose
filter it matches; it also reads the sessions being watched, one query per scope, and hands a
session out again whenever its row changed (plain updates record no event, so watching the
events alone would miss a metadata change). However many subscribers, a poll costs one event
statement per 50 scopes and one session read per scope with watchers.

No gap, no repeat: a subscriber joins its scope's group before it replays, so what the poller
reads after the join reaches its queue while the replay reads what was committed before; every
row is handed on only when its sequence is above the last one handed on. Within a scope
sequences become visible in order (`app.store.event_stream`), so "above the last seen" never
skips a row.

Each subscriber has a bounded queue. The poller never waits for one: when a queue is full during
a replay the subscriber notes it and replays again from the table; when it is full while live,
the consumer has stopped reading (its socket is not draining) and `disconnect` is called, so a
client that stops reading is dropped, not buffered without end. It resumes with its last cursor.

A cursor older than EVENT_RETENTION_DAYS cannot resume: events after it may have been purged
(`resume_problem`), and the subscription is refused instead of replaying with a gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.db import OutageLog
from app.domain.access import Scope
from app.domain.retention import Retention, resumable
from app.models import utcnow
from app.services import Database
from app.services import sessions as session_service
from app.store import event_stream, events
from app.store.events import EventFilter

logger = logging.getLogger("app.live")

# Rows a replay reads per statement, and the most a poll reads per statement (it reads again at
# once when it got that many).
REPLAY_BATCH = 200
POLL_BATCH = 500
# Scopes per poll statement (its shape, cached per count, has three parameters per scope).
SCOPES_PER_POLL = 50
SESSIONS_PER_READ = 100


class _Subscriber:
    """One subscription's queue, fed by the poller."""

    def __init__(
        self, *, size: int, disconnect: Callable[[], None], match: Callable[[Any], bool]
    ) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)
        self.disconnect = disconnect
        self.match = match
        # While replaying, a full queue means "read the table again", not "too slow".
        self.replaying = True
        self.missed = False
        self.dropped = False

    def offer(self, row: Any) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(row)
        except asyncio.QueueFull:
            if self.replaying:
                self.missed = True
            else:
                self.dropped = True
                self.disconnect()


@dataclass(eq=False)
class _EventGroup:
    """The subscribers of one scope and the sequence the poller has read up to (None until the
    first subscriber has read the scope's newest)."""

    mark: int | None = None
    subscribers: set[_Subscriber] = field(default_factory=set)


@dataclass(eq=False)
class _Watch:
    """The subscribers of one session and its row as last read."""

    last: Any = None
    subscribers: set[_Subscriber] = field(default_factory=set)


class LiveFeed:
    """The process's poller and the subscriptions it serves (see the module docstring)."""

    def __init__(self, database: Database, *, poll_seconds: float, queue_size: int) -> None:
        self.database = database
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self._events: dict[Scope, _EventGroup] = {}
        self._watches: dict[Scope, dict[str, _Watch]] = {}
        self._wake = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return sum(len(group.subscribers) for group in self._events.values()) + sum(
            len(watch.subscribers)
            for watches in self._watches.values()
            for watch in watches.values()
        )

    def wake(self) -> None:
        """Poll now rather than at the next tick (a wake-up: it carries no event)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set. A failed poll is logged and retried at the next tick: the
        marks did not move, so nothing is lost."""
        outage = OutageLog(
            logger,
            failed="live updates: poll failed; retrying",
            paused="live updates: poll paused: %s; retrying every tick",
            resumed="live updates: polling again",
        )
        while not stop.is_set():
            try:
                await self.poll()
                outage.succeeded()
            except Exception as error:
                outage.failed(error)
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def poll(self) -> None:
        """Read what is new once and hand it to the subscribers."""
        groups = [
            (scope, group)
            for scope, group in self._events.items()
            if group.mark is not None and group.subscribers
        ]
        for start in range(0, len(groups), SCOPES_PER_POLL):
            await self._poll_events(groups[start : start + SCOPES_PER_POLL])
        for scope, watches in list(self._watches.items()):
            await self._poll_sessions(scope, watches)

    async def _poll_events(self, groups: Sequence[tuple[Scope, _EventGroup]]) -> None:
        by_scope = dict(groups)
        while True:
            marks = [(scope, group.mark or 0) for scope, group in by_scope.items()]
            rows = await event_stream.events_after_marks(
                self.database.reader, marks=marks, limit=POLL_BATCH
            )
            for row in rows:
                group = by_scope[Scope(row.account_id, row.livemode)]
                if row.sequence <= (group.mark or 0):
                    continue
                group.mark = row.sequence
                for subscriber in list(group.subscribers):
                    if subscriber.match(row):
                        subscriber.offer(row)
            if len(rows) < POLL_BATCH:
                return

    async def _poll_sessions(self, scope: Scope, watches: dict[str, _Watch]) -> None:
        session_ids = sorted(watches)
        for start in range(0, len(session_ids), SESSIONS_PER_READ):
            found = await session_service.get_stored(
                self.database,
                scope=scope,
                session_ids=session_ids[start : start + SESSIONS_PER_READ],
            )
            for session_id, row in found.items():
                watch = watches.get(session_id)
                if watch is None or row == watch.last:
                    continue
                watch.last = row
                for subscriber in list(watch.subscribers):
                    subscriber.offer(row)

    async def events(
        self,
        *,
        scope: Scope,
        filter: EventFilter,
        since: int | None,
        disconnect: Callable[[], None],
    ) -> AsyncIterator[Any]:
        """The scope's events matching `filter`, oldest first: those after `since` (or, without
        it, after the newest at the call), then each new one as it is committed, until closed.
        `disconnect` is called (once) if the consumer stops reading while live."""
        subscriber = _Subscriber(
            size=self.queue_size, disconnect=disconnect, match=_matcher(filter)
        )
        group = self._events.setdefault(scope, _EventGroup())
        group.subscribers.add(subscriber)
        try:
            reader = self.database.reader
            if group.mark is None or since is None:
                latest = await event_stream.latest_sequence(reader, scope=scope)
                if group.mark is None:
                    group.mark = latest
                if since is None:
                    since = latest
            last = since
            while True:
                subscriber.missed = False
                while True:
                    rows = await event_stream.events_after(
                        reader, scope=scope, filter=filter, after=last, limit=REPLAY_BATCH
                    )
                    for row in rows:
                        yield row
                        last = row.sequence
                    if len(rows) < REPLAY_BATCH:
                        break
                if not subscriber.missed:
                    break
                # The queue overflowed while replaying: what it holds is a prefix of what
                # the poller read; the table has all of it. Read on from there.
                _drain(subscriber.queue)
            subscriber.replaying = False
            while True:
                row = await subscriber.queue.get()
                if row.sequence > last:
                    yield row
                    last = row.sequence
        finally:
            group.subscribers.discard(subscriber)
            if not group.subscribers and self._events.get(scope) is group:
                del self._events[scope]

    async def session(
        self,
        *,
        scope: Scope,
        session_id: str,
        may_see_secrets: bool,
        disconnect: Callable[[], None],
    ) -> AsyncIterator[Any]:
        """The session as it is now, then again after every change to it, until closed; nothing
        when it is not visible in the scope."""
        subscriber = _Subscriber(size=self.queue_size, disconnect=disconnect, match=_any)
        watches = self._watches.setdefault(scope, {})
        watch = watches.setdefault(session_id, _Watch())
        watch.subscribers.add(subscriber)
        try:
            found = await session_service.get_stored(
                self.database, scope=scope, session_ids=[session_id]
            )
            last = found.get(session_id)
            if last is None:
                return
            subscriber.replaying = False
            yield await self._as_seen(last, may_see_secrets)
            while True:
                row = await subscriber.queue.get()
                if row != last:
                    last = row
                    yield await self._as_seen(row, may_see_secrets)
        finally:
            watch.subscribers.discard(subscriber)
            if not watch.subscribers and watches.get(session_id) is watch:
                del watches[session_id]
                if not watches and self._watches.get(scope) is watches:
                    del self._watches[scope]

    async def _as_seen(self, row: Any, may_see_secrets: bool) -> Any:
        """The row as the caller should see it (fresh credentials for a key that sees them)."""
        return (await session_service.fresh(self.database, [row], may_see_secrets=may_see_secrets))[
            0
        ]


def _any(row: Any) -> bool:
    return True


def _matcher(filter: EventFilter) -> Callable[[Any], bool]:
    """The in-memory twin of the replay's WHERE for the filters a subscription takes."""
    types = frozenset(filter.types) if filter.types is not None else None
    session_id = filter.session_id

    def match(row: Any) -> bool:
        return (types is None or row.type in types) and (
            session_id is None or row.session_id == session_id
        )

    return match


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


async def resume_problem(
    database: Database, *, scope: Scope, after: int, retention: Retention
) -> str | None:
    """Why a subscription may not resume after the event with sequence `after`, or None.

    Events older than EVENT_RETENTION_DAYS are purged, so a cursor whose event is gone or past
    the window may have lost events after it; that is refused rather than replayed with a
    silent gap (`domain.retention.resumable`). With retention off every cursor resumes.
    """
    cutoff = retention.event_cutoff(utcnow())
    if cutoff is None:
        return None
    async with database.engine.connect() as connection:
        created = await events.created_of(connection, scope=scope, sequence=after)
    if resumable(cursor_event_created=created, cutoff=cutoff):
        return None
    return (
        "`since` names an event that is no longer kept (events are kept for "
        f"EVENT_RETENTION_DAYS, {retention.event_days} days) or that this key cannot see, so "
        "events after it may be missing. Subscribe without `since`, then read what you missed "
        "with the `events` query."
    )


@dataclass(frozen=True)
class Listener:
    """What a subscription resolver needs from its connection: the process's feed, and how to
    drop the connection when the client stops reading."""

    feed: LiveFeed
    disconnect: Callable[[], None]
