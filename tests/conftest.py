"""Shared fixtures: a real database per backend and a real HTTP server over it.

Every API test runs once against SQLite and, when TEST_DATABASE_URL points at a Postgres server,
once more against a fresh Postgres database created for this run (and dropped after it). Each test
gets its own account, so tests sharing a database never see each other's sessions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from app.db import create_engine, write_session
from app.domain import ids
from app.domain.access import Scope
from app.main import create_app
from app.migrations import upgrade
from app.settings import Settings
from app.store import accounts, flows
from tests.helpers import CREATE
from tests.inprocess import InProcessTransport

BACKENDS = ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]
# One TLS context for every test client: httpx would build one (loading certifi's bundle, some
# 10 ms) for each client, and the test servers speak plain HTTP anyway.
SSL_CONTEXT = httpx.create_ssl_context()
# The fast tier (`make check`): API clients call the app in-process (tests/inprocess.py).
IN_PROCESS = os.environ.get("TEST_TRANSPORT") == "asgi"
# What the fast tier leaves out (marked `slow`): what needs processes, browsers, other people's
# clients, or sweeps many generated inputs.
SLOW_DIRECTORIES = ("browser", "clients", "differential", "fuzz", "integration")
# And files of other directories: the commands run as processes of their own, and webhook
# deliveries waited out through their retry schedules.
SLOW_FILES = ("test_cli.py", "test_export_documents.py", "test_seed.py", "api/test_webhooks.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests)
        if relative.parts[0] in SLOW_DIRECTORIES or relative.as_posix() in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


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

    def create_flow(
        self,
        *,
        account_id: str,
        livemode: bool = False,
        type: str = "document",
        options: dict[str, Any] | None = None,
    ) -> str:
        """A verification flow stored the way `python -m app flows create` stores one; its id.
        Flows have no API of their own."""

        async def go() -> str:
            engine = create_engine(self.url)
            try:
                async with write_session(engine) as db:
                    flow = await flows.create_flow(
                        db, scope=Scope(account_id, livemode), type=type, options=options or {}
                    )
                    return flow.id
            finally:
                await engine.dispose()

        result: str = run(go())
        return result


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty Postgres database on the server `admin_url` points at, dropped on exit.

    Yields its SQLAlchemy URL (asyncpg driver). The drop forces out connections left open, so a
    test that leaks one does not block the clean-up.
    """
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


@contextmanager
def fresh_database_url(backend: str, sqlite_file: Path) -> Iterator[str]:
    """The URL of a new, empty database that nothing has migrated yet.

    Args:
        backend: "sqlite" or "postgres" (one of BACKENDS).
        sqlite_file: Where the SQLite database goes; unused for Postgres, whose database is
            created on the TEST_DATABASE_URL server and dropped on exit.
    """
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{sqlite_file}"
        return
    with fresh_postgres_database(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    sqlite_file = tmp_path_factory.mktemp("sqlite") / "gateway.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
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
    app: Any = field(repr=False, default=None)
    # The event loop the server runs the app on (for tests.inprocess).
    loop: Any = field(repr=False, default=None)

    def create_key(
        self, *, account_id: str, livemode: bool = False, restricted: bool = False
    ) -> str:
        """A secret key, stored by the running server's own engine on its own loop (a fraction
        of what a new engine and loop per key costs, for every test's account)."""
        if self.loop is None or self.engine is None:
            return self.database.create_key(
                account_id=account_id, livemode=livemode, restricted=restricted
            )

        async def go() -> str:
            async with write_session(self.engine) as db:
                return await accounts.create_key(
                    db, account_id=account_id, livemode=livemode, restricted=restricted
                )

        return asyncio.run_coroutine_threadsafe(go(), self.loop).result(timeout=30)


@contextmanager
def running_server(
    settings: Settings, *, run_worker: bool = True, public_base_url: str | None = None
) -> Iterator[Server]:
    """uvicorn serving `create_app(settings)` on a free port, in a background thread.

    The settings' `public_base_url` is replaced by the server's own address, so the hosted-page
    links it builds point at it. The server stops when the block exits.

    Args:
        settings: The app's settings; `database_url` must name a migrated database.
        run_worker: False for a second server over a database that another server's worker
            already serves, so that its jobs are taken by that one process only.
        public_base_url: The origin to build links from instead of the server's own address:
            another server's, for two processes that stand behind one public address and must
            answer alike.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = dataclasses.replace(settings, public_base_url=public_base_url or base_url)
    engine = create_engine(settings.database_url)
    app = create_app(settings, engine=engine, run_worker=run_worker)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # As `serve` runs it: the client address is the peer's (TRUSTED_PROXIES decides).
        proxy_headers=False,
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not instance.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"test server on {base_url} did not start")
            time.sleep(0.02)
        yield Server(
            base_url=base_url,
            database=Database(settings.database_url),
            settings=settings,
            engine=engine,
            app=app,
            loop=instance.servers[0].get_loop(),
        )
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[Server]:
    """The app served over the session's database, shared by every API test."""
    # Short lifecycle delays so tests can wait for processing and redaction to finish; tests
    # that must see PROCESSING read it from the submitting mutation's own response.
    settings = Settings(
        database_url=database.url,
        log_level="INFO",
        processing_delay_seconds=1.0,
        redaction_delay_seconds=1.0,
        worker_poll_seconds=0.05,
        # Tests fire requests as fast as they can; only tests/api/test_rate_limits.py limits them.
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
        rate_limit_anonymous_per_second=0,
        # Webhook retries a second apart, and a short timeout, so tests see them happen.
        webhook_retry_seconds=(1.0, 1.0, 1.0),
        webhook_test_retry_seconds=(1.0, 1.0, 1.0),
        webhook_timeout_seconds=2.0,
        # Tests expire links to 2000 and expect 410: the worker must not purge them meanwhile.
        hosted_link_retention_days=0,
    )
    with running_server(settings) as started:
        yield started


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
        return self.server.create_key(
            account_id=self.account_id, livemode=livemode, restricted=restricted
        )

    def new_flow(
        self,
        *,
        livemode: bool = False,
        type: str = "document",
        options: dict[str, Any] | None = None,
    ) -> str:
        """A verification flow of this account; its id."""
        return self.server.database.create_flow(
            account_id=self.account_id, livemode=livemode, type=type, options=options
        )


@contextmanager
def client_of(server: Server, *, livemode: bool = False) -> Iterator[Api]:
    """A new account on `server` and a client whose default key is its secret key."""
    account_id = ids.new_id(ids.ACCOUNT)
    key = server.create_key(account_id=account_id, livemode=livemode)
    transport = (
        InProcessTransport(server.app, server.loop, verify=SSL_CONTEXT)
        if IN_PROCESS and server.loop
        else None
    )
    with httpx.Client(
        base_url=server.base_url, timeout=30, transport=transport, verify=SSL_CONTEXT
    ) as client:
        yield Api(server=server, account_id=account_id, key=key, http=client)


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    with client_of(server) as client:
        yield client


@pytest.fixture
def other_api(server: Server) -> Iterator[Api]:
    """A second, unrelated account on the same server."""
    with client_of(server) as client:
        yield client


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
