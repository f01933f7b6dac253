"""Engine and transaction lifetime. The differences between SQLite and Postgres live here only.

SQLite runs in WAL mode (readers never block the writer) with `synchronous=FULL`, so a transaction
that returned is on disk even if the process or the machine dies right after. Write transactions
start with `BEGIN IMMEDIATE`: they take the write lock before their first read, so two writers
never both read a row and then overwrite each other's change. Postgres writers lock the row they
change with `SELECT … FOR UPDATE` instead (see `store`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

_WRITE = "gateway_write"


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine for the URL; parameters are kept out of error messages and logs."""
    if database_url.startswith("sqlite"):
        engine = create_async_engine(
            database_url, hide_parameters=True, connect_args={"timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(database_url, hide_parameters=True, pool_pre_ping=True)


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


@asynccontextmanager
async def write_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    async with (
        AsyncSession(
            engine.execution_options(**write_options()), expire_on_commit=False
        ) as session,
        session.begin(),
    ):
        yield session
