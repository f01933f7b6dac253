"""`/readyz` (readiness) apart from `/healthz` (liveness): 503 with a reason while the process
shuts down, while the database is behind the code's newest migration, or while it does not
answer; 200 otherwise."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from app.cli import _server_class
from app.migrations import head_revision, upgrade
from app.settings import Settings
from tests.conftest import BACKENDS, Database, Server, fresh_database_url, running_server


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with fresh_database_url(request.param, tmp_path / "gateway.sqlite3") as url:
        upgrade(url)
        yield Database(url)


def test_a_migrated_database_is_ready(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_a_database_behind_the_code_is_not_ready_but_the_process_is_alive(
    fresh: Database,
) -> None:
    # given: the code's newest migration not applied yet (as after a deploy, before migrate)
    fresh.execute("UPDATE alembic_version SET version_num = '0004'")
    with running_server(_settings(fresh.url), run_worker=False) as started:
        # when
        ready = httpx.get(f"{started.base_url}/readyz")
        alive = httpx.get(f"{started.base_url}/healthz")
    # then
    assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
    assert ready.json() == {"status": "unavailable", "reason": "migrations_pending"}
    assert alive.status_code == 200
    assert head_revision() != "0004"


def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    # given: a database file in a directory that does not exist
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'gateway.sqlite3'}"
    with running_server(_settings(url), run_worker=False) as started:
        # when
        ready = httpx.get(f"{started.base_url}/readyz")
    # then
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "database_unreachable"}


def test_a_process_told_to_stop_is_not_ready(fresh: Database) -> None:
    with running_server(_settings(fresh.url), run_worker=False) as started:
        # given
        assert httpx.get(f"{started.base_url}/readyz").status_code == 200
        # when
        started.app.state.shutting_down = True
        ready = httpx.get(f"{started.base_url}/readyz")
    # then
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "shutting_down"}


def test_serve_marks_the_app_as_shutting_down_the_moment_a_stop_signal_arrives() -> None:
    # given: the server `python -m app serve` runs
    app = Starlette()
    app.state.shutting_down = False
    server = _server_class()(uvicorn.Config(app), app)
    # when
    server.handle_exit(signal.SIGTERM, None)
    # then
    assert app.state.shutting_down is True and server.should_exit is True


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        worker_poll_seconds=0.05,
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
    )
