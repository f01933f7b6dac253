"""The list query is a seek on an index, however deep the page: no OFFSET, no sort step.

These tests read the plan the database chooses for the exact SQL the store sends (captured from
the driver with its parameters while `list_sessions` runs), over ~20k rows with fresh statistics.
They assert the plan's shape, never a duration: timings belong in scripts/bench_pagination.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from app.db import Reader, create_engine, is_postgres
from app.domain.access import Scope
from app.migrations import upgrade
from app.models import VerificationSession
from app.pagination import Cursor, PageRequest
from app.store.sessions import (
    Page,
    SessionFilter,
    far_side_statement,
    list_sessions,
    page_statement,
)
from tests.conftest import BACKENDS, fresh_database_url, run

ROWS = 20_000
SCOPE = Scope(account_id="acct_plan", livemode=False)
# The cursor sits this many rows down the account's newest-first list.
DEPTH = 10_000

# One statement per backend, so seeding 20k rows takes well under a second. Rows spread over
# two accounts, both modes, four statuses, 50 references and 100 customers; three rows share
# each `created` value, so the id tie-break matters.
ACCOUNTS = {
    "sqlite": "INSERT INTO accounts (id, is_default, created) VALUES "
    "('acct_plan', 0, '2026-01-01 00:00:00.000000'), "
    "('acct_other', 0, '2026-01-01 00:00:00.000000')",
    "postgres": "INSERT INTO accounts (id, is_default, created) VALUES "
    "('acct_plan', false, now()), ('acct_other', false, now())",
}
SEED = {
    "sqlite": f"""
        WITH RECURSIVE serial(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM serial WHERE n < {ROWS})
        INSERT INTO verification_sessions (
            id, account_id, livemode, created, status, type,
            client_reference_id, related_customer, metadata, options
        )
        SELECT
            'vs_' || substr('000000000000000000000000' || n, -24),
            CASE WHEN n % 10 = 0 THEN 'acct_other' ELSE 'acct_plan' END,
            n % 7 = 0,
            strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || (n / 3) || ' seconds')
                || '.000000',
            CASE n % 4 WHEN 0 THEN 'requires_input' WHEN 1 THEN 'processing'
                WHEN 2 THEN 'verified' ELSE 'canceled' END,
            'document', 'ref-' || (n % 50), 'cus_' || (n % 100), '{{}}', '{{}}'
        FROM serial
    """,
    "postgres": f"""
        INSERT INTO verification_sessions (
            id, account_id, livemode, created, status, type,
            client_reference_id, related_customer, metadata, options
        )
        SELECT
            'vs_' || lpad(n::text, 24, '0'),
            CASE WHEN n % 10 = 0 THEN 'acct_other' ELSE 'acct_plan' END,
            n % 7 = 0,
            timestamptz '2026-01-01 00:00:00+00' + (n / 3) * interval '1 second',
            (ARRAY['requires_input', 'processing', 'verified', 'canceled'])[n % 4 + 1],
            'document', 'ref-' || (n % 50), 'cus_' || (n % 100), '{{}}', '{{}}'
        FROM generate_series(1, {ROWS}) AS n
    """,
}

# Each filter and the index that serves it: the filtered column, then (created, id).
FILTERS = {
    "unfiltered": (SessionFilter(), "ix_sessions_scope_created", ""),
    "status": (SessionFilter(status="verified"), "ix_sessions_scope_status", "status=? AND "),
    "client reference": (
        SessionFilter(client_reference_id="ref-3"),
        "ix_sessions_scope_client_reference",
        "client_reference_id=? AND ",
    ),
    "customer": (
        SessionFilter(related_customer="cus_3"),
        "ix_sessions_scope_customer",
        "related_customer=? AND ",
    ),
}


@dataclass(frozen=True)
class Seeded:
    backend: str
    url: str
    cursor: Cursor


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    backend: str = request.param
    with fresh_database_url(backend, tmp_path_factory.mktemp("plan") / "plan.sqlite3") as url:
        yield _seed(backend, url)


def _seed(backend: str, url: str) -> Seeded:
    upgrade(url)

    async def go() -> Cursor:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(ACCOUNTS[backend]))
                await connection.execute(text(SEED[backend]))
            # Fresh statistics, as autovacuum would have gathered on a real table.
            async with engine.connect() as connection:
                await connection.exec_driver_sql("ANALYZE")
                await connection.commit()
            # Setup only (the code under test never uses OFFSET): the row DEPTH rows down the
            # list becomes the cursor of a deep page.
            row = VerificationSession
            deep_row = (
                select(col(row.created), col(row.id))
                .where(col(row.account_id) == SCOPE.account_id, col(row.livemode) == SCOPE.livemode)
                .order_by(col(row.created).desc(), col(row.id).desc())
                .offset(DEPTH)
                .limit(1)
            )
            async with engine.connect() as connection:
                created, session_id = (await connection.execute(deep_row)).one()
            return Cursor(created=created, id=session_id)
        finally:
            await engine.dispose()

    return Seeded(backend=backend, url=url, cursor=run(go()))


def deep_page(seeded: Seeded, direction: str) -> PageRequest:
    forward = direction == "forward"
    return PageRequest(
        size=10,
        forward=forward,
        after=seeded.cursor if forward else None,
        before=None if forward else seeded.cursor,
    )


@dataclass(frozen=True)
class Explained:
    """A statement `list_sessions` sent, exactly as the driver received it, and its plan:
    SQLite's EXPLAIN QUERY PLAN details, or Postgres's plan nodes flattened depth-first."""

    sql: str
    parameters: Any
    plan: list[Any]


@dataclass(frozen=True)
class Listing:
    page_query: Explained
    far_side_query: Explained | None
    result: Page


async def _capture(
    engine: AsyncEngine, filter: SessionFilter, page: PageRequest
) -> tuple[list[tuple[str, Any]], Page]:
    executed: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        executed.append((sql, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        reader = Reader(engine)
        try:
            result = await list_sessions(reader, scope=SCOPE, filter=filter, page=page)
        finally:
            await reader.close()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return executed, result


async def _explain(engine: AsyncEngine, sql: str, parameters: Any) -> list[Any]:
    explain = "EXPLAIN (FORMAT JSON) " if is_postgres(engine) else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(explain + sql, parameters)).all()
    if is_postgres(engine):
        document = rows[0][0]
        plan = json.loads(document) if isinstance(document, str) else document
        return _plan_nodes(plan[0]["Plan"])
    return [row[-1].replace("SEARCH TABLE ", "SEARCH ") for row in rows]


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(child for sub in node.get("Plans", []) for child in _plan_nodes(sub))]


def seeks(index_condition: str, comparison: str) -> bool:
    """Whether a Postgres index condition seeks on the (created, id) key: it is an index
    condition (where the scan starts), not a filter applied to every row read."""
    key = r"ROW\(created, (\(id\)::text|id)\)"
    return re.search(rf"\({key} {re.escape(comparison)} ROW\(", index_condition) is not None


def list_and_explain(seeded: Seeded, filter: SessionFilter, page: PageRequest) -> Listing:
    """Run `list_sessions`, check that it sent exactly the store's page query (and the far-side
    probe after a cursor), and EXPLAIN those very statements with their parameters."""

    async def go() -> Listing:
        engine = create_engine(seeded.url)
        try:
            executed, result = await _capture(engine, filter, page)
            selects = [(sql, parameters) for sql, parameters in executed if "SELECT" in sql]
            probe = far_side_statement(filter=filter, page=page)
            expected = [
                str(statement.compile(dialect=engine.dialect))
                for statement in (page_statement(filter=filter, page=page), probe)
                if statement is not None
            ]
            assert [sql for sql, _ in selects] == expected
            explained = [
                Explained(
                    sql=sql, parameters=parameters, plan=await _explain(engine, sql, parameters)
                )
                for sql, parameters in selects
            ]
            return Listing(
                page_query=explained[0],
                far_side_query=explained[1] if probe is not None else None,
                result=result,
            )
        finally:
            await engine.dispose()

    return run(go())  # type: ignore[no-any-return]


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("filter_name", FILTERS.keys())
def test_a_deep_page_is_a_seek_on_the_scope_index_without_sort_or_offset(
    seeded: Seeded, filter_name: str, direction: str
) -> None:
    # given
    filter, index, filtered_column = FILTERS[filter_name]
    page = deep_page(seeded, direction)
    # when
    listing = list_and_explain(seeded, filter, page)
    # then the page is full and starts right at the cursor
    rows = listing.result.rows
    assert len(rows) == 10
    boundary = rows[0] if page.forward else rows[-1]
    key = (boundary.created, boundary.id)
    cursor = (seeded.cursor.created, seeded.cursor.id)
    assert key < cursor if page.forward else key > cursor
    # and the database seeks the index in the list's order
    query, plan = listing.page_query, listing.page_query.plan
    comparison = "<" if page.forward else ">"
    if seeded.backend == "sqlite":
        assert plan == [
            f"SEARCH verification_sessions USING INDEX {index} "
            f"(account_id=? AND livemode=? AND {filtered_column}(created,id){comparison}(?,?))"
        ]
        # SQLAlchemy's SQLite dialect always renders an OFFSET clause; it must stay 0.
        assert query.sql.endswith("LIMIT ? OFFSET ?")
        assert tuple(query.parameters)[-2:] == (11, 0)
    else:
        assert [node["Node Type"] for node in plan] == ["Limit", "Index Scan"]
        scan = plan[1]
        assert scan["Index Name"] == index
        assert scan["Scan Direction"] == ("Backward" if page.forward else "Forward")
        assert seeks(scan["Index Cond"], comparison)
        assert "Filter" not in scan
        assert "OFFSET" not in query.sql.upper()


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("filter_name", FILTERS.keys())
def test_the_far_side_probe_of_a_deep_page_reads_one_index_entry(
    seeded: Seeded, filter_name: str, direction: str
) -> None:
    # given
    filter, index, filtered_column = FILTERS[filter_name]
    page = deep_page(seeded, direction)
    # when
    listing = list_and_explain(seeded, filter, page)
    # then: the cursor's own row is on the far side, so the probe finds it
    assert listing.result.has_previous_page if page.forward else listing.result.has_next_page
    assert listing.far_side_query is not None
    query, plan = listing.far_side_query, listing.far_side_query.plan
    if seeded.backend == "sqlite":
        # SQLite prints `>=` and `<=` seeks as `>` and `<`.
        comparison = ">" if page.forward else "<"
        assert plan == [
            f"SEARCH verification_sessions USING COVERING INDEX {index} "
            f"(account_id=? AND livemode=? AND {filtered_column}(created,id){comparison}(?,?))"
        ]
    else:
        comparison = ">=" if page.forward else "<="
        assert [node["Node Type"] for node in plan] in (
            ["Limit", "Index Only Scan"],
            ["Limit", "Index Scan"],
        )
        scan = plan[1]
        assert scan["Index Name"] == index
        assert scan["Scan Direction"] == ("Forward" if page.forward else "Backward")
        assert seeks(scan["Index Cond"], comparison)
        assert "Filter" not in scan
        assert "OFFSET" not in query.sql.upper()


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_a_status_page_within_a_created_range_still_reads_the_index_in_order(
    seeded: Seeded, direction: str
) -> None:
    # given
    filter = SessionFilter(
        status="verified",
        created_gte=datetime.fromisoformat("2026-01-01T00:10:00+00:00"),
        created_lte=datetime.fromisoformat("2026-01-01T01:40:00+00:00"),
    )
    # when
    listing = list_and_explain(seeded, filter, deep_page(seeded, direction))
    # then
    assert len(listing.result.rows) == 10
    for query in (listing.page_query, listing.far_side_query):
        assert query is not None
        if seeded.backend == "sqlite":
            assert len(query.plan) == 1
            assert query.plan[0].startswith("SEARCH verification_sessions USING ")
            assert (
                " INDEX ix_sessions_scope_status (account_id=? AND livemode=? AND status=? AND "
                in query.plan[0]
            )
        else:
            assert [node["Node Type"] for node in query.plan] in (
                ["Limit", "Index Only Scan"],
                ["Limit", "Index Scan"],
            )
            assert query.plan[1]["Index Name"] == "ix_sessions_scope_status"
            assert "OFFSET" not in query.sql.upper()
