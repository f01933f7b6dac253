"""Alembic migrations, shipped inside the package so every command works from any directory.

`upgrade` brings a database to the newest revision. Several processes may start at once against one
database: on Postgres they queue on an advisory lock, on SQLite on the write lock (`BEGIN
IMMEDIATE`), and each migrates inside that one transaction, so the later ones find nothing to do.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.db import create_engine, is_postgres, write_options

# Any constant that other applications on the same Postgres are unlikely to pick.
_ADVISORY_LOCK_KEY = 0x1D_6A7E


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


def head_revision() -> str:
    """The newest revision the code ships (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(database_url: str) -> None:
    """Bring the database to the newest revision (a no-op when it is there already)."""
    asyncio.run(_upgrade(database_url))


async def _upgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(**write_options())
            async with connection.begin():
                if is_postgres(engine):
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                    )
                await connection.run_sync(_run_upgrade)
    finally:
        await engine.dispose()


def _run_upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
