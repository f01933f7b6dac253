"""A process learns of another's changes from a notice, not only at its next poll: with polls an
hour apart, a subscriber on one process still gets the event (and the metadata update) another
process commits, through Postgres's NOTIFY, or through Redis pub/sub between processes over one
SQLite file. The notice carries nothing; the feed reads the tables."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain import ids
from app.migrations import upgrade
from app.settings import Settings
from tests.conftest import Database, fresh_postgres_database, run, running_server
from tests.ws_client import session

POSTGRES = pytest.mark.skipif(
    "TEST_DATABASE_URL" not in os.environ, reason="Postgres notices need TEST_DATABASE_URL"
)
# The Redis CI runs (.ci/run starts one), as the rate-limit tests use it.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

EVENTS = "subscription { events { node { id type } } }"
WATCH = "subscription($id: ID!) { verificationSession(id: $id) { id metadata } }"
CREATE = (
    "mutation { createVerificationSession(input: {type: DOCUMENT}) { verificationSession { id } } }"
)
UPDATE = """
mutation($id: ID!) {
  updateVerificationSession(input: {id: $id, metadata: {order: "1001"}}) {
    verificationSession { id } userErrors { code }
  }
}
"""
# No poll in the test's lifetime after the first: only a notice can bring a change.
SETTINGS = Settings(
    database_url="",
    subscription_poll_seconds=3600,
    rate_limit_live_per_second=0,
    rate_limit_test_per_second=0,
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with fresh_postgres_database(os.environ["TEST_DATABASE_URL"]) as url:
        upgrade(url)
        yield Database(url)


def post(base_url: str, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


@POSTGRES
def test_a_notice_brings_another_process_s_changes_between_polls(database: Database) -> None:
    # given: two processes over one Postgres, polling an hour apart
    settings = dataclasses.replace(SETTINGS, database_url=database.url)
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with (
        running_server(settings, run_worker=False) as watcher,
        running_server(settings, run_worker=False) as writer,
    ):
        made = post(writer.base_url, key, CREATE)["createVerificationSession"]
        session_id = made["verificationSession"]["id"]

        async def scenario() -> tuple[list[Any], list[Any]]:
            async with session(watcher.base_url, key) as client:
                await client.subscribe("events", EVENTS)
                await client.subscribe("watch", WATCH, {"id": session_id})
                first = await client.payloads("watch", 1)  # the session as it is
                await asyncio.sleep(0.5)  # both subscriptions are live
                # when: the other process commits an event and an update that records none
                created = await asyncio.to_thread(post, writer.base_url, key, CREATE)
                await asyncio.to_thread(post, writer.base_url, key, UPDATE, {"id": session_id})
                events = await client.payloads("events", 1)
                updates = await client.payloads("watch", 1)
                new_id = created["createVerificationSession"]["verificationSession"]["id"]
                return [first, updates], [events, new_id]

        (first, updates), (events, new_id) = run(scenario())
    # then
    assert first[0]["data"]["verificationSession"]["metadata"] == {}
    assert updates[0]["data"]["verificationSession"]["metadata"] == {"order": "1001"}
    assert events[0]["data"]["events"]["node"]["id"] is not None
    assert new_id.startswith("vs_")


def test_over_one_sqlite_file_a_redis_notice_brings_the_change_between_polls(
    tmp_path: Path,
) -> None:
    # given: two processes over one SQLite file, sharing a Redis, polling an hour apart
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    upgrade(url)
    database = Database(url)
    settings = dataclasses.replace(
        SETTINGS,
        database_url=url,
        redis_url=REDIS_URL,
        redis_key_prefix=f"test-{ids.random_base62(8)}:",
    )
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with (
        running_server(settings, run_worker=False) as watcher,
        running_server(settings, run_worker=False) as writer,
    ):

        async def scenario() -> list[Any]:
            async with session(watcher.base_url, key) as client:
                await client.subscribe("events", EVENTS)
                await asyncio.sleep(0.5)  # the subscription is live
                # when: the other process commits an event
                await asyncio.to_thread(post, writer.base_url, key, CREATE)
                return await client.payloads("events", 1)

        events = run(scenario())
    # then
    assert events[0]["data"]["events"]["node"]["type"] == "identity.verification_session.created"
