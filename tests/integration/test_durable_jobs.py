"""Durable background jobs, proven with real `python -m app serve` processes and real HTTP.

Pending processing and redaction live in the `jobs` table: a server killed with SIGKILL before
(or in the middle of) a job leaves the job behind, the next process over the same database
finishes it (once the dead process's lease on it ends), and every session ends with exactly one
report per attempt and exactly one event per change. A graceful stop (SIGTERM) does not wait
forever for a job that hangs: it cancels it and hands it back to the next process at once. A
live verifier is called outside any transaction, so SQLite's write lock is free meanwhile. Two processes over one Postgres share the queue (`FOR UPDATE SKIP LOCKED`) and still run
each job exactly once. A job whose processing raises is retried later instead of being lost or
spun in a tight loop.

The verifiers at the top are loaded by the servers under test through
`VERIFIER=tests.integration.test_durable_jobs:<name>`; each appends `<pid> <session id>` to the
file named by `$DURABLE_JOBS_CALLS` whenever it is asked to decide, so a test can count how often
(and in which process) a job actually ran.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import event, update
from sqlalchemy.dialects import postgresql
from sqlmodel import select

from app.db import create_engine, read_session, write_session
from app.domain.verification import TEST_PERSON
from app.models import Job, utcnow
from app.store import jobs
from app.verifiers import Decision, Submission
from tests.conftest import (
    BACKENDS,
    Database,
    free_port,
    fresh_database_url,
    fresh_postgres_database,
)
from tests.helpers import post_graphql

# Long enough that no retry can come due while the test looks, however slow the machine is.
RETRY_AFTER = timedelta(hours=1)
REPO_ROOT = Path(__file__).resolve().parents[2]
CALLS_FILE = "DURABLE_JOBS_CALLS"
MODULE = "tests.integration.test_durable_jobs"
EVENT = "identity.verification_session."
REDACTED = "[redacted]"
# Settings the gateway reads from its environment; the test process's own values never leak in.
GATEWAY_SETTINGS = (
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "LOG_LEVEL",
    "VERIFIER",
    "PROCESSING_DELAY_SECONDS",
    "REDACTION_DELAY_SECONDS",
    "WORKER_POLL_SECONDS",
    "CORS_ORIGINS",
)

T = TypeVar("T")


# --- verifiers the servers load -----------------------------------------------------------------


def _record_call(submission: Submission) -> int:
    """Append this call to $DURABLE_JOBS_CALLS; how many earlier calls the session had."""
    path = Path(os.environ[CALLS_FILE])
    earlier = calls_by_session(path)[submission.session_id]
    with path.open("a", encoding="utf-8") as calls:
        calls.write(f"{os.getpid()} {submission.session_id}\n")
    return earlier


def _approved() -> Decision:
    return Decision(
        outcome="verified",
        last_error_code=None,
        person={
            **TEST_PERSON,
            "dob": dict(TEST_PERSON["dob"]),
            "address": dict(TEST_PERSON["address"]),
        },
    )


class RecordingVerifier:
    """Approves, except a submission whose first name is "Decline", which it sends back for input
    with no personal data, exactly as the provider example in `app.verifiers` does."""

    async def decide(self, submission: Submission) -> Decision:
        _record_call(submission)
        if submission.data.get("person", {}).get("first_name") == "Decline":
            return Decision(
                outcome="requires_input", last_error_code="document_unverified_other", person={}
            )
        return _approved()


class FailingOnceVerifier:
    """Raises on a session's first attempt (a provider outage), approves the next."""

    async def decide(self, submission: Submission) -> Decision:
        if _record_call(submission) == 0:
            raise RuntimeError("verification provider unavailable (test outage)")
        return _approved()


class HangingVerifier:
    """Never answers, so its process can be killed in the middle of a job."""

    async def decide(self, submission: Submission) -> Decision:
        _record_call(submission)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class WaitingVerifier:
    """Approves once the file `$DURABLE_JOBS_CALLS.go` exists (giving up after 20 s), and
    touches `$DURABLE_JOBS_CALLS.done` when it stops deciding, so a test can act while a
    verification is under way and know it still was."""

    async def decide(self, submission: Submission) -> Decision:
        _record_call(submission)
        go = Path(os.environ[CALLS_FILE] + ".go")
        try:
            for _ in range(400):
                if go.exists():
                    return _approved()
                await asyncio.sleep(0.05)
            raise RuntimeError("the test never let the verification finish")
        finally:
            Path(os.environ[CALLS_FILE] + ".done").touch()


def calls_by_session(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(line.split()[1] for line in path.read_text(encoding="utf-8").splitlines())


def calls_by_process(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(line.split()[0] for line in path.read_text(encoding="utf-8").splitlines())


# --- processes ----------------------------------------------------------------------------------


def gateway_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in GATEWAY_SETTINGS}
    path = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["DATABASE_URL"] = database_url
    env["WORKER_POLL_SECONDS"] = "0.05"
    env["LOG_LEVEL"] = "INFO"
    env.update(settings)
    return env


def create_key(workdir: Path, database_url: str, mode: str) -> str:
    """`python -m app keys create --mode <mode>`; the key is the last stdout line."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "keys", "create", "--mode", mode],
        cwd=workdir,
        env=gateway_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


@dataclass
class Gateway:
    """One `python -m app serve` process; its output goes to files in the working directory."""

    name: str
    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    args: tuple[str, ...] = ()  # more `serve` arguments, e.g. ("--workers", "2")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self) -> Gateway:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(self.port), *self.args],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, f"{self.name} exited early:\n{self.log}"
            assert time.monotonic() < deadline, f"{self.name} did not start:\n{self.log}"
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, the way a crash or an OOM kill ends a process."""
        assert self.process is not None and self.process.poll() is None, self.log
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def terminate(self) -> int:
        """SIGTERM, as a service manager stops a process; its exit status."""
        assert self.process is not None and self.process.poll() is None, self.log
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def assert_alive(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log

    def gql(self, key: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return post_graphql(self.base_url, key, query, variables)

    def mutate(self, key: str, query: str, input: dict[str, Any]) -> dict[str, Any]:
        data = self.gql(key, query, {"input": input})
        (payload,) = data.values()
        assert payload["userErrors"] == [], payload
        return payload["verificationSession"]  # type: ignore[no-any-return]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def launch(workdir: Path) -> Iterator[Callable[..., Gateway]]:
    """Start gateways; every one still running is stopped when the test ends, pass or fail."""
    started: list[Gateway] = []

    def start(name: str, database_url: str, **settings: str) -> Gateway:
        gateway = Gateway(name=name, workdir=workdir, env=gateway_env(database_url, **settings))
        started.append(gateway)
        return gateway.start()

    try:
        yield start
    finally:
        for gateway in started:
            gateway.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a Postgres database dropped afterwards."""
    with fresh_database_url(request.param, tmp_path / "gateway.sqlite3") as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: no Postgres server to share")
    with fresh_postgres_database(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


@pytest.fixture
def calls_file(workdir: Path) -> Path:
    return workdir / "verifier-calls.txt"


# --- GraphQL ------------------------------------------------------------------------------------

SESSION_FIELDS = """
  id status livemode clientSecret url metadata
  lastError { code }
  redaction { status }
  providedDetails { email }
  verifiedOutputs { firstName lastName idNumber dob { year } address { line1 } }
  lastVerificationReport {
    id
    verificationSession { id }
    document { status error { code } firstName lastName number dob { year } }
  }
"""

CREATE = (
    "mutation($input: CreateVerificationSessionInput!) { createVerificationSession(input: $input)"
    " { verificationSession { id status } userErrors { field code message } } }"
)
SUBMIT = (
    "mutation($input: SubmitVerificationSessionInput!) { submitVerificationSession(input: $input)"
    " { verificationSession { id status } userErrors { field code message } } }"
)
SIMULATE = (
    "mutation($input: SimulateVerificationSessionInput!) {"
    " simulateVerificationSession(input: $input)"
    " { verificationSession { id status } userErrors { field code message } } }"
)
REDACT = (
    "mutation($input: RedactVerificationSessionInput!) { redactVerificationSession(input: $input)"
    " { verificationSession { id status redaction { status } } userErrors { field code message } } }"
)
SESSIONS = f"{{ verificationSessions(first: 100) {{ totalCount nodes {{ {SESSION_FIELDS} }} }} }}"
EVENTS = (
    "query($id: ID!) { events(first: 20, filter: { verificationSession: $id }) { nodes { type } } }"
)


def sessions_by_id(gateway: Gateway, *keys: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for key in keys:
        page = gateway.gql(key, SESSIONS)["verificationSessions"]
        assert page["totalCount"] == len(page["nodes"]), "more sessions than one page"
        found.update({node["id"]: node for node in page["nodes"]})
    return found


def event_types(gateway: Gateway, key: str, session_id: str) -> list[str]:
    """The session's events, oldest first, without the common prefix."""
    nodes = gateway.gql(key, EVENTS, {"id": session_id})["events"]["nodes"]
    return [node["type"].removeprefix(EVENT) for node in reversed(nodes)]


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float = 30) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def wait_for_sessions(
    what: str,
    gateway: Gateway,
    keys: list[str],
    done: Callable[[dict[str, dict[str, Any]]], bool],
) -> dict[str, dict[str, Any]]:
    """Poll the sessions visible to `keys` until `done` holds for them; return them."""

    def probe() -> dict[str, dict[str, Any]] | None:
        found = sessions_by_id(gateway, *keys)
        return found if done(found) else None

    return wait_for(what, probe)


# --- the database, read directly ----------------------------------------------------------------


def job_rows(database: Database) -> list[tuple[str, str]]:
    """(session id, kind) of every pending job."""
    return sorted((row[0], row[1]) for row in database.execute("SELECT session_id, kind FROM jobs"))


def report_counts(database: Database) -> Counter[str]:
    rows = database.execute(
        "SELECT session_id, COUNT(*) FROM verification_reports GROUP BY session_id"
    )
    return Counter({row[0]: int(row[1]) for row in rows})


def event_counts(database: Database) -> dict[str, Counter[str]]:
    """Per session: how many events of each type (without the common prefix)."""
    rows = database.execute(
        "SELECT session_id, type, COUNT(*) FROM events GROUP BY session_id, type"
    )
    counts: dict[str, Counter[str]] = {}
    for session_id, type_, count in rows:
        counts.setdefault(session_id, Counter())[type_.removeprefix(EVENT)] = int(count)
    return counts


def job_run_at(database_url: str) -> dict[str, datetime]:
    """When each session's pending job is due."""

    async def go() -> dict[str, datetime]:
        engine = create_engine(database_url)
        try:
            async with read_session(engine) as db:
                rows = (await db.exec(select(Job.session_id, Job.run_at))).all()
                return {session_id: run_at for session_id, run_at in rows}
        finally:
            await engine.dispose()

    return asyncio.run(go())


def make_jobs_due(database_url: str) -> None:
    """What the passing of time does to pending jobs: all of them are due now."""

    async def go() -> None:
        engine = create_engine(database_url)
        try:
            async with write_session(engine) as db:
                await db.exec(update(Job).values(run_at=utcnow()))
        finally:
            await engine.dispose()

    asyncio.run(go())


def stored_text(database: Database) -> str:
    """Every stored session, report and event, as one string to search for personal data."""
    rows = []
    for table in ("verification_sessions", "verification_reports", "events"):
        rows.extend(database.execute(f"SELECT * FROM {table}"))
    return json.dumps([[str(value) for value in row] for row in rows])


# --- 1. a restart in the middle of processing ---------------------------------------------------

OUTCOMES: list[dict[str, Any]] = [
    {"outcome": "VERIFIED", "verifiedOutputs": {"firstName": "Ada"}},
    {"outcome": "REQUIRES_INPUT", "lastErrorCode": "DOCUMENT_EXPIRED"},
    {"outcome": "VERIFIED", "verifiedOutputs": {"firstName": "Grace", "lastName": "Hopper"}},
    {"outcome": "REQUIRES_INPUT", "lastErrorCode": "CONSENT_DECLINED"},
    {"outcome": "VERIFIED"},
    {"outcome": "REQUIRES_INPUT", "lastErrorCode": "SELFIE_FACE_MISMATCH"},
]


def test_processing_survives_a_kill_and_finishes_exactly_once_after_restart(
    database_url: str, workdir: Path, launch: Callable[..., Gateway]
) -> None:
    # given: six submitted sessions, still PROCESSING, in a server that is then killed
    database = Database(database_url)
    key = create_key(workdir, database_url, "test")
    first = launch("first", database_url, PROCESSING_DELAY_SECONDS="3")
    submitted: dict[str, dict[str, Any]] = {}
    for choice in OUTCOMES:
        session = first.mutate(key, CREATE, {"type": "DOCUMENT"})
        after = first.mutate(key, SUBMIT, {"id": session["id"], **choice})
        assert after["status"] == "PROCESSING"
        submitted[session["id"]] = choice
    seen = sessions_by_id(first, key)
    assert {sid: seen[sid]["status"] for sid in submitted} == dict.fromkeys(submitted, "PROCESSING")
    # when
    first.kill()
    # then: the pending work outlived the process, and none of it was done
    assert job_rows(database) == sorted((sid, "process") for sid in submitted)
    assert report_counts(database) == Counter()
    assert {sid: dict(types) for sid, types in event_counts(database).items()} == {
        sid: {"created": 1, "processing": 1} for sid in submitted
    }

    # when: a new process opens the same database
    second = launch("second", database_url, PROCESSING_DELAY_SECONDS="3")
    final = wait_for_sessions(
        "every session to finish processing",
        second,
        [key],
        lambda found: all(found[sid]["status"] != "PROCESSING" for sid in submitted),
    )
    # then: each finished once, as its submission asked
    for sid, choice in submitted.items():
        session = final[sid]
        report = session["lastVerificationReport"]
        assert report is not None and report["verificationSession"] == {"id": sid}
        if choice["outcome"] == "VERIFIED":
            assert session["status"] == "VERIFIED", session
            expected = choice.get("verifiedOutputs", {}).get("firstName", TEST_PERSON["first_name"])
            assert session["verifiedOutputs"]["firstName"] == expected
            assert report["document"]["status"] == "VERIFIED"
            assert (session["clientSecret"], session["url"]) == (None, None)
            assert event_types(second, key, sid) == ["created", "processing", "verified"]
        else:
            assert session["status"] == "REQUIRES_INPUT", session
            assert session["lastError"] == {"code": choice["lastErrorCode"]}
            assert session["clientSecret"] and session["url"], "fresh credentials after a failure"
            assert event_types(second, key, sid) == ["created", "processing", "requires_input"]
    assert report_counts(database) == Counter(dict.fromkeys(submitted, 1))
    for sid, types in event_counts(database).items():
        final_type = "verified" if submitted[sid]["outcome"] == "VERIFIED" else "requires_input"
        assert dict(types) == {"created": 1, "processing": 1, final_type: 1}, sid
    assert job_rows(database) == []
    assert "Traceback" not in second.log


# --- 2. a restart in the middle of redaction ----------------------------------------------------


def test_redaction_survives_a_kill_and_finishes_exactly_once_after_restart(
    database_url: str, workdir: Path, launch: Callable[..., Gateway]
) -> None:
    # given: verified sessions (and one awaiting input) full of personal data, being redacted
    database = Database(database_url)
    key = create_key(workdir, database_url, "test")
    first = launch("first", database_url, REDACTION_DELAY_SECONDS="3")
    markers: list[str] = []
    verified: list[str] = []
    for index in range(4):
        marker = f"Zyxwvut{index}Qq"
        session = first.mutate(
            key,
            CREATE,
            {
                "type": "DOCUMENT",
                "metadata": {"customer": f"{marker}Meta"},
                "providedDetails": {"email": f"{marker.lower()}@example.com"},
            },
        )
        first.mutate(
            key,
            SIMULATE,
            {
                "id": session["id"],
                "outcome": "VERIFIED",
                "verifiedOutputs": {"firstName": marker, "lastName": f"{marker}Last"},
            },
        )
        verified.append(session["id"])
        markers += [marker, f"{marker}Meta", marker.lower()]
    waiting = first.mutate(
        key, CREATE, {"type": "DOCUMENT", "metadata": {"customer": "WaitingMarkerQq"}}
    )["id"]
    markers.append("WaitingMarkerQq")
    redacting = [*verified, waiting]
    before = stored_text(database)
    assert all(marker in before for marker in markers)
    for sid in redacting:
        after = first.mutate(key, REDACT, {"id": sid})
        assert after["redaction"] == {"status": "PROCESSING"}
    seen = sessions_by_id(first, key)
    assert {sid: seen[sid]["redaction"] for sid in redacting} == {
        sid: {"status": "PROCESSING"} for sid in redacting
    }
    assert seen[waiting]["status"] == "CANCELED"
    # when
    first.kill()
    # then: the redactions are still pending, and nothing was erased yet
    assert job_rows(database) == sorted((sid, "redact") for sid in redacting)
    assert all(marker in stored_text(database) for marker in markers)
    assert not any("redacted" in types for types in event_counts(database).values())

    # when
    second = launch("second", database_url, REDACTION_DELAY_SECONDS="3")
    final = wait_for_sessions(
        "every redaction to finish",
        second,
        [key],
        lambda found: all(found[sid]["redaction"] == {"status": "REDACTED"} for sid in redacting),
    )
    # then: each session is redacted once and its personal data is gone everywhere
    for sid in verified:
        session = final[sid]
        assert session["status"] == "VERIFIED"
        assert session["metadata"] == {}
        assert session["providedDetails"] == {"email": REDACTED}
        outputs = session["verifiedOutputs"]
        assert (outputs["firstName"], outputs["lastName"], outputs["dob"]) == (
            REDACTED,
            REDACTED,
            None,
        )
        document = session["lastVerificationReport"]["document"]
        assert (document["firstName"], document["lastName"], document["dob"]) == (
            REDACTED,
            REDACTED,
            None,
        )
        assert document["status"] == "VERIFIED"
        assert event_types(second, key, sid) == ["created", "processing", "verified", "redacted"]
    assert final[waiting]["status"] == "CANCELED"
    assert final[waiting]["metadata"] == {}
    assert event_types(second, key, waiting) == ["created", "canceled", "redacted"]
    counts = event_counts(database)
    assert {sid: counts[sid]["redacted"] for sid in redacting} == dict.fromkeys(redacting, 1)
    assert report_counts(database) == Counter(dict.fromkeys(verified, 1))
    text = stored_text(database)
    assert [marker for marker in markers if marker in text] == []
    assert job_rows(database) == []
    assert "Traceback" not in second.log


# --- 3. a process killed while it is running a job ----------------------------------------------


def test_a_process_killed_inside_a_job_leaves_it_to_the_next_process(
    database_url: str, workdir: Path, launch: Callable[..., Gateway], calls_file: Path
) -> None:
    # given: a live session whose verification is under way when the process dies; its lease
    # on the job lasts 2 s
    database = Database(database_url)
    live = create_key(workdir, database_url, "live")
    settings = {
        "PROCESSING_DELAY_SECONDS": "0",
        "JOB_LEASE_SECONDS": "2",
        CALLS_FILE: str(calls_file),
    }
    first = launch("first", database_url, VERIFIER=f"{MODULE}:HangingVerifier", **settings)
    sid = first.mutate(live, CREATE, {"type": "DOCUMENT"})["id"]
    assert first.mutate(live, SUBMIT, {"id": sid})["status"] == "PROCESSING"
    wait_for("the verifier to be asked", lambda: calls_by_session(calls_file)[sid] == 1)
    # when
    first.kill()
    # then: the job is still there, leased to the dead process
    assert job_rows(database) == [(sid, "process")]
    assert report_counts(database) == Counter()

    # when: the next process (here with a verifier that answers) picks it up when the lease ends
    second = launch("second", database_url, VERIFIER=f"{MODULE}:RecordingVerifier", **settings)
    wait_for(
        "the session to be verified",
        lambda: sessions_by_id(second, live)[sid]["status"] == "VERIFIED",
    )
    # then
    assert calls_by_session(calls_file)[sid] == 2  # the interrupted run and the one that finished
    assert report_counts(database) == Counter({sid: 1})
    assert dict(event_counts(database)[sid]) == {"created": 1, "processing": 1, "verified": 1}
    assert job_rows(database) == []


def test_a_graceful_stop_cancels_a_hanging_job_and_leaves_it_to_the_next_process(
    tmp_path: Path, workdir: Path, launch: Callable[..., Gateway], calls_file: Path
) -> None:
    # given: a process whose verifier never answers (SQLite only: this is about the process),
    # holding its job on a lease of an hour
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    database = Database(database_url)
    live = create_key(workdir, database_url, "live")
    settings = {
        "PROCESSING_DELAY_SECONDS": "0",
        "JOB_LEASE_SECONDS": "3600",
        "SHUTDOWN_GRACE_SECONDS": "1",
        CALLS_FILE: str(calls_file),
    }
    first = launch("first", database_url, VERIFIER=f"{MODULE}:HangingVerifier", **settings)
    sid = first.mutate(live, CREATE, {"type": "DOCUMENT"})["id"]
    assert first.mutate(live, SUBMIT, {"id": sid})["status"] == "PROCESSING"
    wait_for("the verifier to be asked", lambda: calls_by_session(calls_file)[sid] == 1)
    # when
    status = first.terminate()
    # then: shutdown did not wait forever; the job was canceled and handed back, due at once
    # (its lease, 1 h here, is not waited for), not lost
    assert status == 0, first.log
    assert "it was canceled and will run again" in first.log
    assert "Application shutdown complete." in first.log
    assert job_rows(database) == [(sid, "process")]
    assert report_counts(database) == Counter()

    # when: the next process finds it due at once, not an hour later
    second = launch("second", database_url, VERIFIER=f"{MODULE}:RecordingVerifier", **settings)
    wait_for(
        "the session to be verified",
        lambda: sessions_by_id(second, live)[sid]["status"] == "VERIFIED",
    )
    # then
    assert calls_by_session(calls_file)[sid] == 2
    assert report_counts(database) == Counter({sid: 1})
    assert dict(event_counts(database)[sid]) == {"created": 1, "processing": 1, "verified": 1}
    assert job_rows(database) == []


def test_a_verification_under_way_holds_no_write_lock(
    database_url: str, workdir: Path, launch: Callable[..., Gateway], calls_file: Path
) -> None:
    # given: a live session whose verifier waits for the test's go-ahead
    database = Database(database_url)
    live = create_key(workdir, database_url, "live")
    settings = {"PROCESSING_DELAY_SECONDS": "0", CALLS_FILE: str(calls_file)}
    gateway = launch("gateway", database_url, VERIFIER=f"{MODULE}:WaitingVerifier", **settings)
    sid = gateway.mutate(live, CREATE, {"type": "DOCUMENT"})["id"]
    assert gateway.mutate(live, SUBMIT, {"id": sid})["status"] == "PROCESSING"
    wait_for("the verifier to be asked", lambda: calls_by_session(calls_file)[sid] == 1)
    # when: other writes happen while the verifier is still deciding (on SQLite they would
    # wait for its write lock, 30 s, if the call ran inside the job's transaction)
    others = [gateway.mutate(live, CREATE, {"type": "DOCUMENT"})["id"] for _ in range(3)]
    done_before_the_go_ahead = Path(str(calls_file) + ".done").exists()
    Path(str(calls_file) + ".go").touch()
    # then: the writes were answered while the verifier was still deciding
    assert not done_before_the_go_ahead and len(set(others)) == 3
    wait_for(
        "the session to be verified",
        lambda: sessions_by_id(gateway, live)[sid]["status"] == "VERIFIED",
    )
    assert report_counts(database) == Counter({sid: 1})
    assert job_rows(database) == []


# --- 4. two processes sharing one Postgres ------------------------------------------------------


def test_two_processes_over_one_postgres_run_each_job_exactly_once(
    postgres_url: str,
    workdir: Path,
    launch: Callable[..., Gateway],
    calls_file: Path,
    record_property: Callable[[str, object], None],
) -> None:
    # given: two servers over the same database, each with a worker
    database = Database(postgres_url)
    key = create_key(workdir, postgres_url, "test")
    live = create_key(workdir, postgres_url, "live")
    settings = {
        "PROCESSING_DELAY_SECONDS": "1",
        "VERIFIER": f"{MODULE}:RecordingVerifier",
        CALLS_FILE: str(calls_file),
    }
    servers = [launch("a", postgres_url, **settings), launch("b", postgres_url, **settings)]

    # 24 test-mode sessions (every third one fails) and 16 live ones (every fourth declined by
    # the verifier), created and submitted through alternating servers
    def submit(index: int) -> tuple[str, str]:
        server = servers[index % 2]
        if index < 24:
            sid = server.mutate(key, CREATE, {"type": "DOCUMENT"})["id"]
            choice: dict[str, Any] = (
                {"outcome": "REQUIRES_INPUT", "lastErrorCode": "DOCUMENT_UNVERIFIED_OTHER"}
                if index % 3 == 0
                else {"outcome": "VERIFIED"}
            )
            expected = "REQUIRES_INPUT" if index % 3 == 0 else "VERIFIED"
        else:
            sid = server.mutate(live, CREATE, {"type": "DOCUMENT"})["id"]
            declined = index % 4 == 0
            choice = {"verifiedOutputs": {"firstName": "Decline" if declined else "Live"}}
            expected = "REQUIRES_INPUT" if declined else "VERIFIED"
        assert (
            server.mutate(key if index < 24 else live, SUBMIT, {"id": sid, **choice})["status"]
            == "PROCESSING"
        )
        return sid, expected

    with ThreadPoolExecutor(max_workers=8) as pool:
        expected = dict(pool.map(submit, range(40)))
    live_ids = {sid for index, sid in enumerate(expected) if index >= 24}
    assert len(expected) == 40

    # when
    final = wait_for_sessions(
        "all 40 sessions to finish",
        servers[0],
        [key, live],
        lambda found: all(session["status"] != "PROCESSING" for session in found.values()),
    )
    # then: each session reached the outcome asked for, through one run of its job
    assert {sid: final[sid]["status"] for sid in expected} == expected
    for sid in live_ids:
        if expected[sid] == "REQUIRES_INPUT":
            # declined with no personal data at all, as the provider example in app.verifiers does
            assert final[sid]["lastError"] == {"code": "DOCUMENT_UNVERIFIED_OTHER"}
            document = final[sid]["lastVerificationReport"]["document"]
            assert document["status"] == "UNVERIFIED"
            assert (document["firstName"], document["dob"]) == (None, None)
    assert report_counts(database) == Counter(dict.fromkeys(expected, 1))
    for sid, types in event_counts(database).items():
        final_type = "verified" if expected[sid] == "VERIFIED" else "requires_input"
        assert dict(types) == {"created": 1, "processing": 1, final_type: 1}, sid
    assert job_rows(database) == []
    assert calls_by_session(calls_file) == Counter(dict.fromkeys(live_ids, 1))
    for server in servers:
        server.assert_alive()
        assert "Traceback" not in server.log
    # Which process ran the live jobs; informative only, the split is up to the scheduler.
    pids = {str(server.process.pid): server.name for server in servers if server.process}
    split = {pids.get(pid, pid): count for pid, count in calls_by_process(calls_file).items()}
    record_property("live_jobs_per_process", split)
    print(f"live jobs run per process: {split}")

    # and: the claim the workers use skips rows another transaction holds
    for server in servers:
        server.stop()
    assert_claim_skips_locked_rows(postgres_url, session_ids=sorted(expected)[:2])


def assert_claim_skips_locked_rows(database_url: str, *, session_ids: list[str]) -> None:
    """`jobs.claim_due` on Postgres is `FOR UPDATE SKIP LOCKED`: a second claimer gets the next
    job instead of waiting for (or taking) the one already claimed, and a third gets none."""
    Database(database_url).execute(
        "INSERT INTO jobs (kind, session_id, run_at, payload) "
        "VALUES ('process', :a, now() - interval '1 minute', '{}'),"
        " ('process', :b, now() - interval '1 minute', '{}')",
        {"a": session_ids[0], "b": session_ids[1]},
    )

    async def go() -> tuple[list[str], list[int | None]]:
        engine = create_engine(database_url)
        statements: list[str] = []

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def capture(*args: Any) -> None:
            statements.append(args[2])

        claimed: list[int | None] = []
        try:
            async with (
                write_session(engine) as one,
                write_session(engine) as two,
                write_session(engine) as three,
            ):
                for db in (one, two, three):
                    job = await asyncio.wait_for(jobs.claim_due(db, now=utcnow()), timeout=10)
                    claimed.append(None if job is None else job.id)
                for db in (one, two, three):
                    await db.rollback()
        finally:
            await engine.dispose()
        return statements, claimed

    statements, claimed = asyncio.run(go())
    assert claimed[0] is not None and claimed[1] is not None and claimed[0] != claimed[1]
    assert claimed[2] is None
    claims = [sql for sql in statements if "FROM jobs" in sql]
    assert claims and all("FOR UPDATE SKIP LOCKED" in sql for sql in claims), claims
    Database(database_url).execute("DELETE FROM jobs")


def test_the_claim_statement_uses_skip_locked_on_postgres() -> None:
    # given: a stand-in session that only records the statement it is asked to run
    class Recorder:
        statement: Any = None

        async def exec(self, statement: Any) -> Any:
            self.statement = statement

            class Empty:
                def first(self) -> None:
                    return None

            return Empty()

    recorder = Recorder()
    # when
    assert asyncio.run(jobs.claim_due(recorder, now=utcnow())) is None  # type: ignore[arg-type]
    # then
    sql = str(recorder.statement.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert sql.rstrip().endswith("FOR UPDATE SKIP LOCKED"), sql


# --- 5. a job whose processing raises -----------------------------------------------------------


def test_a_failing_job_is_retried_later_not_lost_and_not_spun(
    database_url: str, workdir: Path, launch: Callable[..., Gateway], calls_file: Path
) -> None:
    # given: live sessions whose verifier fails on each first attempt, with two processes
    # competing for their jobs (so a failed job must stay claimed until it is rescheduled)
    database = Database(database_url)
    live = create_key(workdir, database_url, "live")
    settings = {
        "VERIFIER": f"{MODULE}:FailingOnceVerifier",
        "PROCESSING_DELAY_SECONDS": "2",
        "JOB_RETRY_SECONDS": str(int(RETRY_AFTER.total_seconds())),
        CALLS_FILE: str(calls_file),
    }
    servers = [launch("a", database_url, **settings), launch("b", database_url, **settings)]
    submitted = []
    first_run_at: dict[str, datetime] = {}
    for index in range(6):
        server = servers[index % 2]
        sid = server.mutate(live, CREATE, {"type": "DOCUMENT"})["id"]
        assert server.mutate(live, SUBMIT, {"id": sid})["status"] == "PROCESSING"
        submitted.append(sid)
        # Read at once, before the job comes due: on a slow machine the first jobs may already
        # have failed and been rescheduled by the time the last one is submitted.
        first_run_at[sid] = job_run_at(database_url)[sid]

    # when: the jobs come due and their processing raises
    def settled() -> list[dict[str, datetime]] | None:
        """Once every job has either been rescheduled or (wrongly) finished: the pending ones."""
        found = job_run_at(database_url)
        moved = all(sid not in found or found[sid] > first_run_at[sid] for sid in submitted)
        return [found] if moved else None

    (retry_at,) = wait_for("the failed jobs to be rescheduled", settled)
    time.sleep(1)  # twenty poll intervals: a tight loop would have called the verifier again
    # then: each job ran once, by one of the processes, and is kept for later
    assert calls_by_session(calls_file) == Counter(dict.fromkeys(submitted, 1))
    assert sum(server.log.count("it will be retried") for server in servers) == len(submitted)
    assert sorted(retry_at) == sorted(submitted)
    for sid in submitted:
        assert retry_at[sid] >= first_run_at[sid] + RETRY_AFTER
    assert job_run_at(database_url) == retry_at
    # and both servers keep serving, reads and writes alike
    for server in servers:
        found = sessions_by_id(server, live)
        assert {sid: found[sid]["status"] for sid in submitted} == dict.fromkeys(
            submitted, "PROCESSING"
        )
        other = server.mutate(live, CREATE, {"type": "DOCUMENT"})
        assert other["status"] == "REQUIRES_INPUT"
    assert report_counts(database) == Counter()

    # when: the retry time comes
    make_jobs_due(database_url)
    # then: the second attempt finishes each session, once
    wait_for_sessions(
        "the retried jobs to verify the sessions",
        servers[0],
        [live],
        lambda found: all(found[sid]["status"] == "VERIFIED" for sid in submitted),
    )
    assert calls_by_session(calls_file) == Counter(dict.fromkeys(submitted, 2))
    assert report_counts(database) == Counter(dict.fromkeys(submitted, 1))
    for sid in submitted:
        assert dict(event_counts(database)[sid]) == {"created": 1, "processing": 1, "verified": 1}
    assert job_rows(database) == []
    for server in servers:
        server.assert_alive()
