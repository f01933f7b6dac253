"""`GET /metrics` on real servers: the text parses as Prometheus exposition, counts move as
requests are made, METRICS_TOKEN guards it, no label carries an id, key or token, the database
gauges read what is due; and two `python -m app serve` processes sharing one
PROMETHEUS_MULTIPROC_DIR and one database each answer with the sum of both."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.db import create_engine, write_session
from app.domain import ids
from app.migrations import upgrade
from app.settings import Settings
from app.store import jobs
from app.store.jobs import JobKind
from tests.conftest import BACKENDS, Server, fresh_database_url, run, running_server
from tests.helpers import CREATE_CREDENTIALS, token_of, wait_for
from tests.integration.test_durable_jobs import Gateway, create_key, gateway_env, launch, workdir
from tests.ws_client import session

__all__ = ["launch", "workdir"]  # fixtures, used by name

TOKEN = "metrics-token-0123456789abcdef"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Deeper than MAX_QUERY_DEPTH (15): refused before validation, whatever the fields are.
DEEP = "query { " + "a { " * 20 + "b" + " }" * 20 + " }"
MUTATION = """
mutation Create { createVerificationSession(input: {type: DOCUMENT}) {
  verificationSession { id } userErrors { code } } }
"""


def samples(text: str) -> Samples:
    """Every sample of an exposition text by (name, labels); the text must parse."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def requests_total(found: Samples, route: str, method: str, status: int) -> float:
    return value(
        found, "gateway_http_requests_total", route=route, method=method, status=str(status)
    )


# --- one in-process server over a database of its own ------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def metered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with METRICS_TOKEN, a rate limit of 1 a second and no worker (so a due job stays
    due), over a fresh database nothing else uses."""
    sqlite_file = tmp_path_factory.mktemp("metrics") / "gateway.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
        upgrade(url)
        settings = Settings(
            database_url=url,
            metrics_token=TOKEN,
            rate_limit_test_per_second=1,
            rate_limit_live_per_second=0,
        )
        with running_server(settings, run_worker=False) as server:
            yield server


@pytest.fixture
def http(metered: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=metered.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def live_key(metered: Server) -> str:
    """A live-mode key (not rate limited here) of a new account."""
    return metered.database.create_key(account_id=ids.new_id(ids.ACCOUNT), livemode=True)


def scrape(http: httpx.Client) -> Samples:
    response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def gql(
    http: httpx.Client, key: str, query: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return http.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    )


def create_session(http: httpx.Client, key: str) -> dict[str, str]:
    response = http.post(
        "/graphql",
        json={"query": CREATE_CREDENTIALS, "variables": {"input": {"type": "DOCUMENT"}}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    session: dict[str, str] = response.json()["data"]["createVerificationSession"][
        "verificationSession"
    ]
    return session


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-0123456789abc", f"Basic {TOKEN}", TOKEN]
)
def test_metrics_refuse_a_scrape_without_the_token(
    http: httpx.Client, authorization: str | None
) -> None:
    # when
    headers = {} if authorization is None else {"Authorization": authorization}
    response = http.get("/metrics", headers=headers)
    # then a bare 401: nothing says why, nothing of the metrics
    assert response.status_code == 401
    assert response.content == b""


def test_requests_are_counted_by_route_template(http: httpx.Client, live_key: str) -> None:
    # given
    session = create_session(http, live_key)
    before = scrape(http)
    # when
    for _ in range(2):
        retrieved = http.get(
            f"/v1/identity/verification_sessions/{session['id']}",
            headers={"Authorization": f"Bearer {live_key}"},
        )
        assert retrieved.status_code == 200, retrieved.text
    http.get(f"/verify/{token_of(session['url'])}")
    http.get("/no/such/path")
    after = scrape(http)
    # then
    route = "/v1/identity/verification_sessions/{id}"
    assert requests_total(after, route, "GET", 200) - requests_total(before, route, "GET", 200) == 2
    assert (
        sum(
            requests_total(after, "/verify/{token}", "GET", status)
            - requests_total(before, "/verify/{token}", "GET", status)
            for status in (200, 404, 410)
        )
        == 1
    )
    assert (
        requests_total(after, "other", "GET", 404) - requests_total(before, "other", "GET", 404)
        == 1
    )
    count = "gateway_http_request_duration_seconds_count"
    assert (
        value(after, count, route=route, method="GET")
        - value(before, count, route=route, method="GET")
        == 2
    )


def test_graphql_operations_are_counted_by_type_and_outcome(
    http: httpx.Client, live_key: str
) -> None:
    # given
    before = scrape(http)
    # when
    assert "errors" not in gql(http, live_key, "query { __typename }").json()
    assert "errors" not in gql(http, live_key, MUTATION).json()
    assert "errors" in gql(http, live_key, "query { noSuchField }").json()
    deep = gql(http, live_key, DEEP).json()
    assert deep["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP", deep
    after = scrape(http)

    # then
    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    operations = "gateway_graphql_operations_total"
    assert moved(operations, type="query", outcome="ok") == 1
    assert moved(operations, type="mutation", outcome="ok") == 1
    assert moved(operations, type="query", outcome="errors") == 1
    assert moved(operations, type="query", outcome="refused") == 1
    assert moved("gateway_graphql_refusals_total", code="QUERY_TOO_DEEP") == 1


def test_websocket_operations_are_counted(
    http: httpx.Client, metered: Server, live_key: str
) -> None:
    # given
    before = scrape(http)
    deep = "subscription { " + "a { " * 20 + "b" + " }" * 20 + " }"

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with session(metered.base_url, live_key) as client:
            await client.subscribe("s", "subscription { events { cursor } }")
            await asyncio.sleep(0.3)  # it has started
            await client.complete("s")
            await client.subscribe("d", deep)
            refused = await client.message("d")
            await client.subscribe("q", "query { __typename }")
            answered = await client.message("q")
            return refused, answered

    # when a subscription runs and is completed, one is refused and a query is answered
    refused, answered = run(scenario())
    # then
    assert refused["type"] == "error", refused
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert answered["type"] == "next", answered
    operations = "gateway_graphql_operations_total"

    def moved(after: Samples, **labels: str) -> float:
        return value(after, operations, **labels) - value(before, operations, **labels)

    # (the completed subscription is counted as its task ends, just after the client's message)
    after = wait_for(
        lambda: scrape(http),
        lambda after: moved(after, type="subscription", outcome="ok") == 1,
        what="the completed subscription to be counted",
    )
    assert moved(after, type="subscription", outcome="refused") == 1
    assert moved(after, type="query", outcome="ok") == 1


def test_rate_limited_requests_and_idempotent_replays_are_counted(
    http: httpx.Client, metered: Server, live_key: str
) -> None:
    # given a test-mode key, limited to one request a second
    test_key = metered.database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    before = scrape(http)
    # when it asks until it is refused (at the latest the third request of one second)
    refused = 0
    for _ in range(50):
        if gql(http, test_key, "query { __typename }").status_code == 429:
            refused += 1
            break
    # and then over REST (one budget for both surfaces)
    for _ in range(50):
        listed = http.get(
            "/v1/identity/verification_sessions", headers={"Authorization": f"Bearer {test_key}"}
        )
        if listed.status_code == 429:
            refused += 1
            break
    # and a keyed mutation is sent twice
    keyed = {"Idempotency-Key": f"metrics-{ids.random_base62(8)}"}
    first = gql(http, live_key, MUTATION, keyed)
    again = gql(http, live_key, MUTATION, keyed)
    after = scrape(http)
    # then
    assert refused == 2
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    limited = "gateway_rate_limited_total"
    for surface in ("graphql", "rest"):
        assert value(after, limited, surface=surface) - value(before, limited, surface=surface) == 1
    replays = "gateway_idempotent_replays_total"
    assert value(after, replays) - value(before, replays) == 1


def test_no_label_carries_an_id_key_or_token(
    http: httpx.Client, metered: Server, live_key: str
) -> None:
    # given requests whose paths, headers and bodies hold ids, keys, tokens and secrets
    session = create_session(http, live_key)
    token = token_of(session["url"])
    secrets = [session["id"], session["clientSecret"], token, live_key, TOKEN]
    auth = {"Authorization": f"Bearer {live_key}"}
    for path in (
        f"/v1/identity/verification_sessions/{session['id']}",
        f"/v1/identity/verification_sessions/{live_key}",
        f"/verify/{token}",
        f"/verify/{token}/status",
        f"/{live_key}",
        f"/graphql/{session['clientSecret']}",
    ):
        http.get(path, headers=auth)
    http.request("X-" + session["id"][:20].upper().replace("_", "-"), "/graphql", headers=auth)
    gql(
        http,
        session["clientSecret"],
        f'query {{ verificationSession(id: "{session["id"]}") {{ id }} }}',
    )
    # when
    text = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    # then
    assert [secret for secret in secrets if secret in text] == []
    labels = {
        (name, value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for name, value in sample.labels.items()
    }
    assert {value for name, value in labels if name == "method"} <= {
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
        "OTHER",
    }
    templates = {route.path for route in metered.app.routes}
    routes = {value for name, value in labels if name == "route"}
    assert routes <= templates | {"other"}, routes - templates


def enqueue_due_job(database_url: str, session_id: str) -> None:
    """A redaction job of the session that fell due a minute ago."""

    async def enqueue() -> None:
        engine = create_engine(database_url)
        try:
            async with write_session(engine) as db:
                await jobs.enqueue(
                    db, kind=JobKind.REDACT, session_id=session_id, delay_seconds=-60, payload={}
                )
        finally:
            await engine.dispose()

    run(enqueue())


def test_database_gauges_show_what_is_due(
    http: httpx.Client, metered: Server, live_key: str
) -> None:
    # given a job that fell due a minute ago, and a webhook delivery due now (no worker runs)
    session = create_session(http, live_key)
    before = scrape(http)

    enqueue_due_job(metered.database.url, session["id"])
    endpoint = http.post(
        "/v1/webhook_endpoints",
        data={"url": "https://example.com/webhooks", "enabled_events[]": "*"},
        headers={"Authorization": f"Bearer {live_key}"},
    )
    assert endpoint.status_code == 200, endpoint.text
    create_session(http, live_key)  # its event is due for delivery
    # when
    after = scrape(http)
    # then
    assert value(after, "gateway_jobs_due") == value(before, "gateway_jobs_due") + 1
    assert value(after, "gateway_jobs_oldest_due_age_seconds") >= 59
    attempts = "gateway_webhook_attempts_due"
    assert value(after, attempts) >= value(before, attempts) + 1
    assert value(after, "gateway_db_connections_in_use") >= 0
    assert ("gateway_db_reader_connections_in_use", frozenset()) in after


# --- two `python -m app serve` processes --------------------------------------------------------


def readyz(gateway: Gateway, times: int) -> None:
    for _ in range(times):
        assert httpx.get(f"{gateway.base_url}/readyz", timeout=30).status_code == 200


def scrape_process(gateway: Gateway) -> Samples:
    response = httpx.get(f"{gateway.base_url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    return samples(response.text)


def pids(found: Samples) -> set[str]:
    return {
        dict(labels)["pid"] for name, labels in found if name == "gateway_db_connections_in_use"
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_sharing_a_directory_report_the_sum(
    backend: str, workdir: Path, launch: Callable[..., Gateway], tmp_path: Path
) -> None:
    with fresh_database_url(backend, workdir / "gateway.sqlite3") as url:
        # given two servers over one database and one PROMETHEUS_MULTIPROC_DIR
        upgrade(url)
        key = create_key(workdir, url, "test")
        directory = tmp_path / "metrics"
        directory.mkdir()
        settings = {
            "PROMETHEUS_MULTIPROC_DIR": str(directory),
            "RATE_LIMIT_TEST_PER_SECOND": "0",
            # Their workers look for due jobs at start, then not again while the test looks.
            "WORKER_POLL_SECONDS": "60",
        }
        first = launch("first", url, **settings)
        second = launch("second", url, **settings)
        # when each answers some requests, and one job falls due
        readyz(first, 3)
        readyz(second, 5)
        created = first.gql(key, MUTATION)["createVerificationSession"]["verificationSession"]
        second.gql(key, "query { __typename }")
        enqueue_due_job(url, created["id"])
        # each process adds its tallies to the shared files once a second (FLUSH_SECONDS), so
        # wait until a scrape shows both processes' last flush
        operations = "gateway_graphql_operations_total"

        def summed(found: Samples) -> bool:
            return (
                requests_total(found, "/readyz", "GET", 200) == 8
                and value(found, operations, type="query", outcome="ok") == 1
                and value(found, operations, type="mutation", outcome="ok") == 1
            )

        wait_for(lambda: scrape_process(second), summed, what="both processes' tallies")
        # then either one's /metrics shows the sum of both, and the database's own figures
        for gateway in (first, second):
            found = scrape_process(gateway)
            assert summed(found)
            assert value(found, "gateway_jobs_due") == 1
        assert pids(found) == {str(first.process.pid), str(second.process.pid)}  # type: ignore[union-attr]
        # and when one stops, its counts stay in the sums while its live gauge leaves them
        first.stop()
        found = scrape_process(second)
        assert requests_total(found, "/readyz", "GET", 200) == 8
        assert pids(found) == {str(second.process.pid)}  # type: ignore[union-attr]
        # and the operator's directory is left in place
        assert directory.is_dir()


def test_serve_makes_a_private_directory_and_removes_it_on_exit(
    workdir: Path, launch: Callable[..., Gateway], tmp_path: Path
) -> None:
    # given a server without PROMETHEUS_MULTIPROC_DIR, its temporary files under one directory
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    url = f"sqlite+aiosqlite:///{workdir / 'gateway.sqlite3'}"
    upgrade(url)
    gateway = launch("solo", url, TMPDIR=str(temporary))
    # when it serves
    readyz(gateway, 2)
    made = [path for path in temporary.iterdir() if path.name.startswith("gateway-metrics-")]
    # then it writes to a directory of its own, readable by its user alone
    assert len(made) == 1, list(temporary.iterdir())
    assert made[0].stat().st_mode & 0o077 == 0
    assert any(made[0].iterdir())
    assert requests_total(scrape_process(gateway), "/readyz", "GET", 200) == 2
    # and when it stops, the directory is gone
    gateway.stop()
    # (ended by SIGTERM, as before: uvicorn raises it again after its graceful stop)
    assert gateway.process is not None
    assert gateway.process.returncode in (0, -signal.SIGTERM), gateway.log
    assert not made[0].exists()


def test_serve_refuses_a_directory_that_does_not_exist(workdir: Path) -> None:
    # when
    env = gateway_env(
        f"sqlite+aiosqlite:///{workdir / 'gateway.sqlite3'}",
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "missing"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "1"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert result.returncode == 2
    assert "PROMETHEUS_MULTIPROC_DIR must be an existing writable directory" in result.stderr
