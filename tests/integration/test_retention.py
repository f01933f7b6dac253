"""Retention purges, on SQLite and Postgres: rows past their window go and younger ones stay, in
bounded batches; an event whose webhook attempt is still due or in flight stays; the API answers
for what was purged as documented (404, not listed, a `since` cursor refused); and the worker of
a real server purges by itself, from its start."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.sql import Update
from sqlmodel import col

from app.db import Reader, create_engine
from app.domain.retention import Retention
from app.migrations import upgrade
from app.models import Event, IdempotencyKey, VerificationLink, WebhookDelivery, utcnow
from app.services import Database as Services
from app.services import retention as purges
from app.services.retention import Purged
from app.settings import Settings
from app.web.idempotency import CLAIM_LEASE
from app.worker import Worker
from tests.conftest import (
    BACKENDS,
    Api,
    Database,
    client_of,
    fresh_database_url,
    run,
    running_server,
)
from tests.helpers import token_of, wait_for
from tests.ws_client import session as ws_session

SETTINGS = Settings(
    database_url="",
    worker_poll_seconds=0.05,
    subscription_poll_seconds=0.05,
    rate_limit_live_per_second=0,
    rate_limit_test_per_second=0,
)

CREATE = """
mutation Create {
  createVerificationSession(input: {type: DOCUMENT}) {
    verificationSession { id url }
    userErrors { code }
  }
}
"""
CREATE_WITH_METADATA = """
mutation Create($order: String!) {
  createVerificationSession(input: {type: DOCUMENT, metadata: {order: $order}}) {
    verificationSession { id }
    userErrors { code }
  }
}
"""
EVENTS = """
query Events { events(first: 100) { edges { cursor node { id verificationSession { id } } } } }
"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
EVENTS_SUBSCRIPTION = """
subscription Events($since: String) {
  events(since: $since) { cursor node { id verificationSession { id } } }
}
"""


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of its own: no other test's worker purges from it."""
    with fresh_database_url(request.param, tmp_path / "gateway.sqlite3") as url:
        upgrade(url)
        yield Database(url)


@contextmanager
def quiet_api(database: Database, **settings: Any) -> Iterator[Api]:
    """A server without a worker (nothing is purged or delivered behind the test's back) and a
    client of a new account on it."""
    with (
        running_server(
            dataclasses.replace(SETTINGS, database_url=database.url, **settings),
            run_worker=False,
        ) as server,
        client_of(server) as api,
    ):
        yield api


def create(api: Api) -> dict[str, Any]:
    """A new session (`id`, `url`) and its `event` (the `created` event's id and cursor)."""
    session: dict[str, Any] = api.gql(CREATE)["createVerificationSession"]["verificationSession"]
    (edge,) = [
        edge
        for edge in api.gql(EVENTS)["events"]["edges"]
        if edge["node"]["verificationSession"]["id"] == session["id"]
    ]
    return {**session, "event": edge["node"]["id"], "cursor": edge["cursor"]}


def keyed_create(api: Api, key: str, order: str) -> Any:
    return api.http.post(
        "/graphql",
        json={"query": CREATE_WITH_METADATA, "variables": {"order": order}},
        headers={"Authorization": f"Bearer {api.key}", "Idempotency-Key": key},
    )


def execute(database: Database, *statements: Update) -> None:
    """Run SQLAlchemy statements in one transaction: the app's column types store timestamps
    the same way on both backends."""

    async def go() -> None:
        engine = create_engine(database.url)
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(statement)
        finally:
            await engine.dispose()

    run(go())


async def read_all(database: Database, statement: Select[Any]) -> list[Any]:
    """Rows of a SQLAlchemy select, timestamps read back as aware datetimes on both backends."""
    engine = create_engine(database.url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(statement)).all())
    finally:
        await engine.dispose()


def backdate_events(database: Database, event_ids: list[str], created: datetime) -> None:
    execute(database, update(Event).where(col(Event.id).in_(event_ids)).values(created=created))


DEFAULTS = Retention()


def purge(database: Database, retention: Retention = DEFAULTS, batch: int = 500) -> Purged:
    async def go() -> Purged:
        engine = create_engine(database.url)
        reader = Reader(engine)
        try:
            return await purges.purge_some(
                Services(engine, reader), retention=retention, claim_lease=CLAIM_LEASE, batch=batch
            )
        finally:
            await reader.close()
            await engine.dispose()

    result: Purged = run(go())
    return result


def column(database: Database, sql: str) -> list[Any]:
    return sorted(row[0] for row in database.execute(sql))


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def test_rows_past_their_window_are_purged_and_younger_ones_kept(database: Database) -> None:
    # given: four keyed creates (four sessions, events, links and idempotency records)
    with quiet_api(database) as api:
        for index in range(4):
            assert keyed_create(api, f"key-{index}", str(index)).status_code == 200
        sessions = [create(api) for _ in range(4)]
    a, b, c, d = sessions
    now = utcnow()
    backdate_events(database, [a["event"], b["event"]], days_ago(30.1))
    backdate_events(database, [c["event"], d["event"]], days_ago(29.9))
    link = col(VerificationLink.session_id)
    record = col(IdempotencyKey.key)
    execute(
        database,
        # a: expired 8 days ago; b: spent 8 days ago; c: expired 6 days ago; d: live
        update(VerificationLink).where(link == a["id"]).values(expires_at=days_ago(8)),
        update(VerificationLink).where(link == b["id"]).values(spent_at=days_ago(8)),
        update(VerificationLink).where(link == c["id"]).values(expires_at=days_ago(6)),
        # key-0 and key-1 expired; key-2 expired but claimed a moment ago and still running
        # (its request holds the lease); key-3 live
        update(IdempotencyKey)
        .where(record.in_(["key-0", "key-1"]))
        .values(expires_at=now - timedelta(minutes=1)),
        update(IdempotencyKey)
        .where(record == "key-2")
        .values(expires_at=now - timedelta(minutes=1), created=now, status_code=None, body=None),
    )
    # when
    purged = purge(database)
    # then
    assert purged == Purged(idempotency_keys=2, events=2, hosted_links=2)
    kept_events = column(database, "SELECT id FROM events")
    assert a["event"] not in kept_events and b["event"] not in kept_events
    assert {c["event"], d["event"]} <= set(kept_events)
    kept_links = column(database, "SELECT session_id FROM verification_links")
    assert a["id"] not in kept_links and b["id"] not in kept_links
    assert {c["id"], d["id"]} <= set(kept_links)
    assert column(database, "SELECT key FROM idempotency_keys") == ["key-2", "key-3"]
    # and a second run finds nothing more
    assert purge(database) == Purged()


def test_zero_keeps_every_kind_for_good(database: Database) -> None:
    # given
    with quiet_api(database) as api:
        assert keyed_create(api, "key", "1").status_code == 200
        old = create(api)
    backdate_events(database, column(database, "SELECT id FROM events"), days_ago(3650))
    execute(
        database,
        update(VerificationLink).values(expires_at=days_ago(3650)),
        update(IdempotencyKey).values(expires_at=days_ago(3650)),
    )
    # when
    purged = purge(database, Retention(idempotency_hours=0, event_days=0, hosted_link_days=0))
    # then
    assert purged == Purged()
    assert old["event"] in column(database, "SELECT id FROM events")


def test_purges_run_in_bounded_batches_until_one_comes_back_short(database: Database) -> None:
    # given: seven events past the window
    with quiet_api(database) as api:
        created = [create(api) for _ in range(7)]
    backdate_events(database, [session["event"] for session in created], days_ago(31))
    # Rows each DELETE statement on events removes, as the database reports them.
    deleted: list[int] = []

    async def go() -> list[bool]:
        engine = create_engine(database.url)

        def count(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("DELETE FROM EVENTS"):
                deleted.append(cursor.rowcount)

        sa_event.listen(engine.sync_engine, "after_cursor_execute", count)
        reader = Reader(engine)
        worker = Worker(
            database=Services(engine, reader),
            live_verifier=None,
            poll_seconds=0.05,
            retention=Retention(),
            retention_batch=3,
        )
        try:
            return [await worker.purge_some() for _ in range(3)]
        finally:
            await reader.close()
            await engine.dispose()

    # when
    more = run(go())
    # then: 3, 3, then 1 (short: the worker stops until its next run)
    assert more == [True, True, False]
    assert deleted == [3, 3, 1]
    assert column(database, "SELECT id FROM events") == []


def test_an_event_with_a_due_or_in_flight_delivery_survives(database: Database) -> None:
    # given: an endpoint that wants every event, and four old events each with a delivery
    with quiet_api(database) as api:
        created = api.http.post(
            "/v1/webhook_endpoints",
            data={"url": "https://example.com/hooks", "enabled_events[]": "*"},
            headers={"Authorization": f"Bearer {api.key}"},
        )
        assert created.status_code == 200, created.text
        succeeded, failed, due, in_flight = (create(api)["event"] for _ in range(4))
    backdate_events(database, [succeeded, failed, due, in_flight], days_ago(31))
    delivery = col(WebhookDelivery.event_id)
    now = utcnow()
    execute(
        database,
        update(WebhookDelivery)
        .where(delivery == succeeded)
        .values(next_attempt_at=None, succeeded_at=now, attempts=1, last_status=200),
        update(WebhookDelivery)
        .where(delivery == failed)
        .values(next_attempt_at=None, attempts=4, last_status=500),
        # leased by a worker that is sending it now
        update(WebhookDelivery)
        .where(delivery == in_flight)
        .values(next_attempt_at=now + timedelta(seconds=10), attempts=1),
    )
    # when
    purged = purge(database)
    # then: the finished ones went with their deliveries; the others stay, deliveries and all
    assert purged.events == 2
    assert column(database, "SELECT id FROM events") == sorted([due, in_flight])
    assert column(database, "SELECT event_id FROM webhook_deliveries") == sorted([due, in_flight])


def test_purged_objects_answer_as_documented(database: Database) -> None:
    with quiet_api(database) as api:
        # given: an old event, a link expired 8 days ago, a key expired a minute ago
        old, young = create(api), create(api)
        assert keyed_create(api, "reused", "1").status_code == 200
        backdate_events(database, [old["event"]], days_ago(31))
        execute(
            database,
            update(VerificationLink)
            .where(col(VerificationLink.session_id) == old["id"])
            .values(expires_at=days_ago(8)),
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(minutes=1)),
        )
        hosted = api.http.get(f"/verify/{token_of(old['url'])}")
        assert hosted.status_code == 410  # expired, and still kept
        auth = {"Authorization": f"Bearer {api.key}"}
        # when
        assert purge(database) == Purged(idempotency_keys=1, events=1, hosted_links=1)
        # then: the event is not found and not listed, on both surfaces
        retrieved = api.http.get(f"/v1/events/{old['event']}", headers=auth)
        assert retrieved.status_code == 404
        assert retrieved.json()["error"]["code"] == "resource_missing"
        listed = api.http.get("/v1/events", headers=auth).json()["data"]
        assert old["event"] not in [item["id"] for item in listed]
        assert young["event"] in [item["id"] for item in listed]
        paged = api.http.get(f"/v1/events?starting_after={old['event']}", headers=auth)
        assert paged.status_code == 400
        assert api.gql(NODE, {"id": old["event"]}) == {"node": None}
        assert old["event"] not in [
            edge["node"]["id"] for edge in api.gql(EVENTS)["events"]["edges"]
        ]
        # the purged link never existed, as far as the page can tell
        assert api.http.get(f"/verify/{token_of(old['url'])}").status_code == 404
        assert api.http.get(f"/verify/{token_of(old['url'])}/status").status_code == 404
        # the purged key is free for a new request
        again = keyed_create(api, "reused", "2")
        assert again.status_code == 200
        assert "idempotent-replayed" not in again.headers
        assert again.json()["data"]["createVerificationSession"]["userErrors"] == []


def test_a_since_cursor_past_the_window_is_refused_and_a_younger_one_resumes(
    database: Database,
) -> None:
    with quiet_api(database) as api:
        # given: an event past the window (still kept: not purged yet), one inside it
        old, young = create(api), create(api)
        backdate_events(database, [old["event"]], days_ago(31))

        async def subscribe(since: str) -> dict[str, Any]:
            async with ws_session(api.server.base_url, api.key) as client:
                await client.subscribe("e", EVENTS_SUBSCRIPTION, {"since": since})
                return await client.message("e")

        # when
        before_purge = run(subscribe(old["cursor"]))
        purge(database)
        after_purge = run(subscribe(old["cursor"]))
        # then: refused either way, naming the argument and the setting
        for message in (before_purge, after_purge):
            assert message["type"] == "error", message
            (error,) = message["payload"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "`since`" in error["message"]
            assert "EVENT_RETENTION_DAYS" in error["message"]

        # and a cursor inside the window resumes with the next event
        async def resume() -> dict[str, Any]:
            async with ws_session(api.server.base_url, api.key) as client:
                await client.subscribe("e", EVENTS_SUBSCRIPTION, {"since": young["cursor"]})
                await asyncio.sleep(0.2)
                newest = await asyncio.to_thread(create, api)
                (payload,) = await client.payloads("e", 1)
                assert payload["data"]["events"]["node"]["id"] == newest["event"]
                return payload

        run(resume())


def test_a_since_cursor_of_any_age_resumes_when_events_are_kept_for_good(
    database: Database,
) -> None:
    with quiet_api(database, event_retention_days=0) as api:
        old = create(api)
        backdate_events(database, [old["event"]], days_ago(3650))

        async def resume() -> dict[str, Any]:
            async with ws_session(api.server.base_url, api.key) as client:
                await client.subscribe("e", EVENTS_SUBSCRIPTION, {"since": old["cursor"]})
                await asyncio.sleep(0.2)
                newest = await asyncio.to_thread(create, api)
                (payload,) = await client.payloads("e", 1)
                assert payload["data"]["events"]["node"]["id"] == newest["event"]
                return payload

        run(resume())


def test_the_worker_of_a_running_server_purges_from_its_start(database: Database) -> None:
    # given: old rows written before the server starts
    with quiet_api(database) as api:
        assert keyed_create(api, "old-key", "1").status_code == 200
        old = create(api)
    backdate_events(database, [old["event"]], days_ago(31))
    execute(
        database,
        update(VerificationLink)
        .where(col(VerificationLink.session_id) == old["id"])
        .values(spent_at=days_ago(8)),
        update(IdempotencyKey).values(expires_at=utcnow() - timedelta(minutes=1)),
    )
    young_events = [id for id in column(database, "SELECT id FROM events") if id != old["event"]]
    young_links = [
        id
        for id in column(database, "SELECT session_id FROM verification_links")
        if id != old["id"]
    ]
    assert young_events and young_links
    # when: a server with its worker starts
    with running_server(dataclasses.replace(SETTINGS, database_url=database.url)):
        # then
        wait_for(
            lambda: (
                column(database, "SELECT id FROM events"),
                column(database, "SELECT session_id FROM verification_links"),
                column(database, "SELECT key FROM idempotency_keys"),
            ),
            lambda kept: kept == (young_events, young_links, []),
            what="the old event, link and key purged",
        )


def test_a_key_is_remembered_for_idempotency_retention_hours(database: Database) -> None:
    with quiet_api(database, idempotency_retention_hours=1) as api:
        # given
        assert keyed_create(api, "short-lived", "1").status_code == 200
        # when: the same key for another request
        reused = keyed_create(api, "short-lived", "2")
    # then: refused, with the configured window; the record expires an hour after its claim
    assert reused.status_code == 400
    (error,) = reused.json()["errors"]
    assert error["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "within the last hour;" in error["message"]
    ((created, expires_at),) = run(
        read_all(database, select(IdempotencyKey.created, IdempotencyKey.expires_at))
    )
    assert expires_at - created == timedelta(hours=1)


def test_two_processes_purging_at_once_share_the_work(database: Database) -> None:
    # given: old events, keys and links enough for several batches
    with quiet_api(database) as api:
        for index in range(6):
            assert keyed_create(api, f"key-{index}", str(index)).status_code == 200
    backdate_events(database, column(database, "SELECT id FROM events"), days_ago(31))
    execute(
        database,
        update(VerificationLink).values(expires_at=days_ago(8)),
        update(IdempotencyKey).values(expires_at=utcnow() - timedelta(minutes=1)),
    )

    async def one_process() -> list[Purged]:
        engine = create_engine(database.url)
        reader = Reader(engine)
        services = Services(engine, reader)
        done = []
        try:
            while True:
                purged = await purges.purge_some(
                    services, retention=DEFAULTS, claim_lease=CLAIM_LEASE, batch=2
                )
                done.append(purged)
                if not purged.more_after(2):
                    return done
        finally:
            await reader.close()
            await engine.dispose()

    async def both() -> list[list[Purged]]:
        return list(await asyncio.gather(one_process(), one_process()))

    # when
    runs = [purged for process in run(both()) for purged in process]
    # then: no error, every row purged once
    assert sum(purged.events for purged in runs) == 6
    assert sum(purged.idempotency_keys for purged in runs) == 6
    assert sum(purged.hosted_links for purged in runs) == 6
    assert column(database, "SELECT id FROM events") == []
