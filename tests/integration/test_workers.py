"""`python -m app serve --workers N`: N real processes serve one port, on SQLite (one WAL file,
several processes) and on Postgres. Each worker answers requests (shown without any response
header: the other workers are paused with SIGSTOP, so only one process can accept); a worker
killed with SIGKILL is replaced while the port keeps answering; SIGTERM to the supervisor stops
every worker and exits 0."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, fresh_database_url
from tests.integration.test_durable_jobs import (
    CREATE,
    Gateway,
    create_key,
    gateway_env,
    wait_for,
)

WAIT_SECONDS = 60.0


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(request.param, tmp_path / "gateway.sqlite3") as url:
        yield url


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def launch(workdir: Path) -> Iterator[Callable[..., Gateway]]:
    """Start `serve --workers N` gateways; each is stopped at the end, pass or fail, and any
    worker it left behind (a supervisor that had to be killed) is killed too."""
    started: list[Gateway] = []
    seen: set[int] = set()

    def start(name: str, database_url: str, *, workers: int = 2, **settings: str) -> Gateway:
        gateway = Gateway(
            name=name,
            workdir=workdir,
            env=gateway_env(database_url, **settings),
            args=("--workers", str(workers)),
        )
        started.append(gateway)
        gateway.start()
        seen.update(children(supervisor_pid(gateway)))
        return gateway

    try:
        yield start
    finally:
        for gateway in started:
            if gateway.process is not None and gateway.process.poll() is None:
                seen.update(children(supervisor_pid(gateway)))
            gateway.stop()
            # Captured, so shown only when the test failed: what each process logged.
            print(f"--- {gateway.name}.log\n{gateway.log}")
        for pid in seen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux's /proc/<pid>/task/<pid>/children)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(each) for each in text.split()}


def supervisor_pid(gateway: Gateway) -> int:
    assert gateway.process is not None
    return gateway.process.pid


def wait_for_workers(gateway: Gateway, count: int, *, without: int | None = None) -> set[int]:
    return wait_for(
        f"{count} workers",
        lambda: (
            pids
            if len(pids := children(supervisor_pid(gateway))) == count and without not in pids
            else None
        ),
        timeout=WAIT_SECONDS,
    )


@contextmanager
def paused(pids: set[int]) -> Iterator[None]:
    """SIGSTOP `pids` (they accept nothing meanwhile), SIGCONT them after."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


LIST = "query { verificationSessions(first: 5) { edges { node { id } } } }"


def answers(gateway: Gateway, key: str, tag: str, *, write: bool = True) -> None:
    """A fresh connection gets /healthz and a GraphQL answer: a created session (a write), or
    with `write=False` a list of sessions (a read)."""
    with httpx.Client(base_url=gateway.base_url, timeout=WAIT_SECONDS) as client:
        assert client.get("/healthz").status_code == 200
        input = {"type": "DOCUMENT", "clientReferenceId": tag}
        body = {"query": CREATE, "variables": {"input": input}} if write else {"query": LIST}
        response = client.post("/graphql", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        if write:
            assert data["createVerificationSession"]["userErrors"] == [], data
        else:
            assert data["verificationSessions"]["edges"], data


def assert_each_answers(gateway: Gateway, key: str, pids: set[int]) -> None:
    """Each worker in turn answers alone, the others paused with SIGSTOP. Reads only: a worker
    paused while it holds SQLite's write lock (its retention purge, say) would stall every
    write until SQLite's busy timeout, which is about the pause, not about serving."""
    answers(gateway, key, "seed")  # something to list
    for pid in pids:
        with paused(pids - {pid}):
            for number in range(3):
                answers(gateway, key, f"worker-{pid}-{number}", write=False)


def test_two_workers_serve_one_port_and_a_killed_one_is_replaced(
    database_url: str, workdir: Path, launch: Callable[..., Gateway]
) -> None:
    # given: `serve --workers 2`
    key = create_key(workdir, database_url, "test")
    # (retention off: its purges are the only background writes here, and a worker paused
    # holding SQLite's write lock would fail the other's with "database is locked")
    gateway = launch(
        "workers",
        database_url,
        RATE_LIMIT_TEST_PER_SECOND="0",
        SHUTDOWN_GRACE_SECONDS="5",
        IDEMPOTENCY_RETENTION_HOURS="0",
        EVENT_RETENTION_DAYS="0",
        HOSTED_LINK_RETENTION_DAYS="0",
    )
    # then: two workers, and each of them answers (reads and writes) on the one port
    workers = wait_for_workers(gateway, 2)
    wait_for("both workers started", lambda: gateway.log.count("startup complete") == 2)
    assert_each_answers(gateway, key, workers)

    # when: one is killed as an OOM killer would
    killed = min(workers)
    os.kill(killed, signal.SIGKILL)
    # then: the port keeps answering (the other worker, and the socket's backlog meanwhile)
    for number in range(5):
        answers(gateway, key, f"after-kill-{number}")
    replaced = wait_for_workers(gateway, 2, without=killed)
    assert f"worker {killed} was killed by SIGKILL; starting another" in gateway.log
    assert_each_answers(gateway, key, replaced)

    # when: the supervisor is stopped
    status = gateway.terminate()
    # then: it exits 0 after its workers stopped gracefully; none is left
    assert status == 0, gateway.log
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the supervisor"
    assert "Traceback" not in gateway.log
    assert gateway.log.count("Application shutdown complete.") == 2
    assert f"worker {max(replaced)} exited with status 0" in gateway.log


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_serve_refuses_a_worker_count_out_of_range(value: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--workers", value],
        cwd=tmp_path,
        env=gateway_env(f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert result.returncode == 2
    assert f"--workers must be a whole number from 1 to 64, got {value!r}" in result.stderr
    assert not (tmp_path / "gateway.sqlite3").exists()  # refused before anything started


def test_sigint_to_the_supervisor_stops_every_worker_and_exits_0(
    workdir: Path, launch: Callable[..., Gateway], tmp_path: Path
) -> None:
    # given: `serve --workers 2` on SQLite
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    gateway = launch("sigint", database_url, SHUTDOWN_GRACE_SECONDS="5")
    workers = wait_for_workers(gateway, 2)
    assert gateway.process is not None
    # when: Ctrl-C, as the supervisor alone gets it (the terminal would signal all)
    gateway.process.send_signal(signal.SIGINT)
    # then
    assert gateway.process.wait(timeout=WAIT_SECONDS) == 0, gateway.log
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert "received SIGINT; stopping 2 workers" in gateway.log
    assert "Traceback" not in gateway.log


def test_workers_stop_when_the_supervisor_is_killed(
    workdir: Path, launch: Callable[..., Gateway], tmp_path: Path
) -> None:
    # given: `serve --workers 2` on SQLite
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    # (a metrics directory of the test's: a killed supervisor cannot remove its own)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    gateway = launch(
        "orphans", database_url, SHUTDOWN_GRACE_SECONDS="5", PROMETHEUS_MULTIPROC_DIR=str(metrics)
    )
    workers = wait_for_workers(gateway, 2)
    wait_for("both workers started", lambda: gateway.log.count("startup complete") == 2)
    # when: the supervisor is killed, so it cannot stop them itself
    gateway.kill()
    # then: the workers get SIGTERM from the kernel and shut down gracefully
    wait_for(
        "the workers to exit",
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers),
        timeout=WAIT_SECONDS,
    )
    assert gateway.log.count("Application shutdown complete.") == 2, gateway.log


def test_metrics_add_up_over_the_workers(
    database_url: str, workdir: Path, launch: Callable[..., Gateway]
) -> None:
    """Whichever worker answers a scrape, /metrics shows every worker's requests (one
    PROMETHEUS_MULTIPROC_DIR, made by the supervisor before it forks) and each live worker's
    connection gauge."""
    from app.metrics import FLUSH_SECONDS
    from tests.integration.test_metrics import pids, requests_total, samples

    key = create_key(workdir, database_url, "test")
    gateway = launch("metered", database_url, RATE_LIMIT_TEST_PER_SECOND="0")
    workers = wait_for_workers(gateway, 2)
    # when: many requests, spread by the kernel over both workers
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        for _ in range(200):
            assert client.get("/readyz").status_code == 200
        answered = {
            client.post(
                "/graphql",
                json={"query": "{ __typename }"},
                headers={"Authorization": f"Bearer {key}"},
            ).status_code
            for _ in range(50)
        }
    assert answered == {200}

    # then: once both workers have flushed (each does once a second, so one flush may fall
    # between its /readyz and its /graphql requests), every scrape by any worker counts all
    # 250 requests and shows both workers
    def complete() -> dict | None:  # type: ignore[type-arg]
        found = samples(httpx.get(f"{gateway.base_url}/metrics", timeout=30).text)
        counted = (
            requests_total(found, "/readyz", "GET", 200) == 200
            and requests_total(found, "/graphql", "POST", 200) == 50
        )
        return found if counted and pids(found) == {str(pid) for pid in workers} else None

    wait_for("metrics from both workers", complete, timeout=10 * FLUSH_SECONDS + 20)
    for _ in range(10):
        found = samples(httpx.get(f"{gateway.base_url}/metrics", timeout=30).text)
        assert requests_total(found, "/readyz", "GET", 200) == 200
        assert requests_total(found, "/graphql", "POST", 200) == 50
