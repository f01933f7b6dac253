"""A keyed create whose COMMIT reaches Postgres but whose answer never comes back runs once.

A real `python -m app serve` reaches Postgres through a TCP proxy in the test (`CommitCutter`).
Armed, the proxy forwards the COMMIT of the first transaction that inserted a session, then cuts
that connection both ways before Postgres's reply gets back: the session is committed, and the
gateway only sees its connection drop, as when the network or Postgres fails at that moment.
The request is answered 503 (the gateway cannot know what happened), and a retry with the same
Idempotency-Key must not create a second session.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import fresh_postgres_database
from tests.integration.test_durable_jobs import Gateway, create_key, gateway_env

pytestmark = pytest.mark.skipif(
    "TEST_DATABASE_URL" not in os.environ, reason="a Postgres server (TEST_DATABASE_URL)"
)

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) { verificationSession { id } userErrors { code } }
}
"""
REFERENCE = "cut-off-1"
# What each surface answers while the key's first request, which wrote, holds it.
KEPT = {"IDEMPOTENCY_REQUEST_IN_PROGRESS", "idempotency_error"}


class CommitCutter:
    """A TCP proxy to a Postgres server that, armed, lets one COMMIT through and then cuts the
    connection that sent it, before the reply: the first COMMIT on a connection that has sent
    an `INSERT INTO verification_sessions`."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.armed = True
        self.cut = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        async def start() -> asyncio.Server:
            server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            return server

        self.server = self.loop.run_until_complete(start())
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        async def shut() -> None:
            self.server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _connection(
        self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter
    ) -> None:
        server, to_server = await asyncio.open_connection(*self.upstream)
        inserted = False
        cut = False
        committed = asyncio.Event()

        async def replies() -> None:
            while data := await server.read(65536):
                if cut:
                    committed.set()  # Postgres answered the COMMIT: it is durable
                    return  # and its answer never reaches the gateway
                to_client.write(data)
                await to_client.drain()
            to_client.close()  # Postgres closed the connection: so does the proxy

        answering = asyncio.ensure_future(replies())
        try:
            while data := await client.read(65536):
                inserted = inserted or b"INSERT INTO verification_sessions" in data
                if self.armed and inserted and b"COMMIT" in data:
                    self.armed, cut = False, True
                    to_server.write(data)
                    await to_server.drain()
                    await asyncio.wait_for(committed.wait(), 30)
                    self.cut.set()
                    return
                to_server.write(data)
                await to_server.drain()
        finally:
            answering.cancel()
            to_client.transport.abort()
            to_server.transport.abort()


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


def _references(url: str) -> list[str]:
    parts = make_url(url)

    async def query() -> list[str]:
        connection = await asyncpg.connect(
            user=parts.username, host=parts.host, port=parts.port, database=parts.database
        )
        try:
            rows = await connection.fetch(
                "SELECT client_reference_id FROM verification_sessions"
                " WHERE client_reference_id = $1",
                REFERENCE,
            )
        finally:
            await connection.close()
        return [row[0] for row in rows]

    return asyncio.run(query())


def _create(surface: str, base_url: str, key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "order-cut-off-1"}
    if surface == "graphql":
        variables = {"input": {"type": "DOCUMENT", "clientReferenceId": REFERENCE}}
        return httpx.post(
            f"{base_url}/graphql",
            json={"query": CREATE, "variables": variables},
            headers=headers,
            timeout=60,
        )
    return httpx.post(
        f"{base_url}/v1/identity/verification_sessions",
        data={"type": "document", "client_reference_id": REFERENCE},
        headers=headers,
        timeout=60,
    )


def _code(surface: str, response: httpx.Response) -> str:
    body = response.json()
    if surface == "graphql":
        return str(body["errors"][0]["extensions"]["code"])
    return str(body["error"]["code"])


@pytest.mark.parametrize("surface", ["graphql", "rest"])
def test_a_create_whose_commit_reply_was_lost_is_not_run_again(
    surface: str, database_url: str, tmp_path: Path
) -> None:
    # given: a gateway whose connections to Postgres go through the proxy
    parts = make_url(database_url)
    assert parts.host is not None and parts.port is not None
    cutter = CommitCutter(parts.host, parts.port)
    try:
        proxied = parts.set(host="127.0.0.1", port=cutter.port).render_as_string(
            hide_password=False
        )
        gateway = Gateway(
            name="gateway", workdir=tmp_path, env=gateway_env(proxied, SHUTDOWN_GRACE_SECONDS="5")
        ).start()
        try:
            key = create_key(tmp_path, database_url, "test")
            # when: the create's COMMIT reaches Postgres and its reply is cut off
            first = _create(surface, gateway.base_url, key)
            assert cutter.cut.is_set(), "the proxy never saw the create's COMMIT"
            # then: the gateway cannot tell, and says the database was unavailable
            assert first.status_code == 503, first.text
            assert _code(surface, first).upper() == "DATABASE_UNAVAILABLE", first.text
            assert _references(database_url) == [REFERENCE]  # it was committed
            # and a retry with the same key does not create it again
            retry = _create(surface, gateway.base_url, key)
            assert retry.status_code == 409, retry.text
            refusal = retry.json()
            if surface == "graphql":
                assert refusal["errors"][0]["extensions"]["code"] in KEPT, retry.text
            else:
                assert refusal["error"]["type"] in KEPT, retry.text
            assert _references(database_url) == [REFERENCE]
            assert "Traceback" not in gateway.log, gateway.log[-4000:]
        finally:
            gateway.stop()
    finally:
        cutter.close()
