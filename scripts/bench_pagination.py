"""Benchmark: with keyset pagination a deep page costs what the first page costs; with OFFSET
it grows with the depth.

Fills a scratch database with --rows sessions (200k by default) of one account and, for several
depths, times the page that starts that deep in the newest-first list:

    keyset query   the store's page query (`page_statement`) after a cursor that deep
    OFFSET query   the same query without a cursor, skipping `depth` rows with OFFSET instead
    list_sessions  what the API runs: the page query plus a one-row probe for hasPreviousPage
    HTTP keyset    (--http) the whole GraphQL request against a real server

Each figure is the median of --repeat runs; `deep/first` divides it by the same line's figure
at depth 0. Everything runs in one process, one after the other, so the lines compare.

    .venv/bin/python scripts/bench_pagination.py                 # SQLite only
    .venv/bin/python scripts/bench_pagination.py --http          # also through GraphQL over HTTP
    .venv/bin/python scripts/bench_pagination.py --postgres postgresql://postgres@127.0.0.1:5432/test

Postgres runs in a fresh database created on that server (from --postgres, or DATABASE_URL when
it points at Postgres) and dropped afterwards, so no existing data is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db import create_engine, is_postgres, read_session, write_session
from app.domain import ids
from app.domain.access import Scope
from app.migrations import upgrade
from app.models import VerificationSession
from app.pagination import Cursor, PageRequest, encode_cursor
from app.store.accounts import create_key
from app.store.sessions import SessionFilter, list_sessions, page_statement

SCOPE = Scope(account_id="acct_bench", livemode=False)
PAGE_SIZE = 10

# One INSERT … SELECT per backend: 200k rows in seconds, not minutes. Three rows share each
# `created` second, so the id tie-break is exercised too.
SEED = {
    "sqlite": """
        WITH RECURSIVE serial(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM serial WHERE n < :rows)
        INSERT INTO verification_sessions
            (id, account_id, livemode, created, status, type, metadata, options)
        SELECT 'vs_' || substr('000000000000000000000000' || n, -24), :account, 0,
               strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || (n / 3) || ' seconds')
                   || '.000000',
               'requires_input', 'document', '{}', '{}'
        FROM serial
    """,
    "postgresql": """
        INSERT INTO verification_sessions
            (id, account_id, livemode, created, status, type, metadata, options)
        SELECT 'vs_' || lpad(n::text, 24, '0'), CAST(:account AS varchar), false,
               timestamptz '2026-01-01 00:00:00+00' + (n / 3) * interval '1 second',
               'requires_input', 'document', '{}', '{}'
        FROM generate_series(1, CAST(:rows AS integer)) AS n
    """,
}


async def seed(engine: AsyncEngine, rows: int) -> None:
    async with write_session(engine) as db:
        await create_key(db, account_id=SCOPE.account_id, livemode=False, restricted=False)
    async with engine.begin() as connection:
        await connection.execute(
            text(SEED[engine.dialect.name]), {"rows": rows, "account": SCOPE.account_id}
        )
    async with engine.connect() as connection:
        await connection.exec_driver_sql("ANALYZE")
        await connection.commit()


def newest_first() -> SelectOfScalar[VerificationSession]:
    row = VerificationSession
    return (
        select(row)
        .where(col(row.account_id) == SCOPE.account_id, col(row.livemode).is_(False))
        .order_by(col(row.created).desc(), col(row.id).desc())
    )


async def cursor_at(engine: AsyncEngine, depth: int) -> Cursor | None:
    """The cursor of the row `depth` rows down the list (setup, not timed)."""
    if depth == 0:
        return None
    async with read_session(engine) as db:
        row = (await db.exec(newest_first().offset(depth - 1).limit(1))).one()
    return Cursor(created=row.created, id=row.id)


async def median_ms(repeat: int, call: Callable[[], Awaitable[object]]) -> float:
    await call()  # warm caches and the connection pool
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


async def bench_store(
    engine: AsyncEngine, depths: list[int], repeat: int
) -> list[tuple[str, int, float]]:
    """Per depth: the keyset page query alone, `list_sessions` as the API calls it (the page
    query plus, after a cursor, one indexed EXISTS probe for `hasPreviousPage`), and the same
    page query made to skip `depth` rows with OFFSET instead of seeking."""
    results = []
    for depth in depths:
        page = PageRequest(
            size=PAGE_SIZE, forward=True, after=await cursor_at(engine, depth), before=None
        )
        first = PageRequest(size=PAGE_SIZE, forward=True, after=None, before=None)
        queries = {
            "keyset query": page_statement(scope=SCOPE, filter=SessionFilter(), page=page),
            "OFFSET query": page_statement(scope=SCOPE, filter=SessionFilter(), page=first).offset(
                depth
            ),
        }

        async def fetch(query: SelectOfScalar[VerificationSession]) -> object:
            async with read_session(engine) as db:
                return (await db.exec(query)).all()

        async def store_page(page: PageRequest = page) -> object:
            async with read_session(engine) as db:
                return await list_sessions(db, scope=SCOPE, filter=SessionFilter(), page=page)

        for name, query in queries.items():
            results.append((name, depth, await median_ms(repeat, partial(fetch, query))))
        results.append(("list_sessions", depth, await median_ms(repeat, store_page)))
    return results


LIST = """
query List($after: String) {
  verificationSessions(first: 10, after: $after) { nodes { id created } pageInfo { hasNextPage } }
}
"""


async def bench_http(
    url: str, engine: AsyncEngine, depths: list[int], repeat: int
) -> list[tuple[str, int, float]]:
    import httpx
    import uvicorn

    from app.main import create_app
    from app.settings import Settings

    async with write_session(engine) as db:
        key = await create_key(db, account_id=SCOPE.account_id, livemode=False, restricted=False)
    settings = Settings(database_url=url, log_level="WARNING")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), port=0, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    results = []
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
        ) as client:
            for depth in depths:
                cursor = await cursor_at(engine, depth)
                after = encode_cursor(cursor.created, cursor.id) if cursor else None

                async def fetch(after: str | None = after) -> object:
                    response = await client.post(
                        "/graphql", json={"query": LIST, "variables": {"after": after}}
                    )
                    body = response.json()
                    assert (
                        "errors" not in body
                        and len(body["data"]["verificationSessions"]["nodes"]) == PAGE_SIZE
                    ), body
                    return body

                results.append(("HTTP keyset", depth, await median_ms(repeat, fetch)))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return results


@asynccontextmanager
async def scratch_postgres(server_url: str) -> AsyncIterator[str]:
    import asyncpg  # type: ignore[import-untyped]

    url = make_url(server_url)
    name = f"bench_{ids.random_base62(10).lower()}"
    admin = await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def report(backend: str, rows: int, results: list[tuple[str, int, float]]) -> None:
    print(f"\n{backend}: {rows:,} sessions in one account, pages of {PAGE_SIZE}, median ms")
    print(f"  {'':<14} {'depth':>8} {'ms':>9} {'deep/first':>11}")
    firsts = {name: ms for name, depth, ms in results if depth == 0}
    for name in firsts:
        for row_name, depth, ms in results:
            if row_name == name:
                print(f"  {name:<14} {depth:>8,} {ms:>9.3f} {ms / firsts[name]:>10.1f}x")
    print(
        "  (list_sessions and HTTP add one indexed one-row query for hasPreviousPage once a\n"
        "   cursor is given: a constant step from depth 0, which does not grow with depth)"
    )


async def run_backend(url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, url)  # upgrade() runs an event loop of its own
    engine = create_engine(url)
    try:
        await seed(engine, args.rows)
        backend = "postgres" if is_postgres(engine) else "sqlite"
        print(f"\n[{backend}] seeded {args.rows:,} rows in {time.perf_counter() - started:.1f}s")
        depths = [
            0,
            *(depth for depth in (1_000, 10_000, 100_000) if depth < args.rows),
            args.rows - PAGE_SIZE,
        ]
        results = await bench_store(engine, depths, args.repeat)
        if args.http:
            results += await bench_http(url, engine, depths, args.repeat)
        report(backend, args.rows, results)
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        await run_backend(f"sqlite+aiosqlite:///{Path(directory) / 'bench.sqlite3'}", args)
    postgres = args.postgres or os.environ.get("DATABASE_URL", "")
    if postgres.startswith("postgresql"):
        async with scratch_postgres(postgres) as url:
            await run_backend(url, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="sessions to create (default 200000)"
    )
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per figure (default 40)")
    parser.add_argument(
        "--http", action="store_true", help="also time pages through GraphQL over HTTP"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="a Postgres server to run a scratch database on"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
