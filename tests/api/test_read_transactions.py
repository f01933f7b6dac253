"""Reads hold no transaction past their statements: on Postgres the reader's connections sit
idle (never "idle in transaction") between requests, and on SQLite no read snapshot is left
open, so a checkpoint can truncate the whole write-ahead log."""

from __future__ import annotations

import time

from tests.conftest import Api
from tests.helpers import CREATE_CREDENTIALS

PAGE = """
query Page($after: String) {
  verificationSessions(first: 2, after: $after) {
    nodes { id status } pageInfo { hasPreviousPage endCursor }
  }
  node(id: "vs_000000000000000000000000") { id }
}
"""


def test_reads_leave_no_transaction_open(api: Api) -> None:
    # given: sessions, and pages read after a cursor (the page and its probe: two statements)
    for _ in range(3):
        api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})
    after = None
    for _ in range(3):
        after = api.gql(PAGE, {"after": after})["verificationSessions"]["pageInfo"]["endCursor"]
    database = api.server.database

    def transactions_open() -> int:
        if database.url.startswith("sqlite"):
            busy, _, _ = database.execute("PRAGMA wal_checkpoint(TRUNCATE)")[0]
            return int(busy)
        return int(
            database.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"
            )[0][0]
        )

    # when / then: none left open. The shared server's worker may be finishing another test's
    # job in a write transaction at this very moment; that one ends within moments, while a
    # transaction a read left open would stay, so the check is asked until it holds.
    deadline = time.monotonic() + 5
    while (still_open := transactions_open()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert still_open == 0
