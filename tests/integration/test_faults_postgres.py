"""A Postgres crash under load: clear 503s while it is down, recovery without a restart, no lost write.

A real `python -m app serve` runs over a private Postgres cluster (tests/pgcluster.py, never the
shared server). Client threads send keyed GraphQL creates, keyed REST creates and REST reads;
the cluster is stopped with `pg_ctl stop -m immediate` while they go on. Every request sent and
answered while it is down must be a 503 with DATABASE_UNAVAILABLE (GraphQL `extensions.code`,
REST `error.code` in Stripe's envelope) and a Retry-After, never a 500 and never past the client
timeout; a hosted page (`/verify/<token>`) read meanwhile is a 503 HTML page with the same
Retry-After. After `pg_ctl start` requests succeed again within a bound, in the same process; every
create that was answered 200 is in the database; a create refused with 503 is retried with its
Idempotency-Key and succeeds.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.integration.test_durable_jobs import Gateway, create_key, gateway_env
from tests.pgcluster import PgCluster, pg_cluster
from tests.ws_client import session

THREADS = 3
CLIENT_TIMEOUT = 15.0
OUTAGE_SECONDS = 4.0
RECOVERY_SECONDS = 30.0

EVENTS = """
subscription Events { events { cursor node { id type } } }
"""

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id }
    userErrors { field message code }
  }
}
"""


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    with pg_cluster() as cluster:
        yield cluster


@dataclass
class Load:
    base_url: str
    key: str
    phase: str = "up"  # up -> down -> starting -> recovering
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: set[str] = field(default_factory=set)
    # (kind, Idempotency-Key, clientReferenceId) of the creates refused with a 503
    refused: list[tuple[str, str, str]] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    down_answers: int = 0
    hosted_unavailable: int = 0  # hosted pages answered 503 while the database was down
    successes_after: int = 0

    def run(self, thread: int) -> None:
        auth = {"Authorization": f"Bearer {self.key}"}
        read_id: str | None = None
        page: str | None = None  # a hosted page's path, from a REST create's `url`
        with httpx.Client(base_url=self.base_url, timeout=CLIENT_TIMEOUT, headers=auth) as client:
            for number in range(1_000_000):
                if self.stop.is_set():
                    return
                kind = ("graphql", "rest", "read", "hosted")[number % 4]
                if (kind == "read" and read_id is None) or (kind == "hosted" and page is None):
                    kind = "rest"
                key = str(uuid.uuid4())
                reference = f"fault-{thread}-{number}"
                sent_in = self.phase
                try:
                    if kind == "graphql":
                        response = client.post(
                            "/graphql",
                            json={
                                "query": CREATE,
                                "variables": {
                                    "input": {"type": "DOCUMENT", "clientReferenceId": reference}
                                },
                            },
                            headers={"Idempotency-Key": key},
                        )
                    elif kind == "rest":
                        response = client.post(
                            "/v1/identity/verification_sessions",
                            data={"type": "document", "client_reference_id": reference},
                            headers={"Idempotency-Key": key},
                        )
                    elif kind == "read":
                        response = client.get(f"/v1/identity/verification_sessions/{read_id}")
                    else:
                        assert page is not None
                        response = client.get(page, headers={"Authorization": ""})
                except httpx.HTTPError as error:
                    self._bad(f"{kind} in {sent_in}: {type(error).__name__} {error}")
                    continue
                answered_in = self.phase
                if response.status_code == 200:
                    if kind == "hosted":
                        continue  # the form page, as before the outage
                    body = response.json()
                    if kind == "graphql":
                        payload = (body.get("data") or {}).get("createVerificationSession")
                        if "errors" in body or not payload or payload["userErrors"]:
                            self._bad(f"graphql 200 with errors: {response.text}")
                            continue
                        new_id = payload["verificationSession"]["id"]
                    else:
                        new_id = body["id"]
                        if kind == "rest" and body.get("url"):
                            page = urlsplit(body["url"]).path
                    with self.lock:
                        if kind != "read":
                            self.acknowledged.add(new_id)
                        if sent_in == "recovering":
                            self.successes_after += 1
                    read_id = new_id
                    if sent_in == answered_in == "down":
                        self._bad(f"{kind} answered 200 while the database was down")
                    continue
                problem = _not_unavailable(kind, response)
                if problem is None:
                    with self.lock:
                        if sent_in == answered_in == "down":
                            self.down_answers += 1
                            self.hosted_unavailable += kind == "hosted"
                        if kind in ("graphql", "rest"):
                            self.refused.append((kind, key, reference))
                    time.sleep(0.05)
                    continue
                self._bad(f"{kind} in {sent_in}/{answered_in}: {problem}")

    def subscribe(self) -> None:
        """One WebSocket subscriber to events, open across the outage: (phase, message) kept."""

        async def listen() -> None:
            async with session(self.base_url, self.key) as client:
                await client.subscribe("e", EVENTS)
                while not self.stop.is_set():
                    try:
                        message = await client.message("e")
                    except TimeoutError:
                        continue
                    with self.lock:
                        self.events.append((self.phase, message))

        try:
            asyncio.run(listen())
        except Exception as error:
            self._bad(f"subscriber: {type(error).__name__} {error}")

    def _bad(self, message: str) -> None:
        with self.lock:
            self.bad.append(message)


def _not_unavailable(kind: str, response: httpx.Response) -> str | None:
    """None when `response` is the 503 DATABASE_UNAVAILABLE answer of `kind`; else what is wrong."""
    text = f"{response.status_code} {dict(response.headers)} {response.text[:300]}"
    if response.status_code != 503 or response.headers.get("retry-after") != "2":
        return text
    if kind == "hosted":
        html = response.headers.get("content-type", "").startswith("text/html")
        return None if html and "briefly unavailable" in response.text else text
    body = response.json()
    if kind == "graphql":
        codes = [error.get("extensions", {}).get("code") for error in body.get("errors", [])]
        return None if codes == ["DATABASE_UNAVAILABLE"] and "data" not in body else text
    error = body.get("error", {})
    ok = error.get("type") == "api_error" and error.get("code") == "database_unavailable"
    return None if ok else text


def _recovered(events: list[tuple[str, dict[str, Any]]]) -> bool:
    """Whether the subscriber got an event after the restart (its feed survived the outage)."""
    return any(phase == "recovering" and message["type"] == "next" for phase, message in events)


def _session_ids(url: str) -> set[str]:
    async def query() -> set[str]:
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch("SELECT id FROM verification_sessions")
        finally:
            await connection.close()
        return {row["id"] for row in rows}

    return asyncio.run(query())


def _unreleased_claims(url: str) -> int:
    """Idempotency claims with no response whose request wrote nothing."""

    async def query() -> int:
        connection = await asyncpg.connect(url)
        try:
            return int(
                await connection.fetchval(
                    "SELECT count(*) FROM idempotency_keys WHERE status_code IS NULL AND NOT wrote"
                )
            )
        finally:
            await connection.close()

    return asyncio.run(query())


def _references(url: str) -> list[str]:
    async def query() -> list[str]:
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                "SELECT client_reference_id FROM verification_sessions"
                " WHERE client_reference_id IS NOT NULL"
            )
        finally:
            await connection.close()
        return [row[0] for row in rows]

    return asyncio.run(query())


# How each surface says that the key's first request wrote and is not run again.
KEPT = {"IDEMPOTENCY_REQUEST_IN_PROGRESS", "idempotency_error"}


def _refusal(kind: str, response: httpx.Response) -> str:
    body = response.json()
    if kind == "graphql":
        return str(body["errors"][0]["extensions"]["code"])
    return str(body["error"]["type"])


def test_postgres_crash_under_load(cluster: PgCluster, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    url = cluster.url.replace("postgresql://", "postgresql+asyncpg://")
    env = gateway_env(
        url,
        RATE_LIMIT_TEST_PER_SECOND="0",
        RATE_LIMIT_LIVE_PER_SECOND="0",
        RATE_LIMIT_ANONYMOUS_PER_SECOND="0",
    )
    gateway = Gateway(name="gateway", workdir=workdir, env=env).start()
    try:
        key = create_key(workdir, url, "test")
        load = Load(base_url=gateway.base_url, key=key)
        threads = [
            threading.Thread(target=load.run, args=(n,), daemon=True) for n in range(THREADS)
        ]
        threads.append(threading.Thread(target=load.subscribe, daemon=True))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + RECOVERY_SECONDS
        while len(load.acknowledged) < 20:
            assert time.monotonic() < deadline and not load.bad, load.bad
            time.sleep(0.05)

        cluster.stop("immediate")
        load.phase = "down"
        time.sleep(OUTAGE_SECONDS)
        load.phase = "starting"  # requests may succeed once the postmaster accepts them
        cluster.start()
        load.phase = "recovering"
        deadline = time.monotonic() + RECOVERY_SECONDS
        while load.successes_after < 3 * THREADS:
            assert time.monotonic() < deadline, (
                f"no recovery; {load.bad[:5]}\n{gateway.log[-3000:]}"
            )
            time.sleep(0.1)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 25)
            assert not thread.is_alive()
        gateway.assert_alive()

        assert load.bad == [], "\n".join(load.bad[:10])
        assert load.down_answers >= THREADS, "hardly any request was answered during the outage"
        assert load.hosted_unavailable >= 1, "no hosted page was read during the outage"
        stored = _session_ids(cluster.url)
        assert load.acknowledged <= stored, load.acknowledged - stored

        # Claims the gateway could not release during the outage are released by now, without
        # any retry: one that reaches another process need not wait out the lease.
        deadline = time.monotonic() + RECOVERY_SECONDS
        while (left := _unreleased_claims(cluster.url)) > 0:
            assert time.monotonic() < deadline, f"{left} claims were never released"
            time.sleep(0.2)
        # No create ran twice: every reference is stored at most once.
        references = _references(cluster.url)
        assert len(references) == len(set(references)), "a create was stored twice"
        # A create refused with 503 runs again with the same key, unless its COMMIT reached the
        # database before the crash cut it off: then the key is kept (409) and it is stored once.
        retried = load.refused[:4]
        assert retried, "no create was refused during the outage"
        auth = {"Authorization": f"Bearer {key}"}
        for kind, idempotency_key, reference in retried:
            headers = {**auth, "Idempotency-Key": idempotency_key}
            if kind == "graphql":
                variables = {"input": {"type": "DOCUMENT", "clientReferenceId": reference}}
                response = httpx.post(
                    f"{gateway.base_url}/graphql",
                    json={"query": CREATE, "variables": variables},
                    headers=headers,
                    timeout=CLIENT_TIMEOUT,
                )
            else:
                response = httpx.post(
                    f"{gateway.base_url}/v1/identity/verification_sessions",
                    data={"type": "document", "client_reference_id": reference},
                    headers=headers,
                    timeout=CLIENT_TIMEOUT,
                )
            if response.status_code == 409:
                assert _refusal(kind, response) in KEPT, response.text
                assert references.count(reference) == 1, response.text
            else:
                assert response.status_code == 200, response.text
        log = gateway.log
        assert "Traceback" not in log, log[-5000:]
    finally:
        gateway.stop()
