"""`python -m app migrate` against fresh SQLite and Postgres databases, alone and all at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Database, fresh_database_url
from tests.helpers import head_revision

PROCESSES = 4

TABLES = {"accounts", "api_keys", "verification_flows", "verification_sessions", "alembic_version"}

SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
POSTGRES_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"


@pytest.fixture(params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database that nothing has migrated yet: a new SQLite file, or a new Postgres one."""
    # Not named like the default database file, so a migration that ignored DATABASE_URL and
    # used the working directory's default would leave this one empty.
    with fresh_database_url(request.param, tmp_path / "fresh.sqlite3") as url:
        yield Database(url)


def start_migrate(database: Database, cwd: Path) -> subprocess.Popen[str]:
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env["DATABASE_URL"] = database.url
    return subprocess.Popen(
        [sys.executable, "-m", "app", "migrate"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def migrate(database: Database, cwd: Path) -> subprocess.CompletedProcess[str]:
    process = start_migrate(database, cwd)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def tables(database: Database) -> set[str]:
    query = SQLITE_TABLES if database.url.startswith("sqlite") else POSTGRES_TABLES
    return {row[0] for row in database.execute(query)}


def test_concurrent_migrations_do_not_race(fresh_database: Database, tmp_path: Path) -> None:
    # given
    processes = [start_migrate(fresh_database, tmp_path) for _ in range(PROCESSES)]
    # when
    results = [(process, *process.communicate(timeout=120)) for process in processes]
    # then
    for process, stdout, stderr in results:
        assert process.returncode == 0, stderr
        assert stdout == "database is at the newest revision\n"
        assert "Traceback" not in stderr
    assert fresh_database.execute("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert tables(fresh_database) >= TABLES


def test_migrate_twice_is_a_no_op(fresh_database: Database, tmp_path: Path) -> None:
    # given
    first = migrate(fresh_database, tmp_path)
    assert first.returncode == 0, first.stderr
    fresh_database.execute(
        "INSERT INTO accounts (id, is_default, created) "
        "VALUES ('acct_MigrateTwice', false, '2026-01-01 00:00:00.000000')"
    )
    before = tables(fresh_database)
    # when
    second = migrate(fresh_database, tmp_path)
    # then
    assert second.returncode == 0, second.stderr
    assert second.stdout == "database is at the newest revision\n"
    assert fresh_database.execute("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert tables(fresh_database) == before
    assert fresh_database.execute("SELECT id FROM accounts") == [("acct_MigrateTwice",)]


def test_migrate_from_another_working_directory(fresh_database: Database, tmp_path: Path) -> None:
    # given
    elsewhere = tmp_path / "not" / "the" / "project"
    elsewhere.mkdir(parents=True)
    # when
    result = migrate(fresh_database, elsewhere)
    # then
    assert result.returncode == 0, result.stderr
    assert fresh_database.execute("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert list(elsewhere.iterdir()) == []
