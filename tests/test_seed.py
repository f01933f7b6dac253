"""`python -m app seed`: the counts it prints are what it wrote, and what it wrote is what the
gateway itself would have stored, readable and pageable through the real GraphQL API.

Each backend gets one database seeded once by the command as a user runs it (a subprocess); the
tests then read it through the API served over that database, and through SQL for what the API
does not show (sequences, links).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import cli
from app.settings import Settings
from tests.conftest import BACKENDS, Database, fresh_database_url, running_server
from tests.test_cli import environment

COUNT = 300
SUMMARY = re.compile(
    r"^seeded (?P<sessions>[\d,]+) sessions, (?P<reports>[\d,]+) reports and "
    r"(?P<events>[\d,]+) events into (?P<account>acct_\w+) \((?P<mode>test|live) mode\) "
    r"in [\d.]+s$"
)
PREFIX = "identity.verification_session."

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id object status type created livemode clientReferenceId metadata relatedCustomer
    clientSecret url
    lastError { code reason }
    verifiedOutputs { firstName lastName }
    lastVerificationReport { id verificationSession { id } document { status } idNumber { status } }
  }
}
"""

PAGE = """
query Page($after: String) {
  verificationSessions(first: 100, after: $after) {
    edges { cursor node { id created status } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""

EVENTS = """
query Events($id: ID!) {
  events(first: 10, filter: {verificationSession: $id}) { nodes { type data } }
}
"""


@dataclass
class Seeded:
    database: Database
    account_id: str
    counts: dict[str, int]


def seed_command(database_url: str, *args: str) -> str:
    """`python -m app seed` run as a user runs it; its one line of output."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "seed", *args],
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def parse_summary(line: str) -> tuple[str, str, dict[str, int]]:
    match = SUMMARY.match(line)
    assert match is not None, line
    counts = {name: int(match[name].replace(",", "")) for name in ("sessions", "reports", "events")}
    return match["account"], match["mode"], counts


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """A fresh database that `python -m app seed --count COUNT` migrated and filled."""
    sqlite_file = tmp_path_factory.mktemp("seed") / "seeded.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
        account_id, mode, counts = parse_summary(seed_command(url, "--count", str(COUNT)))
        assert mode == "test"
        yield Seeded(database=Database(url), account_id=account_id, counts=counts)


@pytest.fixture(scope="module")
def http(seeded: Seeded) -> Iterator[httpx.Client]:
    """A client of the gateway served over the seeded database, with a key of its account."""
    settings = Settings(
        database_url=seeded.database.url,
        log_level="WARNING",
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
    )
    key = seeded.database.create_key(account_id=seeded.account_id)
    with (
        running_server(settings, run_worker=False) as server,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):
        yield client


def gql(http: httpx.Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def sessions_by_status(seeded: Seeded) -> dict[str, list[str]]:
    rows = seeded.database.execute("SELECT status, id FROM verification_sessions ORDER BY id")
    result: dict[str, list[str]] = {}
    for status, session_id in rows:
        result.setdefault(status, []).append(session_id)
    return result


def test_seed_prints_what_it_wrote(seeded: Seeded) -> None:
    # given
    database = seeded.database
    # when
    [(sessions,)] = database.execute("SELECT count(*) FROM verification_sessions")
    [(reports,)] = database.execute("SELECT count(*) FROM verification_reports")
    [(events,)] = database.execute("SELECT count(*) FROM events")
    [(created,)] = database.execute(f"SELECT count(*) FROM events WHERE type = '{PREFIX}created'")
    [(accounts,)] = database.execute("SELECT count(DISTINCT account_id) FROM verification_sessions")
    # then
    assert seeded.counts == {"sessions": COUNT, "reports": reports, "events": events}
    assert sessions == COUNT
    assert created == COUNT
    assert accounts == 1
    assert events > COUNT and reports > 0


def test_seed_spreads_sessions_over_every_status(seeded: Seeded) -> None:
    # when
    statuses = Counter({status: len(ids) for status, ids in sessions_by_status(seeded).items()})
    [(types,)] = seeded.database.execute("SELECT count(DISTINCT type) FROM verification_sessions")
    [(with_metadata,)] = seeded.database.execute(
        "SELECT count(*) FROM verification_sessions WHERE metadata NOT IN ('{}')"
    )
    # then
    assert set(statuses) == {"requires_input", "processing", "verified", "canceled"}
    assert statuses["verified"] > statuses["processing"]
    assert types == 2
    assert 0 < with_metadata < COUNT


def test_seeded_created_values_are_distinct_and_events_ascend_with_their_sequence(
    seeded: Seeded,
) -> None:
    # when
    created = seeded.database.execute("SELECT created FROM verification_sessions")
    events = seeded.database.execute(
        "SELECT created, session_id, type FROM events ORDER BY sequence"
    )
    # then
    assert len({value for (value,) in created}) == COUNT
    moments = [moment for moment, _, _ in events]
    assert moments == sorted(moments)
    first_types: dict[str, str] = {}
    for _, session_id, type in events:
        first_types.setdefault(session_id, type)
    assert set(first_types.values()) == {f"{PREFIX}created"}
    assert len(first_types) == COUNT


def test_seeded_sessions_awaiting_input_have_usable_credentials(seeded: Seeded) -> None:
    # when
    rows = seeded.database.execute(
        "SELECT s.client_secret_expires_at, s.url_expires_at, l.spent_at "
        "FROM verification_sessions s JOIN verification_links l ON l.token = s.url_token "
        "WHERE s.status = 'requires_input'"
    )
    [(without_link,)] = seeded.database.execute(
        "SELECT count(*) FROM verification_sessions "
        "WHERE (status = 'requires_input') != (url_token IS NOT NULL)"
    )
    # then
    assert len(rows) == len(sessions_by_status(seeded)["requires_input"])
    now = datetime.now(UTC)
    for secret_expires, url_expires, spent in rows:
        assert as_utc(secret_expires) > now and as_utc(url_expires) > now
        assert spent is None
    assert without_link == 0


def test_seeded_sessions_read_through_the_api_as_stored(seeded: Seeded, http: httpx.Client) -> None:
    # given
    by_status = sessions_by_status(seeded)
    # when
    read = {
        status: gql(http, SESSION, {"id": ids[0]})["verificationSession"]
        for status, ids in by_status.items()
    }
    again = gql(http, SESSION, {"id": by_status["requires_input"][0]})["verificationSession"]
    # then
    assert {status: session["status"] for status, session in read.items()} == {
        status: status.upper() for status in by_status
    }
    for session in read.values():
        assert session["object"] == "identity.verification_session"
        assert session["livemode"] is False
    waiting = read["requires_input"]
    assert waiting["clientSecret"].startswith(f"{waiting['id']}_secret_")
    # A fresh secret is shown as stored, not reissued on read.
    assert again["clientSecret"] == waiting["clientSecret"]
    assert again["url"] == waiting["url"]
    verified = read["verified"]
    assert verified["lastError"] is None
    assert verified["verifiedOutputs"]["firstName"]
    report = verified["lastVerificationReport"]
    assert report["verificationSession"] == {"id": verified["id"]}
    checks = [report[check] for check in ("document", "idNumber") if report[check] is not None]
    assert checks and all(check == {"status": "VERIFIED"} for check in checks)
    assert read["canceled"]["clientSecret"] is None


def test_seeded_event_payloads_follow_each_session(seeded: Seeded, http: httpx.Client) -> None:
    # given
    session_id = sessions_by_status(seeded)["verified"][0]
    # when
    nodes = gql(http, EVENTS, {"id": session_id})["events"]["nodes"][::-1]
    # then
    assert [node["type"].removeprefix(PREFIX) for node in nodes] == [
        "created",
        "processing",
        "verified",
    ]
    assert [node["data"]["object"]["status"] for node in nodes] == [
        "requires_input",
        "processing",
        "verified",
    ]
    assert nodes[0]["data"]["previous_attributes"] == {}
    assert nodes[2]["data"]["previous_attributes"]["status"] == "processing"
    assert all("client_secret" not in node["data"]["object"] for node in nodes)


def test_list_pagination_walks_every_seeded_session_newest_first(
    seeded: Seeded, http: httpx.Client
) -> None:
    # given
    expected = [
        session_id
        for (session_id,) in seeded.database.execute(
            "SELECT id FROM verification_sessions ORDER BY created DESC, id DESC"
        )
    ]
    # when
    seen: list[str] = []
    created: list[datetime] = []
    after = None
    pages = 0
    while True:
        connection = gql(http, PAGE, {"after": after})["verificationSessions"]
        pages += 1
        assert connection["totalCount"] == COUNT
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        created += [datetime.fromisoformat(edge["node"]["created"]) for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]
    # then
    assert seen == expected
    assert pages == COUNT // 100
    assert created == sorted(created, reverse=True)


def test_seed_writes_into_the_given_account_and_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    # when
    code = cli.main(["seed", "--count", "20", "--account", "acct_seeded", "--mode", "live"])
    # then
    assert code == 0
    account_id, mode, counts = parse_summary(capsys.readouterr().out.strip())
    assert (account_id, mode, counts["sessions"]) == ("acct_seeded", "live", 20)
    rows = Database(url).execute(
        "SELECT account_id, livemode, count(*) FROM verification_sessions "
        "GROUP BY account_id, livemode"
    )
    assert [(account, bool(livemode), total) for account, livemode, total in rows] == [
        ("acct_seeded", True, 20)
    ]


def test_seed_refuses_a_count_below_one(tmp_path: Path) -> None:
    # when
    result = subprocess.run(
        [sys.executable, "-m", "app", "seed", "--count", "0"],
        env=environment(f"sqlite+aiosqlite:///{tmp_path / 'none.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert result.returncode == 2
    assert "--count must be a whole number from 1, got '0'" in result.stderr


def as_utc(value: Any) -> datetime:
    """A timestamp as SQL returns it (SQLite: naive ISO text in UTC; Postgres: aware)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
