"""Listing objects with a related object costs a constant number of SQL statements, however many
rows the page holds: related sessions and reports are batched (DataLoader), never fetched per row.

The statements are counted on the server's own engine while the request runs. The server's
background worker shares that engine, so each statement is attributed to the request whose
`Request-Id` was current when it ran, and only the counted request's statements are compared.
Transaction control (the `BEGIN` SQLite's engine issues itself, see app/db.py; Postgres's driver
begins outside the cursor) is left out, so both backends count the same queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from app.logs import request_id
from tests.conftest import Api, Server, client_of
from tests.helpers import CREATE_CREDENTIALS, simulate

SESSION_COUNT = 100
MAX_STATEMENTS = 5
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

SESSIONS_WITH_LAST_REPORT = """
query SessionsWithLastReport($first: Int) {
  verificationSessions(first: $first) {
    nodes { id lastVerificationReport { id document { status } } }
  }
}
"""

REPORTS_WITH_SESSION = """
query ReportsWithSession($first: Int) {
  verificationReports(first: $first) {
    nodes { id verificationSession { id } }
  }
}
"""

EVENTS_WITH_SESSION = """
query EventsWithSession($first: Int) {
  events(first: $first) {
    nodes { id verificationSession { id } }
  }
}
"""


@pytest.fixture(scope="module")
def verified_api(server: Server) -> Iterator[Api]:
    """An account with SESSION_COUNT verified sessions, each with one report and three events."""
    with client_of(server) as api:
        for _ in range(SESSION_COUNT):
            created = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})[
                "createVerificationSession"
            ]
            assert created["userErrors"] == [], created["userErrors"]
            simulate(api, created["verificationSession"]["id"], "VERIFIED")
        yield api


@contextmanager
def statements_by_request(server: Server) -> Iterator[dict[str, list[str]]]:
    """Every SQL statement the server runs inside the block, grouped by Request-Id."""
    seen: dict[str, list[str]] = defaultdict(list)

    def record(*args: Any) -> None:
        statement: str = args[2]
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen[request_id.get()].append(statement)

    engine = server.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def counted(api: Api, document: str, first: int) -> tuple[dict[str, Any], list[str]]:
    """The data of one request and the statements the server ran for it."""
    with statements_by_request(api.server) as seen:
        response = api.post(document, {"first": first})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"], seen[response.headers["request-id"]]


def reading(statements: list[str], table: str) -> int:
    """How many of the statements read `table`."""
    return sum(f"FROM {table}" in statement for statement in statements)


def test_listing_sessions_with_their_last_report_costs_constant_statements(
    verified_api: Api,
) -> None:
    # when
    small, small_statements = counted(verified_api, SESSIONS_WITH_LAST_REPORT, 10)
    large, large_statements = counted(verified_api, SESSIONS_WITH_LAST_REPORT, SESSION_COUNT)
    # then
    assert len(small["verificationSessions"]["nodes"]) == 10
    nodes = large["verificationSessions"]["nodes"]
    assert len(nodes) == SESSION_COUNT
    assert len({node["lastVerificationReport"]["id"] for node in nodes}) == SESSION_COUNT
    assert all(
        node["lastVerificationReport"]["document"] == {"status": "VERIFIED"} for node in nodes
    )
    assert len(large_statements) == len(small_statements), large_statements
    assert 0 < len(large_statements) <= MAX_STATEMENTS, large_statements
    assert reading(large_statements, "verification_reports") == 1, large_statements


def test_listing_reports_with_their_session_costs_constant_statements(
    verified_api: Api,
) -> None:
    # when
    small, small_statements = counted(verified_api, REPORTS_WITH_SESSION, 10)
    large, large_statements = counted(verified_api, REPORTS_WITH_SESSION, SESSION_COUNT)
    # then
    assert len(small["verificationReports"]["nodes"]) == 10
    nodes = large["verificationReports"]["nodes"]
    assert len(nodes) == SESSION_COUNT
    assert len({node["verificationSession"]["id"] for node in nodes}) == SESSION_COUNT
    assert len(large_statements) == len(small_statements), large_statements
    assert 0 < len(large_statements) <= MAX_STATEMENTS, large_statements
    assert reading(large_statements, "verification_sessions") == 1, large_statements


def test_listing_events_with_their_session_costs_constant_statements(
    verified_api: Api,
) -> None:
    # when
    small, small_statements = counted(verified_api, EVENTS_WITH_SESSION, 10)
    large, large_statements = counted(verified_api, EVENTS_WITH_SESSION, SESSION_COUNT)
    # then
    assert len(small["events"]["nodes"]) == 10
    nodes = large["events"]["nodes"]
    assert len(nodes) == SESSION_COUNT
    # The newest 100 of 300 events belong to the newest 34 sessions (three events each).
    assert len({node["verificationSession"]["id"] for node in nodes}) == 34
    assert len(large_statements) == len(small_statements), large_statements
    assert 0 < len(large_statements) <= MAX_STATEMENTS, large_statements
    assert reading(large_statements, "verification_sessions") == 1, large_statements


PAGE = """
query Page($first: Int, $after: String) {
  verificationSessions(first: $first, after: $after) {
    edges { cursor node { id object status type created livemode clientReferenceId metadata } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

PAGE_WITH_TOTAL = """
query PageWithTotal($first: Int, $after: String) {
  verificationSessions(first: $first, after: $after) {
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage }
    totalCount
  }
}
"""


def page_statements(api: Api, document: str, first: int, after: str | None) -> list[str]:
    with statements_by_request(api.server) as seen:
        response = api.post(document, {"first": first, "after": after})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["verificationSessions"]["pageInfo"]) >= 2
    return seen[response.headers["request-id"]]


def test_a_page_after_a_cursor_costs_two_statements_whatever_its_size(verified_api: Api) -> None:
    # given a cursor a few rows down the list, and a first request that has met the key
    first = verified_api.gql(PAGE, {"first": 3})["verificationSessions"]
    after = first["pageInfo"]["endCursor"]
    # when
    counts = {size: page_statements(verified_api, PAGE, size, after) for size in (1, 10, 50, 97)}
    # then: the page and its far-side probe (hasPreviousPage), nothing per row
    for size, statements in counts.items():
        assert len(statements) == 2, (size, statements)
        assert reading(statements, "verification_sessions") == 2, (size, statements)


def test_the_first_page_costs_one_statement(verified_api: Api) -> None:
    verified_api.gql(PAGE, {"first": 1})
    # when
    statements = page_statements(verified_api, PAGE, 50, None)
    # then: no cursor, so nothing to probe beyond it
    assert len(statements) == 1, statements


def test_total_count_adds_one_statement(verified_api: Api) -> None:
    after = verified_api.gql(PAGE, {"first": 3})["verificationSessions"]["pageInfo"]["endCursor"]
    # when
    small = page_statements(verified_api, PAGE_WITH_TOTAL, 5, after)
    large = page_statements(verified_api, PAGE_WITH_TOTAL, 90, after)
    # then
    assert len(small) == len(large) == 3, (small, large)
    assert sum("count(" in statement.lower() for statement in large) == 1, large


FORWARD_WITHOUT_PREVIOUS = """
query Forward($after: String) {
  verificationSessions(first: 5, after: $after) {
    nodes { id } pageInfo { hasNextPage endCursor }
  }
}
"""

BACKWARD = """
query Backward($before: String) {
  verificationSessions(last: 5, before: $before) {
    nodes { id } pageInfo { hasPreviousPage startCursor ...Next }
  }
}
fragment Next on PageInfo { hasNextPage @skip(if: false) }
"""


def statements_of(api: Api, document: str, variables: dict[str, Any]) -> tuple[Any, list[str]]:
    with statements_by_request(api.server) as seen:
        response = api.post(document, variables)
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["verificationSessions"], seen[response.headers["request-id"]]


def test_the_far_side_is_probed_only_when_its_answer_is_selected(verified_api: Api) -> None:
    # given a cursor a few rows down the list
    after = verified_api.gql(PAGE, {"first": 3})["verificationSessions"]["pageInfo"]["endCursor"]
    # when: forward without hasPreviousPage
    forward, unprobed = statements_of(verified_api, FORWARD_WITHOUT_PREVIOUS, {"after": after})
    # then: the page alone
    assert len(unprobed) == 1, unprobed
    assert forward["pageInfo"] == {
        "hasNextPage": True,
        "endCursor": forward["pageInfo"]["endCursor"],
    }
    # when: backward, hasNextPage asked only through a fragment
    backward, probed = statements_of(verified_api, BACKWARD, {"before": after})
    # then: the probe runs, and answers that the cursor's own row lies beyond the page
    assert len(probed) == 2, probed
    assert backward["pageInfo"]["hasNextPage"] is True
    assert backward["pageInfo"]["hasPreviousPage"] is False


@pytest.mark.parametrize("field", ["verificationReports", "events"])
def test_reports_and_events_probe_the_far_side_only_when_asked(
    verified_api: Api, field: str
) -> None:
    # given a cursor a few items down the list
    first = f"query First {{ {field}(first: 3) {{ pageInfo {{ endCursor }} }} }}"
    after = verified_api.gql(first)[field]["pageInfo"]["endCursor"]
    page = "query Page($after: String) {{ {field}(first: 5, after: $after) {{ nodes {{ id }} pageInfo {{ {asked} }} }} }}"
    for asked, statements, answer in (
        ("hasNextPage", 1, {"hasNextPage": True}),
        ("hasNextPage hasPreviousPage", 2, {"hasNextPage": True, "hasPreviousPage": True}),
    ):
        # when
        with statements_by_request(verified_api.server) as seen:
            response = verified_api.post(page.format(field=field, asked=asked), {"after": after})
        body = response.json()
        # then: the probe only with hasPreviousPage, and the right answers either way
        assert "errors" not in body, body["errors"]
        assert body["data"][field]["pageInfo"] == answer
        assert len(seen[response.headers["request-id"]]) == statements, (asked, seen)
