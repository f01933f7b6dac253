"""How a short read should run on SQLite: the numbers behind `app.db.Reader`'s choice.

The same page of 50 sessions (a keyset seek after a cursor half-way down `--rows` sessions, plus
its far-side probe), read three ways in one process, one after the other:

    ORM (before)        SQLModel session on aiosqlite: select(VerificationSession) hydrated
    aiosqlite hop       the Reader's own statements, run on the app engine (aiosqlite's thread)
    inline (Reader)     the Reader: the same statements on the event loop, no thread hop

Each figure is the median of --repeat reads, in microseconds; the ratio divides by the inline
figure. Run: `.venv/bin/python scripts/bench_reads.py [--rows 3000] [--repeat 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import col, select

from app.db import Query, Reader, create_engine, read_session
from app.domain.access import Scope
from app.migrations import upgrade
from app.models import VerificationSession
from app.pagination import Cursor, PageRequest
from app.store import keyset, reads
from app.store.sessions import SessionFilter, far_side_statement, list_sessions, page_statement

SCOPE = Scope(account_id="acct_bench", livemode=False)

SEED = """
    WITH RECURSIVE serial(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM serial WHERE n < :rows)
    INSERT INTO verification_sessions
        (id, account_id, livemode, created, status, type, metadata, options, client_reference_id)
    SELECT 'vs_' || substr('000000000000000000000000' || n, -24), :account, 0,
           strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || n || ' seconds') || '.000000',
           'requires_input', 'document', '{"order": "' || n || '"}', '{}', 'ref_' || n
    FROM serial
"""


async def median_us(repeat: int, read: Callable[[], Awaitable[object]]) -> float:
    for _ in range(50):
        await read()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        await read()
        timings.append((time.perf_counter() - start) * 1e6)
    return statistics.median(timings)


async def main(rows: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'reads.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO accounts (id, is_default, created) VALUES (:a, 0, '2026-01-01')"),
                {"a": SCOPE.account_id},
            )
            await connection.execute(text(SEED), {"rows": rows, "account": SCOPE.account_id})
        half = rows // 2
        cursor = Cursor(
            created=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=half),
            id=f"vs_{str(half).zfill(24)}",
        )
        page = PageRequest(size=50, forward=True, after=cursor, before=None)
        where = keyset.seek(page)
        values = {**reads.scope_values(SCOPE), **where.values()}
        statements = [page_statement(filter=SessionFilter(), page=page)]
        probe = far_side_statement(filter=SessionFilter(), page=page)
        assert probe is not None
        statements.append(probe)
        reader = Reader(engine)

        async def orm() -> object:
            # What a page cost before the Reader: ORM objects through aiosqlite.
            async with read_session(engine) as db:
                model = VerificationSession
                found = (
                    await db.exec(
                        select(model)
                        .where(
                            col(model.account_id) == SCOPE.account_id,
                            col(model.livemode).is_(False),
                        )
                        .where(col(model.created) < cursor.created)
                        .order_by(col(model.created).desc(), col(model.id).desc())
                        .limit(51)
                    )
                ).all()
                await db.exec(
                    select(col(model.id)).where(col(model.created) >= cursor.created).limit(1)
                )
                return found

        queries = [Query(statement) for statement in statements]

        async def hop() -> object:
            async with engine.connect() as connection:
                out = []
                for query in queries:
                    each = query.compiled(engine.dialect)
                    result = await connection.exec_driver_sql(
                        each.sql, tuple(each.parameters(values))
                    )
                    out.append([each.decode(row) for row in result.all()])
                return out

        async def inline() -> object:
            return await list_sessions(reader, scope=SCOPE, filter=SessionFilter(), page=page)

        figures = {
            "ORM (before)": await median_us(repeat, orm),
            "aiosqlite hop": await median_us(repeat, hop),
            "inline (Reader)": await median_us(repeat, inline),
        }
        await reader.close()
        await engine.dispose()
    base = figures["inline (Reader)"]
    print(f"page of 50 after a cursor half-way down {rows} sessions, median of {repeat}:")
    for name, figure in figures.items():
        print(f"  {name:<16} {figure:8.1f} us   {figure / base:5.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.repeat))
