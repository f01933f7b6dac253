"""An acknowledged write survives a crash of the server, and the crash leaves a consistent database.

A real `python -m app serve` takes a stream of creates from several client threads and is killed
with SIGKILL in the middle of it (no shutdown, no flush, no rollback: a crash or an OOM kill).
Every create it acknowledged (HTTP 200, no userErrors) must be found after a restart, with the
fields it was acknowledged with; at most one create per client thread (the one in flight) may
have been stored without an answer, and then whole. Right after the crash, before anything
repairs it, the database is consistent: on SQLite `PRAGMA integrity_check` is `ok`, the file is
still in WAL mode and no foreign key dangles; on both backends every session has exactly one
`created` event and its hosted-page link, and no event, link, report or job points at a missing
session. The cycle runs twice over the same database, on SQLite (a file) and on Postgres.

A kill of the process cannot lose what the kernel already holds, so it does not tell
`synchronous=FULL` from `NORMAL`: the setting that makes an acknowledged commit survive a power
loss as well is pinned by `test_every_commit_is_synced_before_it_is_acknowledged` (see the
docs/security.md, Durability).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import create_engine
from tests.conftest import BACKENDS, Database, fresh_database_url
from tests.integration.test_durable_jobs import Gateway, create_key, gateway_env

THREADS = 4
# Creates acknowledged in each cycle before the kill; the kill lands while the threads go on.
ACKNOWLEDGED_BEFORE_KILL = 60
CYCLES = 2
WAIT_SECONDS = 30.0
PUBLIC_BASE_URL = "https://verify.example.test"  # the same for every process, so urls compare
CREATED = "identity.verification_session.created"

FIELDS = """
  id object created status type livemode clientReferenceId metadata
  providedDetails { email phone } clientSecret url lastError { code } redaction { status }
"""

CREATE = f"""
mutation Create($input: CreateVerificationSessionInput!) {{
  createVerificationSession(input: $input) {{
    verificationSession {{ {FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

NODES = f"""
query Nodes($ids: [ID!]!) {{
  nodes(ids: $ids) {{ ... on VerificationSession {{ {FIELDS} }} }}
}}
"""

# Rows that would betray a half-written transaction; each query lists the offenders.
CONSISTENCY = {
    "sessions without exactly one created event": f"""
        SELECT s.id FROM verification_sessions s
        LEFT JOIN events e ON e.session_id = s.id AND e.type = '{CREATED}'
        GROUP BY s.id HAVING COUNT(e.id) <> 1""",
    "sessions whose url has no link": """
        SELECT s.id FROM verification_sessions s
        LEFT JOIN verification_links l ON l.token = s.url_token
        WHERE s.url_token IS NOT NULL AND l.token IS NULL""",
    **{
        f"{table} of no session": f"""
        SELECT t.session_id FROM {table} t
        LEFT JOIN verification_sessions s ON s.id = t.session_id
        WHERE s.id IS NULL"""
        for table in ("events", "verification_links", "verification_reports", "jobs")
    },
}


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for this module: a SQLite file, or a Postgres database dropped after."""
    sqlite_file = tmp_path_factory.mktemp("crash") / "gateway.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
        yield url


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def launch(workdir: Path) -> Iterator[Callable[[str, str], Gateway]]:
    """Start `python -m app serve` processes; any still running are stopped at the end."""
    started: list[Gateway] = []

    def start(name: str, database_url: str) -> Gateway:
        env = gateway_env(
            database_url,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            RATE_LIMIT_TEST_PER_SECOND="0",
            RATE_LIMIT_LIVE_PER_SECOND="0",
        )
        gateway = Gateway(name=name, workdir=workdir, env=env)
        started.append(gateway)
        return gateway.start()

    try:
        yield start
    finally:
        for gateway in started:
            gateway.stop()


# --- the stream -------------------------------------------------------------------------------


@dataclass
class Stream:
    """Creates sent by THREADS client threads until the server stops answering."""

    base_url: str
    key: str
    cycle: int
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, thread: int) -> None:
        with httpx.Client(timeout=30) as client:
            for number in range(1_000_000):
                reference = f"crash-{self.cycle}-{thread}-{number}"
                input = {
                    "type": "DOCUMENT",
                    "clientReferenceId": reference,
                    "metadata": {"reference": reference, "thread": str(thread)},
                    "providedDetails": {"email": f"{reference}@example.com"},
                }
                try:
                    response = client.post(
                        f"{self.base_url}/graphql",
                        json={"query": CREATE, "variables": {"input": input}},
                        headers={"Authorization": f"Bearer {self.key}"},
                    )
                except httpx.TransportError:
                    return  # the server is gone; this request was never acknowledged
                with self.lock:
                    body = response.json() if response.status_code == 200 else {}
                    payload = (body.get("data") or {}).get("createVerificationSession") or {}
                    if "errors" in body or payload.get("userErrors") != []:
                        self.unexpected.append(f"{response.status_code} {response.text}")
                        return
                    session = payload["verificationSession"]
                    self.acknowledged[session["id"]] = session

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def stream_and_kill(gateway: Gateway, key: str, cycle: int) -> Stream:
    """Stream creates into `gateway` and SIGKILL it once ACKNOWLEDGED_BEFORE_KILL were answered,
    while the threads are still sending."""
    stream = Stream(base_url=gateway.base_url, key=key, cycle=cycle)
    threads = [
        threading.Thread(target=stream.send, args=(number,), daemon=True)
        for number in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while stream.count() < ACKNOWLEDGED_BEFORE_KILL:
        assert time.monotonic() < deadline, f"only {stream.count()} creates acknowledged"
        assert all(thread.is_alive() for thread in threads), stream.unexpected
        time.sleep(0.01)
    assert all(thread.is_alive() for thread in threads), "the stream ended before the kill"
    gateway.kill()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)
        assert not thread.is_alive(), "a client thread still waits on a killed server"
    assert stream.unexpected == []
    return stream


# --- the database -----------------------------------------------------------------------------


def session_ids(database: Database) -> set[str]:
    return {row[0] for row in database.execute("SELECT id FROM verification_sessions")}


def inconsistencies(database: Database) -> dict[str, list[str]]:
    found = {name: database.execute(sql) for name, sql in CONSISTENCY.items()}
    return {name: [row[0] for row in rows] for name, rows in found.items() if rows}


def sqlite_file_checks(database_url: str) -> dict[str, Any]:
    """What SQLite itself says about the file, read with a plain connection that sets nothing."""
    path = make_url(database_url).database
    assert path is not None
    with closing(sqlite3.connect(path)) as connection:
        return {
            "integrity_check": connection.execute("PRAGMA integrity_check").fetchall(),
            "journal_mode": connection.execute("PRAGMA journal_mode").fetchone()[0],
            "foreign_key_check": connection.execute("PRAGMA foreign_key_check").fetchall(),
        }


def fetch(gateway: Gateway, key: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The sessions with these ids as the gateway serves them now (None for a missing one)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        batch = ids[start : start + 100]
        nodes = gateway.gql(key, NODES, {"ids": batch})["nodes"]
        found.update(zip(batch, nodes, strict=True))
    return found


# --- tests ------------------------------------------------------------------------------------


def test_acknowledged_creates_survive_sigkill_and_the_database_stays_consistent(
    database_url: str, workdir: Path, launch: Callable[[str, str], Gateway]
) -> None:
    # given
    database = Database(database_url)
    key = create_key(workdir, database_url, "test")
    acknowledged: dict[str, dict[str, Any]] = {}
    gateway = launch("serve-0", database_url)
    for cycle in range(CYCLES):
        # when: creates stream in and the server is killed in the middle of them
        stream = stream_and_kill(gateway, key, cycle)
        before = set(acknowledged)
        acknowledged.update(stream.acknowledged)

        # then, before anything touches the database again: it is consistent as the crash left it
        if database_url.startswith("sqlite"):
            assert sqlite_file_checks(database_url) == {
                "integrity_check": [("ok",)],
                "journal_mode": "wal",
                "foreign_key_check": [],
            }
        assert inconsistencies(database) == {}
        stored = session_ids(database)
        assert set(acknowledged) - stored == set(), "acknowledged sessions were lost"
        # only the creates in flight at the kill can have been stored without an answer
        unanswered = stored - before - set(stream.acknowledged)
        assert len(unanswered) <= THREADS, unanswered

        # when: a new process opens the same database
        gateway = launch(f"serve-{cycle + 1}", database_url)
        # then: every acknowledged session is served exactly as it was acknowledged
        served = fetch(gateway, key, sorted(acknowledged))
        changed = {sid: served[sid] for sid in acknowledged if served[sid] != acknowledged[sid]}
        assert changed == {}, f"{len(changed)} acknowledged sessions differ, e.g. {changed}"
        # and a session stored without an answer is whole too
        for sid, session in fetch(gateway, key, sorted(unanswered)).items():
            assert session is not None and session["status"] == "REQUIRES_INPUT", sid

    # and the server that opened the crashed database takes writes as before
    after = gateway.mutate(key, CREATE, {"type": "DOCUMENT"})
    assert after["status"] == "REQUIRES_INPUT"
    assert inconsistencies(database) == {}
    assert "Traceback" not in gateway.log
    print(f"{len(acknowledged)} acknowledged creates over {CYCLES} kills, none lost")


def test_every_commit_is_synced_before_it_is_acknowledged(database_url: str) -> None:
    """SQLite: the gateway's connections run in WAL mode with synchronous=FULL (2), which syncs
    the WAL at every commit. Postgres: they commit with synchronous_commit on (the server's
    setting; the gateway must not turn it off), which flushes the commit's WAL record first."""

    async def read_setting() -> str:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                if engine.dialect.name == "sqlite":
                    mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
                    sync = (await connection.execute(text("PRAGMA synchronous"))).scalar_one()
                    return f"journal_mode={mode} synchronous={sync}"
                setting = (await connection.execute(text("SHOW synchronous_commit"))).scalar_one()
                return f"synchronous_commit={setting}"
        finally:
            await engine.dispose()

    setting = asyncio.run(read_setting())
    if database_url.startswith("sqlite"):
        assert setting == "journal_mode=wal synchronous=2"
    else:
        assert setting == "synchronous_commit=on"
