"""Engine, transaction lifetime and the lean reader. The differences between SQLite and Postgres
live here only.

SQLite runs in WAL mode (readers never block the writer) with `synchronous=FULL`, so a transaction
that returned is on disk even if the process or the machine dies right after. Write transactions
start with `BEGIN IMMEDIATE`: they take the write lock before their first read, so two writers
never both read a row and then overwrite each other's change. Postgres writers lock the row they
change with `SELECT … FOR UPDATE` instead (see `store`).

Reads that serve requests go through a `Reader` instead of the ORM: a `Query` (a SELECT whose
values are named bind parameters, built once per shape by `store`) is compiled once per dialect
and run on the driver itself, its rows decoded column by column into plain records. Building,
compiling and hydrating ORM objects cost ten times the read itself on a page of 50 rows. On
SQLite a short read runs on the event loop, on a connection of its own in `query_only` mode: an
index seek of a page takes tens of microseconds, less than the hop to aiosqlite's thread and back
(measured in `scripts/bench.py`), and in WAL mode a reader never waits for a writer. Reads that
are not bounded by a page (counts) still go to aiosqlite's thread, off the loop. On Postgres a
read is one statement on an asyncpg pool in autocommit: no transaction stays open.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import Select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import UTCDateTime

_WRITE = "gateway_write"


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine for the URL; parameters are kept out of error messages and logs."""
    if database_url.startswith("sqlite"):
        engine = create_async_engine(
            database_url, hide_parameters=True, connect_args={"timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    # A database that does not answer fails the request within these bounds instead of hanging it.
    return create_async_engine(
        database_url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "command_timeout": COMMAND_TIMEOUT_SECONDS,
        },
    )


CONNECT_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 30.0
# What a 503 for an unreachable database tells clients to wait before retrying.
RETRY_AFTER_SECONDS = 2

UNAVAILABLE = "DATABASE_UNAVAILABLE"
READ_ONLY = "DATABASE_READ_ONLY"
FULL = "DATABASE_FULL"

_SQLITE_CODES = {8: READ_ONLY, 13: FULL, 14: UNAVAILABLE, 10: UNAVAILABLE}


def database_fault(error: BaseException | None) -> str | None:
    """UNAVAILABLE, READ_ONLY or FULL when `error` (or what it wraps) says the database cannot
    serve the request right now; None for every other error. The one place that knows which
    driver errors mean that, on SQLite and Postgres."""
    from sqlalchemy import exc

    seen = 0
    while error is not None and seen < 10:
        seen += 1
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return UNAVAILABLE
        if isinstance(error, exc.TimeoutError | TimeoutError | ConnectionError):
            return UNAVAILABLE
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", None)
            return None if code is None else _SQLITE_CODES.get(code & 0xFF)
        if type(error).__module__.startswith("asyncpg"):
            name = type(error).__name__
            if name in _ASYNCPG_UNAVAILABLE or getattr(error, "sqlstate", "") in _PG_STATES:
                return UNAVAILABLE
        if isinstance(error, OSError) and not isinstance(error, sqlite3.Error):
            return UNAVAILABLE
        orig = getattr(error, "orig", None)
        error = orig if isinstance(orig, BaseException) else error.__cause__ or error.__context__
    return None


class OutageLog:
    """What a background loop logs of its failures: a database outage once when it starts (a
    WARNING naming its code) and once when it ends, not at every retry; any other error each time,
    with its traceback. `failed`, `paused` (with a `%s` for the code) and `resumed` are the
    loop's own messages."""

    def __init__(self, logger: logging.Logger, *, failed: str, paused: str, resumed: str) -> None:
        self.logger = logger
        self.messages = failed, paused, resumed
        self.failing = False

    def succeeded(self) -> None:
        if self.failing:
            self.logger.warning(self.messages[2])
        self.failing = False

    def failed(self, error: BaseException) -> None:
        if (code := database_fault(error)) is None:
            self.logger.exception(self.messages[0])
        elif not self.failing:
            self.logger.warning(self.messages[1], code)
        self.failing = code is not None


_ASYNCPG_UNAVAILABLE = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "CrashShutdownError",
    "ConnectionFailureError",
    "InterfaceError",
}
# Class 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now).
_PG_STATES = {"08000", "08003", "08006", "08001", "08004", "57P01", "57P02", "57P03"}


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that we choose how each one begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


@asynccontextmanager
async def read_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for reads; nothing it does is committed."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


def write_options() -> dict[str, Any]:
    """Execution options that make a connection's transactions writers (BEGIN IMMEDIATE)."""
    return {_WRITE: True}


# Work that each write transaction of the current task does last, inside the transaction, so
# that it commits exactly when the transaction's own work does (an idempotency claim recording
# that its request wrote: see app.web.idempotency). Set around a request; unset elsewhere.
before_commit: ContextVar[Callable[[AsyncSession], Awaitable[None]] | None] = ContextVar(
    "before_commit", default=None
)


@asynccontextmanager
async def write_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One write transaction: committed when the block ends, rolled back if it raises. After a
    commit whose work asked for it (`call_after_commit`), the engine's `on_commit` callbacks run."""
    async with AsyncSession(
        engine.execution_options(**write_options()), expire_on_commit=False
    ) as session:
        async with session.begin():
            yield session
            if (last := before_commit.get()) is not None:
                await last(session)
        if session.info.pop(_AFTER_COMMIT, False):
            for callback in _ON_COMMIT.get(engine, ()):
                callback()


_AFTER_COMMIT = "call_after_commit"
_ON_COMMIT: weakref.WeakKeyDictionary[AsyncEngine, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)


def on_commit(engine: AsyncEngine, callback: Callable[[], None]) -> None:
    """Run `callback` (quick, and not raising) after each write transaction on `engine` that
    called `call_after_commit`."""
    _ON_COMMIT.setdefault(engine, []).append(callback)


def call_after_commit(db: AsyncSession) -> None:
    """Ask for the engine's `on_commit` callbacks once this transaction has committed (not if
    it rolls back)."""
    db.info[_AFTER_COMMIT] = True


class Query:
    """A SELECT with named bind parameters, built once per shape and compiled once per dialect.

    `record` is the tuple type (a namedtuple) each decoded row becomes; without it, rows stay
    plain tuples.
    """

    def __init__(
        self, statement: Select[Any] | Any, *, record: type[tuple[Any, ...]] = tuple
    ) -> None:
        self.statement = statement
        self.record = record
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect, self.record)
        return found


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    binds: tuple[Callable[[Any], Any] | None, ...]
    # `decode(row) -> record`: each column's driver value as the ORM would have read it.
    decode: Callable[[Sequence[Any]], tuple[Any, ...]]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, bind in zip(self.names, self.binds, strict=True):
            value = values[name] if name in values else self.defaults[name]
            out.append(value if bind is None or value is None else bind(value))
        return tuple(out)


def _compile(statement: Select[Any], dialect: Dialect, record: type[tuple[Any, ...]]) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    return _Compiled(
        sql=compiled.string,
        names=names,
        defaults=dict(compiled.params),
        binds=tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        ),
        decode=_row_decoder(
            [_decoder(column.type, dialect) for column in statement.selected_columns], record
        ),
    )


def _row_decoder(
    decoders: Sequence[Callable[[Any], Any] | None], record: type[tuple[Any, ...]]
) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """One function from a driver's row to a record, `new(record, (row[0], None if row[1] is None
    else d1(row[1]), …))`: a row is decoded without a loop or a call for the columns that need
    nothing, and becomes its record without a second pass (`tuple.__new__` is what a namedtuple's
    own constructor calls)."""
    names: dict[str, Any] = {"new": tuple.__new__, "record": record}
    parts = []
    for index, decode in enumerate(decoders):
        if decode is None:
            parts.append(f"row[{index}]")
        else:
            names[f"d{index}"] = decode
            parts.append(f"(None if row[{index}] is None else d{index}(row[{index}]))")
    source = f"def decode(row):\n    return new(record, ({', '.join(parts)},))\n"
    exec(compile(source, "<row decoder>", "exec"), names)
    return names["decode"]  # type: ignore[no-any-return]


def _decoder(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What the driver's value of a column needs to become what the ORM would have read: the
    same conversions as the column types' own result processing, without its per-row overhead."""
    postgres = dialect.name == "postgresql"
    if isinstance(column_type, UTCDateTime):
        if postgres:
            return lambda value: value.astimezone(UTC)
        # SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, naive; see UTCDateTime).
        return lambda value: datetime.fromisoformat(value + "+00:00")
    if isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON):
        # Text on both drivers (asyncpg gives json and jsonb as text); a nullable column's None
        # is stored as JSON `null`, which orjson reads as None.
        return orjson.loads
    if isinstance(column_type, Boolean) and not postgres:
        return bool
    return None


class Reader:
    """Runs `Query`s for the requests of one process; see the module docstring.

    Statements go to the driver itself (stdlib `sqlite3`, an asyncpg pool): SQLAlchemy's
    connection and its asyncpg adapter cost more than the read they wrap. Each statement is still
    announced to whatever listens to the application engine's `before_cursor_execute` and
    `after_cursor_execute` (statement counts in tests), with the statement and its
    parameters; there being no SQLAlchemy connection or execution context, those are None.
    Tracing, which needs to span the statement itself, wraps it in `statement_span` instead.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._postgres = is_postgres(engine)
        self._sqlite: sqlite3.Connection | None = None
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        # What callers remember about this database between reads (see `store.accounts`).
        self.memo: dict[str, Any] = {}
        # `statement_span(sql)` around each statement while tracing (set by `app.tracing`).
        self.statement_span: Callable[[str], AbstractContextManager[object]] | None = None

    def connections_in_use(self) -> int:
        """Connections of the asyncpg pool running a read now (0 on SQLite, whose reads run
        on the event loop and never wait for a connection)."""
        pool = self._pool
        return 0 if pool is None else pool.get_size() - pool.get_idle_size()

    async def all(self, query: Query, values: Mapping[str, Any]) -> list[Any]:
        """Every row of `query` with these parameter values, as records."""
        return (await self.many([(query, values)]))[0]

    async def many(self, reads: Sequence[tuple[Query, Mapping[str, Any]]]) -> list[list[Any]]:
        """Several queries that must agree with each other: one snapshot on SQLite (one read
        transaction); on Postgres one autocommit statement each, on one connection."""
        compiled = [(query.compiled(self.dialect), values) for query, values in reads]
        statements = [(each.sql, each.parameters(values)) for each, values in compiled]
        if self._postgres:
            pool = self._pool or await self._open_pool()
            async with pool.acquire() as connection:
                raw = []
                for sql, parameters in statements:
                    self._announce("before_cursor_execute", None, sql, parameters)
                    if self.statement_span is None:
                        raw.append(await connection.fetch(sql, *parameters))
                    else:
                        with self.statement_span(sql):
                            raw.append(await connection.fetch(sql, *parameters))
                    self._announce("after_cursor_execute", None, sql, parameters)
        else:
            sqlite = self._sqlite or self._open_sqlite()
            if len(statements) == 1:
                raw = [self._sqlite_rows(sqlite, *statements[0])]
            else:
                sqlite.execute("BEGIN")
                try:
                    raw = [self._sqlite_rows(sqlite, *each) for each in statements]
                finally:
                    sqlite.execute("COMMIT")
        return [list(map(each.decode, rows)) for (each, _), rows in zip(compiled, raw, strict=True)]

    def _sqlite_rows(
        self, connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]
    ) -> list[Any]:
        cursor = connection.cursor()
        self._announce("before_cursor_execute", cursor, sql, parameters)
        if self.statement_span is None:
            rows = cursor.execute(sql, parameters).fetchall()
        else:
            with self.statement_span(sql):
                rows = cursor.execute(sql, parameters).fetchall()
        self._announce("after_cursor_execute", cursor, sql, parameters)
        cursor.close()
        return rows

    def _announce(self, name: str, cursor: Any, sql: str, parameters: tuple[Any, ...]) -> None:
        dispatch = getattr(self.engine.sync_engine.dispatch, name)
        if dispatch:
            dispatch(None, cursor, sql, parameters, None, False)

    def _open_sqlite(self) -> sqlite3.Connection:
        database = self.engine.url.database
        if not database or database == ":memory:":
            raise ValueError("the lean reader needs a SQLite database file")
        # Autocommit: each read is its own transaction unless `many` begins one, so no snapshot
        # outlives the statements that need it.
        connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA query_only=ON")
        # A WAL reader waits only while a crashed writer's log is recovered; never long.
        connection.execute("PRAGMA busy_timeout=5000")
        self._sqlite = connection
        return connection

    async def _open_pool(self) -> Any:
        import asyncpg  # type: ignore[import-untyped]

        async with self._pool_lock:
            if self._pool is None:
                url = self.engine.url
                # Autocommit statements: a read holds no transaction past itself.
                self._pool = await asyncpg.create_pool(
                    user=url.username,
                    password=url.password,
                    host=url.host,
                    port=url.port,
                    database=url.database,
                    min_size=0,  # no floor to restore: a pool that retries it logs tracebacks
                    max_size=10,
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    command_timeout=COMMAND_TIMEOUT_SECONDS,
                )
            return self._pool

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
