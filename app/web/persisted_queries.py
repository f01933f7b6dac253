"""Automatic persisted queries as one process sees them: a bounded local cache in front of the
shared store in the database (`app.services.persisted_queries`).

    find(sha256)            the document, from this process's cache or else one primary-key read;
                            None when no process has registered it (or it was evicted)
    register(sha256, text)  store a document the caller has checked (hash, limits); evicts the
                            least recently used past APQ_STORE_SIZE

The store is content-addressed (a hash always names the same text), so a process may keep what it
read for as long as it likes: a cached document is never stale, only perhaps evicted from the
shared store meanwhile, and serving it then is still the right answer.

Recency is kept coarsely. A hit in the local cache writes nothing; `last_used` moves forward at
most once per TOUCH_INTERVAL per document per process, in a background batch after the response
has gone. Writing on every hit would turn each hashed read into a write transaction (on SQLite,
a turn at the one write lock), for a precision eviction does not need: the store holds
APQ_STORE_SIZE documents (10,000 by default) while a deployment's clients use a few hundred, so
what eviction must tell apart is a document used this hour from one unused for days, and a
`last_used` at most TOUCH_INTERVAL old does that.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from app.schema.limits import CACHEABLE_LENGTH
from app.services import Database
from app.services import persisted_queries as service

logger = logging.getLogger("app.persisted_queries")

TOUCH_INTERVAL = timedelta(minutes=10)
# What one process keeps: at most this many documents and this much text (a document is a few KB;
# the character budget keeps a flood of large ones from holding much memory).
LOCAL_DOCUMENTS = 1000
LOCAL_CHARACTERS = 8_000_000
# Longer documents run but are not stored. The limiter caches the parse and validation of longer
# texts for trusted documents only (anyone may register an APQ document, and a cached document
# costs some 60 bytes a character), so a longer stored document would be parsed and validated
# on every request, which is what storing it is meant to spare. Big operations belong in a
# trusted manifest (PERSISTED_DOCUMENTS_FILE).
MAX_STORED_CHARACTERS = CACHEABLE_LENGTH


@dataclass
class _Entry:
    query: str
    # When this process last knew `last_used` in the store to be this recent.
    touched: datetime


class PersistedQueries:
    """One process's view of the APQ store; `store_size` 0 turns APQ off."""

    def __init__(
        self,
        *,
        database: Database,
        store_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.store_size = store_size
        self.clock = clock
        self._local: OrderedDict[str, _Entry] = OrderedDict()
        self._characters = 0
        self._capacity = min(store_size, LOCAL_DOCUMENTS)
        self._pending: set[str] = set()
        self._flushing: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.store_size > 0

    async def find(self, sha256: str) -> str | None:
        now = self.clock()
        entry = self._local.get(sha256)
        if entry is not None:
            self._local.move_to_end(sha256)
            if now - entry.touched >= TOUCH_INTERVAL:
                entry.touched = now
                self._touch_later(sha256)
            return entry.query
        found = await service.find(self.database, sha256=sha256)
        if found is None:
            return None
        self._remember(sha256, found.query, touched=found.last_used)
        if now - found.last_used >= TOUCH_INTERVAL:
            self._local[sha256].touched = now
            self._touch_later(sha256)
        return found.query

    async def register(self, sha256: str, query: str) -> None:
        """Store `query` under `sha256` (the caller checked that it is its hash and that it
        passes the limits). A store that fails (a lost race on Postgres, a locked database) is
        logged, not raised: the request runs anyway, and the client registers again next time."""
        if not self.enabled or len(query) > MAX_STORED_CHARACTERS:
            return
        now = self.clock()
        try:
            evicted = await service.register(
                self.database, sha256=sha256, query=query, now=now, keep=self.store_size
            )
        except SQLAlchemyError:
            logger.warning("could not store persisted query %s", sha256, exc_info=True)
            return
        for gone in evicted:
            self._forget(gone)
        if sha256 not in evicted:
            self._remember(sha256, query, touched=now)

    async def close(self) -> None:
        """Wait for the touches already under way (at shutdown, before the engine goes)."""
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)

    def _remember(self, sha256: str, query: str, *, touched: datetime) -> None:
        self._forget(sha256)
        self._local[sha256] = _Entry(query=query, touched=touched)
        self._characters += len(query)
        while len(self._local) > self._capacity or self._characters > LOCAL_CHARACTERS:
            _, oldest = self._local.popitem(last=False)
            self._characters -= len(oldest.query)

    def _forget(self, sha256: str) -> None:
        entry = self._local.pop(sha256, None)
        if entry is not None:
            self._characters -= len(entry.query)

    def _touch_later(self, sha256: str) -> None:
        self._pending.add(sha256)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        # One batch per turn: touches that arrive while one is written go in the next.
        while self._pending:
            hashes, self._pending = self._pending, set()
            try:
                await service.touch(self.database, hashes=hashes, now=self.clock())
            except SQLAlchemyError:
                logger.warning("could not record the use of %d persisted queries", len(hashes))
