"""Reads hold no transaction past their statements: on Postgres the reader's connections sit
idle (never "idle in transaction") between requests, and on SQLite no read snapshot is left
open, so a checkpoint can truncate the whole write-ahead log."""

from __future__ import annotations

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
    # when / then
    if database.url.startswith("sqlite"):
        busy, _, _ = database.execute("PRAGMA wal_checkpoint(TRUNCATE)")[0]
        assert busy == 0
    else:
        open_transactions = database.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%'"
        )[0][0]
        assert open_transactions == 0
