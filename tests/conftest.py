"""Shared fixtures: a real database per backend and a real HTTP server over it.

Every API test runs once against SQLite and, when TEST_DATABASE_URL points at a Postgres server,
once more against a fresh Postgres database created for this run (and dropped after it). Each test
gets its own account, so tests sharing a database never see each other's sessions.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from app.db import create_engine, write_session
from app.domain import ids
from app.main import create_app
from app.migrations import upgrade
from app.settings import Settings
from app.store import accounts

BACKENDS = ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def run(coroutine: Any) -> Any:
    """Run a coroutine from a synchronous test (each call gets its own event loop)."""
    return asyncio.run(coroutine)


@dataclass
class Database:
    url: str

    def execute(self, statement: str, params: dict[str, Any] | None = None) -> Any:
        """Run raw SQL in one committed transaction; for arranging states the API cannot reach."""
        from sqlalchemy import text

        async def go() -> Any:
            engine = create_engine(self.url)
            try:
                async with engine.begin() as connection:
                    result = await connection.execute(text(statement), params or {})
                    return result.all() if result.returns_rows else None
            finally:
                await engine.dispose()

        return run(go())

    def create_key(
        self, *, account_id: str, livemode: bool = False, restricted: bool = False
    ) -> str:
        async def go() -> str:
            engine = create_engine(self.url)
            try:
                async with write_session(engine) as db:
                    return await accounts.create_key(
                        db, account_id=account_id, livemode=livemode, restricted=restricted
                    )
            finally:
                await engine.dispose()

        return run(go())


def _postgres_database(admin_url: str) -> Iterator[str]:
    import asyncpg

    name = f"gw_test_{ids.random_base62(10).lower()}"
    url = make_url(admin_url)

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(
            user=url.username,
            password=url.password,
            host=url.host,
            port=url.port,
            database=url.database,
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "gateway.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield Database(url)
        return
    for url in _postgres_database(os.environ["TEST_DATABASE_URL"]):
        upgrade(url)
        yield Database(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base_url: str
    database: Database
    settings: Settings
    engine: Any = field(repr=False, default=None)


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[Server]:
    """uvicorn serving the app on a free port, in a background thread."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Short lifecycle delays so tests can wait for processing and redaction to finish; tests
    # that must see PROCESSING read it from the submitting mutation's own response.
    settings = Settings(
        database_url=database.url,
        public_base_url=base_url,
        log_level="INFO",
        processing_delay_seconds=1.0,
        redaction_delay_seconds=1.0,
        worker_poll_seconds=0.05,
    )
    engine = create_engine(database.url)
    config = uvicorn.Config(
        create_app(settings, engine=engine),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield Server(base_url=base_url, database=database, settings=settings, engine=engine)
    instance.should_exit = True
    thread.join(timeout=10)


@dataclass
class Api:
    """A GraphQL client for one account, holding a secret key for each mode."""

    server: Server
    account_id: str
    key: str
    http: httpx.Client = field(repr=False)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = "default",
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        token = self.key if key == "default" else key
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.http.post("/graphql", json=body, headers=headers, **kwargs)

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = "default"
    ) -> dict[str, Any]:
        """POST a document and return the JSON body, asserting a 200 with no top-level errors."""
        response = self.post(query, variables, key=key)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def new_key(self, *, livemode: bool = False, restricted: bool = False) -> str:
        return self.server.database.create_key(
            account_id=self.account_id, livemode=livemode, restricted=restricted
        )


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    account_id = ids.new_id(ids.ACCOUNT)
    key = server.database.create_key(account_id=account_id)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield Api(server=server, account_id=account_id, key=key, http=client)


@pytest.fixture
def other_api(server: Server) -> Iterator[Api]:
    """A second, unrelated account on the same server."""
    account_id = ids.new_id(ids.ACCOUNT)
    key = server.database.create_key(account_id=account_id)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield Api(server=server, account_id=account_id, key=key, http=client)


CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession {
      id object created status type clientReferenceId clientSecret url livemode metadata
      relatedCustomer verificationFlow
      options { document { allowedTypes requireIdNumber requireLiveCapture requireMatchingSelfie }
                email { requireVerification } phone { requireVerification } }
      providedDetails { email phone }
      lastError { code reason }
      redaction { status }
      verifiedOutputs { firstName }
      lastVerificationReport { id }
    }
    userErrors { field message code }
  }
}
"""


@pytest.fixture
def create_session(api: Api) -> Callable[..., dict[str, Any]]:
    """Create a session through the API (type DOCUMENT unless overridden) and return it."""

    def create(**overrides: Any) -> dict[str, Any]:
        payload = api.gql(CREATE, {"input": {"type": "DOCUMENT", **overrides}})[
            "createVerificationSession"
        ]
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload["verificationSession"]  # type: ignore[no-any-return]

    return create
