"""SIGTERM stops a gateway gracefully, on SQLite and Postgres, with real processes:

- under load (`--workers 2`, 8 client threads sending keyed creates whose bodies arrive in two
  parts): the requests in flight at the signal all complete with 200, new connections are
  refused, every acknowledged create is in the database, and the supervisor exits 0;
- a webhook attempt and a job still running past SHUTDOWN_GRACE_SECONDS are handed back due at
  once (the rows say so, and the next process sends and runs them without waiting out a lease);
- an open subscription is closed with 1001 (going away);

and the process exits 0 (not 143: uvicorn's capture_signals re-raised SIGTERM after a graceful
stop, see app.cli).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pytest
from sqlmodel import select

from app.db import create_engine, read_session
from app.models import VerificationSession, WebhookDelivery, utcnow
from tests import ws_client
from tests.integration.test_durable_jobs import (
    CALLS_FILE,
    CREATE,
    MODULE,
    SUBMIT,
    Gateway,
    calls_by_session,
    create_key,
    job_run_at,
    sessions_by_id,
    wait_for,
)
from tests.integration.test_webhook_delivery import stripe_client
from tests.integration.test_workers import (
    database_url,  # noqa: F401  (a fixture)
    launch,  # noqa: F401  (a fixture)
    supervisor_pid,
    workdir,  # noqa: F401  (a fixture)
)
from tests.receiver import receiving

THREADS = 8
ACKNOWLEDGED_BEFORE_SIGTERM = 40
WAIT_SECONDS = 60.0


@dataclass
class Load:
    """THREADS clients sending keyed creates, each body in two parts. Once `stopping` is set,
    each thread sends one last request and holds its second part until `gate` opens: those
    requests are in flight (headers and half the body sent) when the test sends SIGTERM."""

    base_url: str
    key: str
    stopping: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    acknowledged: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> session id
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self, payload: bytes, last: bool) -> Iterator[bytes]:
        half = len(payload) // 2
        yield payload[:half]
        if last:
            with self.lock:
                self.held += 1
            self.gate.wait(WAIT_SECONDS)
        else:
            time.sleep(0.01)
        yield payload[half:]

    def send(self, thread: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=WAIT_SECONDS) as client:
            for number in range(1_000_000):
                last = self.stopping.is_set()
                idempotency_key = f"load-{thread}-{number}"
                input = {"type": "DOCUMENT", "clientReferenceId": idempotency_key}
                payload = orjson.dumps({"query": CREATE, "variables": {"input": input}})
                try:
                    response = client.post(
                        "/graphql",
                        content=self.body(payload, last),
                        headers={
                            "Authorization": f"Bearer {self.key}",
                            "Idempotency-Key": idempotency_key,
                            "Content-Type": "application/json",
                            "Content-Length": str(len(payload)),
                        },
                    )
                except httpx.TransportError as error:
                    with self.lock:
                        self.failures.append(f"{idempotency_key}: {error!r}")
                    return
                data = response.json().get("data") if response.status_code == 200 else None
                payload_out = (data or {}).get("createVerificationSession") or {}
                with self.lock:
                    if payload_out.get("userErrors") != []:
                        self.failures.append(f"{response.status_code} {response.text}")
                        return
                    self.acknowledged[idempotency_key] = payload_out["verificationSession"]["id"]
                if last:
                    return

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def stored_session_ids(url: str) -> set[str]:
    async def go() -> set[str]:
        engine = create_engine(url)
        try:
            async with read_session(engine) as db:
                return set((await db.exec(select(VerificationSession.id))).all())
        finally:
            await engine.dispose()

    return asyncio.run(go())


def delivery_rows(url: str) -> list[tuple[int, datetime | None, datetime | None]]:
    """(attempts, next_attempt_at, succeeded_at) of every webhook delivery."""

    async def go() -> list[tuple[int, datetime | None, datetime | None]]:
        engine = create_engine(url)
        try:
            async with read_session(engine) as db:
                rows = (await db.exec(select(WebhookDelivery))).all()
                return [(row.attempts, row.next_attempt_at, row.succeeded_at) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def refused(base_url: str) -> bool:
    try:
        httpx.get(f"{base_url}/healthz", timeout=5)
    except httpx.ConnectError:
        return True
    return False


def test_sigterm_under_load_finishes_every_request_in_flight(
    database_url: str,  # noqa: F811
    workdir: Path,  # noqa: F811
    launch: Callable[..., Gateway],  # noqa: F811
) -> None:
    # given: two workers taking a stream of keyed creates from 8 threads
    key = create_key(workdir, database_url, "test")
    gateway = launch("load", database_url, workers=2, RATE_LIMIT_TEST_PER_SECOND="0")
    load = Load(base_url=gateway.base_url, key=key)
    threads = [threading.Thread(target=load.send, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    wait_for("creates acknowledged", lambda: load.count() >= ACKNOWLEDGED_BEFORE_SIGTERM)
    assert load.failures == []
    # when: every thread has a request in flight (half its body sent), SIGTERM
    load.stopping.set()
    wait_for("every thread holding a request", lambda: load.held == THREADS)
    time.sleep(1.0)  # margin for the workers to read those requests' headers
    os.kill(supervisor_pid(gateway), signal.SIGTERM)
    wait_for("both workers shutting down", lambda: gateway.log.count("Shutting down") == 2)
    # then: no new connection is taken while the requests in flight are finished
    wait_for("new connections refused", lambda: refused(gateway.base_url))
    load.gate.set()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)
        assert not thread.is_alive()
    assert load.failures == [], load.failures
    assert gateway.process is not None
    assert gateway.process.wait(timeout=WAIT_SECONDS) == 0, gateway.log
    assert len(load.acknowledged) >= ACKNOWLEDGED_BEFORE_SIGTERM + THREADS
    assert set(load.acknowledged.values()) <= stored_session_ids(database_url)
    assert "Traceback" not in gateway.log


def test_a_job_and_a_webhook_attempt_running_at_sigterm_are_due_again_at_once(
    database_url: str,  # noqa: F811
    workdir: Path,  # noqa: F811
    launch: Callable[..., Gateway],  # noqa: F811
) -> None:
    # given: one process whose live verifier never answers and whose webhook receiver answers
    # only after two minutes, each well inside its lease (an hour; 60 s + 30 s)
    test_key = create_key(workdir, database_url, "test")
    live_key = create_key(workdir, database_url, "live")
    calls_file = workdir / "calls"
    settings = {
        CALLS_FILE: str(calls_file),
        "PROCESSING_DELAY_SECONDS": "0",
        "JOB_LEASE_SECONDS": "3600",
        "WEBHOOK_TIMEOUT_SECONDS": "60",
        "SHUTDOWN_GRACE_SECONDS": "1",
    }
    with receiving() as receiver:
        receiver.answers = [("sleep", 120)]
        first = launch(
            "first", database_url, workers=1, VERIFIER=f"{MODULE}:HangingVerifier", **settings
        )
        stripe_client(first.base_url, test_key).v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"]}
        )
        first.mutate(test_key, CREATE, {"type": "DOCUMENT"})
        sid = first.mutate(live_key, CREATE, {"type": "DOCUMENT"})["id"]
        first.mutate(live_key, SUBMIT, {"id": sid})
        receiver.wait_for(1)
        wait_for("the verifier to be asked", lambda: calls_by_session(calls_file)[sid] == 1)
        # when
        status = first.terminate()
        # then: exit 0; the job and the attempt are due now, the attempt not counted
        now = utcnow()
        assert status == 0, first.log
        assert "it was canceled and will run again" in first.log
        assert job_run_at(database_url)[sid] <= now
        ((attempts, next_attempt_at, succeeded_at),) = delivery_rows(database_url)
        assert attempts == 0 and succeeded_at is None
        assert next_attempt_at is not None and next_attempt_at <= now

        # when: the next process starts, it sends and runs them at once
        second = launch(
            "second", database_url, workers=1, VERIFIER=f"{MODULE}:RecordingVerifier", **settings
        )
        # then
        receiver.wait_for(2, timeout=30)
        wait_for(
            "the session to be verified",
            lambda: sessions_by_id(second, live_key)[sid]["status"] == "VERIFIED",
            timeout=30,
        )
        wait_for("the delivery recorded", lambda: delivery_rows(database_url)[0][2] is not None)
        assert delivery_rows(database_url)[0][0] == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_subscription_open_at_sigterm_is_closed_with_going_away(
    workers: int,
    database_url: str,  # noqa: F811
    workdir: Path,  # noqa: F811
    launch: Callable[..., Gateway],  # noqa: F811
) -> None:
    # given: a subscriber that has received an event
    key = create_key(workdir, database_url, "test")
    gateway = launch("ws", database_url, workers=workers, SUBSCRIPTION_POLL_SECONDS="0.1")

    async def scenario() -> ws_client.Closed:
        async with ws_client.session(gateway.base_url, key) as client:
            await client.subscribe("1", "subscription { events { cursor } }")
            await asyncio.sleep(0.5)
            await asyncio.to_thread(gateway.mutate, key, CREATE, {"type": "DOCUMENT"})
            assert (await client.message("1"))["type"] == "next"
            # when
            os.kill(supervisor_pid(gateway), signal.SIGTERM)
            return await client.wait_closed()

    closed = asyncio.run(scenario())
    # then
    assert (closed.code, closed.reason) == (1001, "Server shutting down")
    assert gateway.process is not None
    assert gateway.process.wait(timeout=WAIT_SECONDS) == 0, gateway.log
