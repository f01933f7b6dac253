"""`make bench`: the gateway measured side by side with a raw twin, on SQLite and Postgres.

For each backend (SQLite always, in a temp file; Postgres when BENCH_DATABASE_URL names a server,
in a fresh `gw_bench_<random>` database dropped afterwards) it migrates a new database, seeds
--rows sessions with `app.seed` and makes a test-mode secret key for the seeded account. Then it
starts two servers as subprocesses, one uvicorn worker each: the gateway (`python -m app serve`,
rate limits off, LOG_LEVEL=WARNING) and `scripts/bench_twin.py`, which serves the same rows with
the driver alone (no GraphQL, no ORM, no middleware). And it measures:

    list-50 req/s     `wrk -t1 -c8` for --seconds (after 2 s of warm-up) on the page of 50
                      sessions after the row half-way down the list: the gateway's
                      `verificationSessions(first: 50, after:)` over POST /graphql, and the
                      twin's GET /sessions?first=50&after=. Both are checked first to return the
                      same 50 ids (and the gateway no `errors`). On SQLite also the twin's
                      GET /floor: the gateway's own response to that query (the same bytes,
                      checked), written by hand in plain Python for that query alone; it shows
                      how much of the gap to the twin the GraphQL response itself costs.
    list cost         the same for a page of 1: each server's microseconds a request split
                      into a part per request and a part per row (from the pages of 1 and 50);
                      on SQLite also the gateway's req/s if its rows cost what the floor's do
                      (its own per-request part plus 50 of the floor's rows), an upper bound
                      on what any work on rows alone could reach.
    get p50 ms        `wrk -t1 -c1 --latency`: one session by id, `verificationSession(id:)`
                      against GET /sessions/<id>; the median latency.
                      Both figures run --rounds times (default 3), gateway and twin in turn,
                      and the best round of each counts: on a shared machine a neighbour's
                      load only ever slows a round, and alternating keeps one slow spell
                      from landing on one server alone.
    statements        in-process (`create_app` over `httpx.ASGITransport`), the SQL statements
                      one list request sends through the app's SQLAlchemy engine (transaction
                      control left out, as tests/api/test_statement_count.py counts them) for
                      first: 10, 50 and 100 with pageInfo, and 50 with totalCount. Reads a
                      future fast path sends to the driver directly are not seen here.
    deep page         (--deep-rows N) in a second database of N sessions, the median of 200
                      sequential list-50 requests at the first page and at depth N-100:
                      keyset pagination should make the ratio deep/first about 1.
    RSS               (--rss-requests N) the gateway's VmRSS after 1,000 list requests and
                      after N more (8 at a time): growth in percent.

Every figure that compares is a ratio measured side by side in one run, on one machine, with the
same rows; absolute numbers vary from machine to machine, ratios much less. Nothing here asserts
a threshold: the exit status is 1 only when a server failed or a check before timing failed, 2
when wrk is missing (Debian: `apt-get install wrk`).

    .venv/bin/python scripts/bench.py [--rows 3000] [--seconds 10] [--rounds 3] [--deep-rows 1000000]
        [--rss-requests 100000]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test make bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from app.db import create_engine, read_session, write_session
from app.domain import ids
from app.migrations import upgrade
from app.models import VerificationSession
from app.pagination import encode_cursor
from app.seed import seed
from app.store import accounts

ROOT = Path(__file__).resolve().parent.parent
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
WARM_UP_SECONDS = 2
DEEP_REPEAT = 200

LIST = (
    "query List($after: String) { verificationSessions(first: 50, after: $after) { edges { "
    "cursor node { id object status type created livemode clientReferenceId metadata } } "
    "pageInfo { hasNextPage endCursor } } }"
)
ONE = (
    "query One($id: ID!) { verificationSession(id: $id) { id object status type created "
    "livemode clientReferenceId metadata } }"
)
PAGE_OF_100 = (
    "query Walk($after: String) { verificationSessions(first: 100, after: $after) { "
    "edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
)
COUNTED = (
    "query Counted($first: Int, $after: String) { verificationSessions(first: $first, "
    "after: $after) { edges { cursor node { id object status type created livemode "
    "clientReferenceId metadata } } pageInfo { hasNextPage endCursor } } }"
)
COUNTED_TOTAL = (
    "query CountedTotal($after: String) { verificationSessions(first: 50, after: $after) { "
    "edges { node { id } } totalCount } }"
)


class Failure(Exception):
    """A server failed, or a check before timing did not hold: the run's figures are not valid."""


@dataclass
class Figure:
    backend: str
    name: str
    gateway: str
    twin: str = ""
    ratio: str = ""


@dataclass
class Run:
    args: argparse.Namespace
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        twin = f", twin {figure.twin}" if figure.twin else ""
        ratio = f" ({figure.ratio})" if figure.ratio else ""
        print(f"  {figure.name}: gateway {figure.gateway}{twin}{ratio}")


# --- databases ---------------------------------------------------------------------------------


@contextmanager
def scratch_database(backend: str, directory: Path, name: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database, removed on exit."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'{name}.sqlite3'}"
        return
    import asyncpg  # type: ignore[import-untyped]

    server = make_url(os.environ["BENCH_DATABASE_URL"])
    database = f"gw_bench_{ids.random_base62(10).lower()}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(
            user=server.username,
            password=server.password,
            host=server.host,
            port=server.port,
            database=server.database,
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        yield server.set(drivername="postgresql+asyncpg", database=database).render_as_string(
            hide_password=False
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def prepare(url: str, rows: int) -> tuple[str, str]:
    """Migrate, seed `rows` sessions and make a test secret key: (account id, key)."""
    upgrade(url)

    async def go() -> tuple[str, str]:
        engine = create_engine(url)
        try:
            result = await seed(engine, count=rows)
            print(f"  {result.summary()}")
            async with write_session(engine) as db:
                key = await accounts.create_key(
                    db, account_id=result.account_id, livemode=False, restricted=False
                )
            return result.account_id, key
        finally:
            await engine.dispose()

    return asyncio.run(go())


def row_at(url: str, depth: int) -> tuple[Any, str]:
    """(created, id) of the row `depth` rows down the newest-first list (0 is the newest)."""

    async def go() -> tuple[Any, str]:
        engine = create_engine(url)
        try:
            async with read_session(engine) as db:
                row = (
                    await db.exec(
                        select(VerificationSession)
                        .order_by(col(VerificationSession.created).desc())
                        .order_by(col(VerificationSession.id).desc())
                        .offset(depth)
                        .limit(1)
                    )
                ).one()
                return row.created, row.id
        finally:
            await engine.dispose()

    return asyncio.run(go())


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    base_url: str
    popen: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise Failure(f"the {self.name} exited with {self.popen.returncode}:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.popen.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert match is not None, status
        return int(match[1])


@contextmanager
def started(name: str, argv: list[str], env: dict[str, str], port: int, log: Path,
            probe: str, headers: dict[str, str]) -> Iterator[Process]:  # fmt: skip
    """A server subprocess on `port`, once `probe` answers 200; stopped on exit."""
    with log.open("wb") as output:
        popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    process = Process(name=name, base_url=f"http://127.0.0.1:{port}", popen=popen, log=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            process.check_alive()
            with suppress(httpx.HTTPError):
                if httpx.get(process.base_url + probe, headers=headers, timeout=2).is_success:
                    break
            if time.monotonic() > deadline:
                raise Failure(f"the {name} did not answer within 60 s:\n{process.tail()}")
            time.sleep(0.1)
        yield process
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def gateway(url: str, directory: Path, workers: int = 1) -> AbstractContextManager[Process]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_TEST_PER_SECOND": "0",
        "RATE_LIMIT_LIVE_PER_SECOND": "0",
        # The seed writes a year of history at once: retention would purge most of its events
        # and hosted links in the first minutes, writing while the benchmark reads.
        "EVENT_RETENTION_DAYS": "0",
        "HOSTED_LINK_RETENTION_DAYS": "0",
        "IDEMPOTENCY_RETENTION_HOURS": "0",
    }
    env.pop("PUBLIC_BASE_URL", None)
    argv = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)]
    name = "gateway" if workers == 1 else f"gateway ({workers} workers)"
    log = directory / f"gateway-{workers}-{port}.log"
    return started(name, argv, env, port, log, "/healthz", {})


def twin(url: str, key: str, directory: Path) -> AbstractContextManager[Process]:
    port = free_port()
    argv = [sys.executable, "scripts/bench_twin.py", "--database-url", url, "--port", str(port)]
    headers = {"Authorization": f"Bearer {key}"}
    log = directory / f"twin-{port}.log"
    return started("twin", argv, dict(os.environ), port, log, "/sessions?first=1", headers)


def post(base_url: str, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in body:
        raise Failure(f"the gateway answered {response.status_code}: {response.text[:500]}")
    return body["data"]  # type: ignore[no-any-return]


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float | None
    output: str


def wrk(url: str, *, connections: int, seconds: float, script: Path | None = None,
        headers: dict[str, str] | None = None, latency: bool = False) -> WrkResult:  # fmt: skip
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    if latency:
        argv.append("--latency")
    if script is not None:
        argv += ["-s", str(script)]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise Failure(f"wrk gave no Requests/sec:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if bad is not None:
        raise Failure(f"{bad[1]} responses were not 2xx during wrk against {url}:\n{output}")
    errors = re.search(r"Socket errors: .*", output)
    if errors is not None:
        print(f"  (wrk against {url}: {errors[0]})")
    p50 = None
    if latency:
        found = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
        if found is None:
            raise Failure(f"wrk gave no 50% latency:\n{output}")
        p50 = float(found[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found[2]]
    return WrkResult(float(rate[1]), p50, output)


def lua_post(directory: Path, name: str, key: str, body: dict[str, Any]) -> Path:
    """A wrk script that POSTs `body` as JSON with the key (Lua long brackets: no escaping)."""
    text = json.dumps(body)
    assert "]==]" not in text
    path = directory / f"{name}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    )
    return path


# --- measurements ------------------------------------------------------------------------------


def halfway_cursors(gw: Process, tw: Process, key: str, rows: int) -> tuple[str, str, str]:
    """The row half-way down the list: its id, the gateway's cursor and the twin's cursor.

    The gateway's is read off the API itself, paging 100 at a time; the twin's off a twin page
    that ends at that row (its cursor is base64url of the stored `created` and the id)."""
    depth = rows // 2
    edges: list[dict[str, Any]] = []
    after = None
    while len(edges) <= depth:
        page = post(gw.base_url, key, PAGE_OF_100, {"after": after})["verificationSessions"]
        edges += page["edges"]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    response = httpx.get(
        f"{tw.base_url}/sessions",
        params={"first": depth + 1},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    twin_page = response.json()
    session_id = edges[depth]["node"]["id"]
    if twin_page["data"][depth]["id"] != session_id:
        raise Failure(
            f"the gateway and the twin disagree on the row {depth} down: {session_id} against "
            f"{twin_page['data'][depth]['id']}"
        )
    return session_id, edges[depth]["cursor"], twin_page["end_cursor"]


def bench_list(
    run: Run, backend: str, gw: Process, tw: Process, key: str, directory: Path
) -> tuple[str, str]:
    """List-50 throughput, gateway against twin; the half-way row's id and gateway cursor."""
    session_id, cursor, twin_cursor = halfway_cursors(gw, tw, key, run.args.rows)
    body = {"query": LIST, "variables": {"after": cursor}}
    gateway_page = post(gw.base_url, key, LIST, body["variables"])["verificationSessions"]
    twin_page = httpx.get(
        f"{tw.base_url}/sessions",
        params={"first": 50, "after": twin_cursor},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    ).json()
    gateway_ids = [edge["node"]["id"] for edge in gateway_page["edges"]]
    twin_ids = [item["id"] for item in twin_page["data"]]
    if len(gateway_ids) != 50 or gateway_ids != twin_ids:
        raise Failure(f"list-50 differs: gateway {gateway_ids[:3]}… twin {twin_ids[:3]}…")
    auth = {"Authorization": f"Bearer {key}"}
    # SQLite: the twin's hand-written answer to the gateway's own query (the floor), which must
    # be the gateway's bytes.
    floor = backend == "sqlite"
    best = {}
    for size in (50, 1):
        variables = {"after": cursor}
        query = LIST if size == 50 else LIST.replace("first: 50", f"first: {size}")
        servers: dict[str, tuple[str, dict[str, Any]]] = {
            "gateway": (f"{gw.base_url}/graphql", {"script": lua_post(
                directory, f"list-{size}-{backend}", key, {"query": query, "variables": variables}
            )}),
            "twin": (f"{tw.base_url}/sessions?first={size}&after={twin_cursor}", {"headers": auth}),
        }  # fmt: skip
        if floor:
            floor_url = f"{tw.base_url}/floor?first={size}&after={cursor}"
            answered = httpx.post(
                f"{gw.base_url}/graphql",
                json={"query": query, "variables": variables},
                headers=auth,
                timeout=60,
            )
            if httpx.get(floor_url, headers=auth, timeout=60).content != answered.content:
                raise Failure(f"the floor does not answer the gateway's bytes (first: {size})")
            servers["floor"] = (floor_url, {"headers": auth})
        best[size] = throughput(servers, run.args.rounds, run.args.seconds)
    gw.check_alive()
    tw.check_alive()
    g, t = best[50]["gateway"], best[50]["twin"]
    run.add(Figure(backend, "list-50 req/s (8 connections)", f"{g:,.0f}", f"{t:,.0f}",
                   f"{g / t:.3f} gateway/twin"))  # fmt: skip
    if floor:
        f = best[50]["floor"]
        run.add(Figure(backend, "list-50 req/s, the same response by hand", f"{f:,.0f}",
                       f"{t:,.0f}", f"{f / t:.3f} floor/twin, gateway/floor {g / f:.3f}"))  # fmt: skip
    # What a request costs, from the page of 1 and the page of 50: a fixed part and a part per
    # row (microseconds of one worker's time at 8 connections, so HTTP included).
    cost = {
        name: (1e6 / best[1][name], (1e6 / best[50][name] - 1e6 / best[1][name]) / 49)
        for name in best[50]
    }
    shown = {name: f"{one - per_row:.0f} + {per_row:.2f}" for name, (one, per_row) in cost.items()}
    run.add(Figure(backend, "list cost us, per request + per row", shown["gateway"],
                   shown["twin"], f"floor {shown['floor']}" if floor else ""))  # fmt: skip
    if floor:
        # The gateway's own fixed cost with the floor's cost per row: no GraphQL, no rules, no
        # objects per row at all. Below 0.5 here, no per-row work alone can reach the goal.
        fixed = cost["gateway"][0] - cost["gateway"][1]
        bound = 1e6 / (fixed + 50 * cost["floor"][1])
        run.add(Figure(backend, "list-50 req/s, gateway at the floor's cost per row",
                       f"{bound:,.0f}", f"{t:,.0f}", f"{bound / t:.3f} bound/twin"))  # fmt: skip
    return session_id, cursor


def throughput(
    servers: dict[str, tuple[str, dict[str, Any]]], rounds: int, seconds: float
) -> dict[str, float]:
    """The best req/s of each server (`wrk -c8` on its URL with its options) over `rounds`
    rounds, the servers in turn, after a warm-up of each."""
    for url, options in servers.values():
        wrk(url, connections=8, seconds=WARM_UP_SECONDS, **options)
    best = dict.fromkeys(servers, 0.0)
    for _ in range(rounds):
        for name, (url, options) in servers.items():
            result = wrk(url, connections=8, seconds=seconds, **options)
            best[name] = max(best[name], result.requests_per_second)
    return best


def bench_get(run: Run, backend: str, gw: Process, tw: Process, key: str, session_id: str,
              directory: Path) -> None:  # fmt: skip
    """Single-get median latency at one connection, gateway against twin."""
    variables = {"id": session_id}
    read = post(gw.base_url, key, ONE, variables)["verificationSession"]
    twin_read = httpx.get(
        f"{tw.base_url}/sessions/{session_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    ).json()
    if read is None or read["id"] != session_id or twin_read.get("id") != session_id:
        raise Failure(f"single get of {session_id}: gateway {read} twin {twin_read}")
    if read["status"].lower() != twin_read["status"]:
        raise Failure(f"single get of {session_id}: status {read['status']} {twin_read['status']}")
    script = lua_post(directory, f"one-{backend}", key, {"query": ONE, "variables": variables})
    twin_url = f"{tw.base_url}/sessions/{session_id}"
    auth = {"Authorization": f"Bearer {key}"}
    seconds = run.args.seconds
    wrk(f"{gw.base_url}/graphql", connections=1, seconds=WARM_UP_SECONDS, script=script)
    wrk(twin_url, connections=1, seconds=WARM_UP_SECONDS, headers=auth)
    g_ms = t_ms = float("inf")
    for _ in range(run.args.rounds):
        g = wrk(f"{gw.base_url}/graphql", connections=1, seconds=seconds, script=script,
                latency=True)  # fmt: skip
        t = wrk(twin_url, connections=1, seconds=seconds, headers=auth, latency=True)
        assert g.p50_ms is not None and t.p50_ms is not None
        g_ms, t_ms = min(g_ms, g.p50_ms), min(t_ms, t.p50_ms)
    gw.check_alive()
    tw.check_alive()
    run.add(Figure(backend, "get p50 ms (1 connection)", f"{g_ms:.3f}", f"{t_ms:.3f}",
                   f"{g_ms / t_ms:.1f} gateway/twin"))  # fmt: skip


def bench_rss(run: Run, backend: str, gw: Process, key: str, cursor: str) -> None:
    """The gateway's RSS after 1,000 list requests, then after --rss-requests more."""

    async def send(total: int) -> None:
        body = {"query": LIST, "variables": {"after": cursor}}
        headers = {"Authorization": f"Bearer {key}"}
        remaining = iter(range(total))
        async with httpx.AsyncClient(base_url=gw.base_url, headers=headers, timeout=60) as client:

            async def worker() -> None:
                for _ in remaining:
                    response = await client.post("/graphql", json=body)
                    if response.status_code != 200:
                        raise Failure(f"the gateway answered {response.status_code} under load")

            await asyncio.gather(*(worker() for _ in range(8)))

    asyncio.run(send(1000))
    before = gw.rss_kb()
    started_at = time.perf_counter()
    asyncio.run(send(run.args.rss_requests))
    gw.check_alive()
    after = gw.rss_kb()
    print(f"  ({run.args.rss_requests:,} requests in {time.perf_counter() - started_at:.0f}s)")
    run.add(Figure(backend, f"RSS MB after 1,000 / +{run.args.rss_requests:,} requests",
                   f"{before / 1024:.1f} -> {after / 1024:.1f}", "",
                   f"{(after - before) / before * 100:+.1f}% growth"))  # fmt: skip


def bench_statements(run: Run, backend: str, url: str, key: str, cursor: str) -> None:
    """SQL statements per list request through the app's engine, in process."""
    from app.main import create_app
    from app.settings import Settings

    async def go() -> dict[str, int]:
        settings = Settings(
            database_url=url,
            log_level="WARNING",
            rate_limit_live_per_second=0,
            rate_limit_test_per_second=0,
        )
        engine = create_engine(url)
        app = create_app(settings, engine=engine, run_worker=False)
        seen: list[str] = []

        def record(*args: Any) -> None:
            statement: str = args[2]
            if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
                seen.append(statement)

        counts: dict[str, int] = {}
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers
            ) as client:
                cases = [
                    (f"first: {first}, pageInfo", COUNTED, {"first": first, "after": cursor})
                    for first in (10, 50, 100)
                ] + [("first: 50, totalCount", COUNTED_TOTAL, {"after": cursor})]
                for name, query, variables in cases:
                    body = {"query": query, "variables": variables}
                    await client.post("/graphql", json=body)  # warm: caches, pool
                    event.listen(engine.sync_engine, "before_cursor_execute", record)
                    try:
                        response = await client.post("/graphql", json=body)
                    finally:
                        event.remove(engine.sync_engine, "before_cursor_execute", record)
                    if response.status_code != 200 or "errors" in response.json():
                        raise Failure(f"in-process list ({name}) failed: {response.text[:300]}")
                    counts[name] = len(seen)
                    seen.clear()
        finally:
            await engine.dispose()
        return counts

    for name, count in asyncio.run(go()).items():
        run.add(Figure(backend, f"statements per list ({name})", str(count)))


def bench_deep(run: Run, backend: str, directory: Path) -> None:
    """First page against the page --deep-rows - 100 down, in a database of --deep-rows."""
    rows = run.args.deep_rows
    with scratch_database(backend, directory, "deep") as url:
        _, key = prepare(url, rows)
        depth = rows - 100
        created, session_id = row_at(url, depth - 1)
        _, expected = row_at(url, depth)
        cursor = encode_cursor(created, session_id)
        with gateway(url, directory) as gw:
            first = post(gw.base_url, key, LIST, {"after": None})["verificationSessions"]
            deep = post(gw.base_url, key, LIST, {"after": cursor})["verificationSessions"]
            if len(first["edges"]) != 50 or [e["node"]["id"] for e in deep["edges"][:1]] != [
                expected
            ]:
                raise Failure(f"the page {depth:,} deep does not start at {expected}")
            timings: dict[str, list[float]] = {"first": [], "deep": []}
            with httpx.Client(
                base_url=gw.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as client:
                for index in range(DEEP_REPEAT + 20):
                    # Interleaved, so drift (a checkpoint, another process) hits both alike.
                    for name, after in (("first", None), ("deep", cursor)):
                        start = time.perf_counter()
                        response = client.post(
                            "/graphql", json={"query": LIST, "variables": {"after": after}}
                        )
                        elapsed = (time.perf_counter() - start) * 1000
                        if response.status_code != 200:
                            raise Failure(f"the gateway answered {response.status_code}")
                        if index >= 20:  # the first 20 of each warm up
                            timings[name].append(elapsed)
            gw.check_alive()
    first_ms = statistics.median(timings["first"])
    deep_ms = statistics.median(timings["deep"])
    run.add(Figure(backend, f"list-50 median ms, first page / {depth:,} deep ({rows:,} rows)",
                   f"{first_ms:.2f} / {deep_ms:.2f}", "",
                   f"{deep_ms / first_ms:.2f} deep/first"))  # fmt: skip


def bench_backend(run: Run, backend: str, directory: Path) -> None:
    print(f"\n[{backend}]")
    with scratch_database(backend, directory, "bench") as url:
        _, key = prepare(url, run.args.rows)
        with gateway(url, directory) as gw, twin(url, key, directory) as tw:
            session_id, cursor = bench_list(run, backend, gw, tw, key, directory)
            bench_get(run, backend, gw, tw, key, session_id, directory)
            if run.args.rss_requests:
                bench_rss(run, backend, gw, key, cursor)
        bench_statements(run, backend, url, key, cursor)
    if run.args.deep_rows:
        bench_deep(run, backend, directory)


def report(run: Run) -> None:
    headings = ("backend", "figure", "gateway", "twin", "ratio")
    rows = [(f.backend, f.name, f.gateway, f.twin, f.ratio) for f in run.figures]
    widths = [max(len(row[i]) for row in [headings, *rows]) for i in range(len(headings))]
    print()
    for row in [headings, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for failure in run.failures:
        print(f"FAILED: {failure}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000, help="sessions to seed (default 3000)")
    parser.add_argument("--seconds", type=float, default=10, help="each wrk run (default 10)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="wrk runs of each server, alternating; the best of each counts (default 3)",
    )
    parser.add_argument(
        "--deep-rows", type=int, default=0, help="sessions for the deep-page figure (0: skip)"
    )
    parser.add_argument(
        "--rss-requests", type=int, default=0, help="requests for the RSS figure (0: skip)"
    )
    args = parser.parse_args()
    if args.rows < 200 or (args.deep_rows and args.deep_rows < 200):
        parser.error("--rows and --deep-rows need at least 200 sessions for a page of 50 deep")
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed (Debian: apt-get install wrk); it drives the load",
            file=sys.stderr,
        )
        return 2
    backends = ["sqlite"] + (["postgres"] if os.environ.get("BENCH_DATABASE_URL") else [])
    run = Run(args=args)
    print(
        f"{args.rows:,} sessions, wrk {args.seconds:g}s per figure; backends: {', '.join(backends)}"
    )
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as directory:
        for backend in backends:
            try:
                bench_backend(run, backend, Path(directory))
            except Failure as failure:
                run.failures.append(f"[{backend}] {failure}")
                print(f"  FAILED: {failure}")
    report(run)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
