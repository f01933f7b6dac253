"""Webhook deliveries are durable and at least once, on SQLite and Postgres: a retry survives a
restart of the only gateway process, two processes over one database deliver each event once,
and an attempt that outlived its lease cannot overwrite the claim that replaced it."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import stripe

from app.db import Reader, create_engine, write_session
from app.domain import ids
from app.migrations import upgrade
from app.models import utcnow
from app.services import Database as Services
from app.services import webhooks as services
from app.settings import Settings
from app.store import webhooks as store
from tests.conftest import BACKENDS, Database, fresh_database_url, run, running_server
from tests.helpers import wait_for
from tests.receiver import receiving

SETTINGS = Settings(
    database_url="",
    worker_poll_seconds=0.05,
    rate_limit_live_per_second=0,
    rate_limit_test_per_second=0,
    # Long enough for the first server to stop before its retry is due, even on a slow machine.
    webhook_test_retry_seconds=(6.0,),
    webhook_timeout_seconds=2.0,
)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of its own: no other test's worker delivers from it."""
    with fresh_database_url(request.param, tmp_path / "gateway.sqlite3") as url:
        upgrade(url)
        yield Database(url)


def stripe_client(base_url: str, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": base_url}, max_network_retries=0)


def test_a_retry_is_sent_by_the_next_process_after_a_restart(database: Database) -> None:
    # given: a receiver that fails the first attempt
    settings = dataclasses.replace(SETTINGS, database_url=database.url)
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with receiving() as receiver:
        receiver.answers = [500]
        with running_server(settings) as first:
            client = stripe_client(first.base_url, key)
            secret = client.v1.webhook_endpoints.create(
                params={"url": receiver.url, "enabled_events": ["*"]}
            ).secret
            client.v1.identity.verification_sessions.create(params={"type": "document"})
            failed = receiver.wait_for(1)[0]
            wait_for(
                lambda: database.execute("SELECT last_status FROM webhook_deliveries"),
                lambda rows: rows == [(500,)],
                what="the failed attempt recorded",
            )
        # when: the only process has stopped before the retry is due, and another starts
        assert len(receiver.received) == 1
        with running_server(settings) as second:
            retried = receiver.wait_for(2, timeout=20)[1]
            # The second process records the 2xx just after the receiver answered it.
            events = stripe_client(second.base_url, key).v1.events
            wait_for(
                lambda: events.retrieve(failed.event["id"]).pending_webhooks,
                lambda pending: pending == 0,
                what="the retry recorded as delivered",
            )
        # then
        assert retried.event["id"] == failed.event["id"]
        assert stripe.Webhook.construct_event(retried.body, retried.signature, secret)
        assert len(receiver.quiet_for(1.0)) == 2


def test_two_processes_deliver_each_event_once(database: Database) -> None:
    # given: two gateway processes over one database, both running workers
    settings = dataclasses.replace(SETTINGS, database_url=database.url)
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with (
        receiving() as receiver,
        running_server(settings) as first,
        running_server(settings) as second,
    ):
        stripe_client(first.base_url, key).v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"]}
        )

        def create(n: int) -> str:
            server = (first, second)[n % 2]
            response = httpx.post(
                server.base_url + "/v1/identity/verification_sessions",
                data={"type": "document"},
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            return str(response.json()["id"])

        # when
        with ThreadPoolExecutor(max_workers=8) as pool:
            made = set(pool.map(create, range(40)))
        receiver.wait_for(40, timeout=60)
        deliveries = receiver.quiet_for(1.5)
    # then
    delivered = Counter(each.event["id"] for each in deliveries)
    assert len(delivered) == 40 and set(delivered.values()) == {1}
    assert {each.event["data"]["object"]["id"] for each in deliveries} == made


def test_an_attempt_that_outlived_its_lease_does_not_overwrite_the_next_claim(
    database: Database,
) -> None:
    # given: an endpoint and an event with a delivery due, and no worker running
    settings = dataclasses.replace(SETTINGS, database_url=database.url)
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with running_server(settings, run_worker=False) as server:
        client = stripe_client(server.base_url, key)
        client.v1.webhook_endpoints.create(
            params={"url": "http://127.0.0.1:9/never", "enabled_events": ["*"]}
        )
        session_id = client.v1.identity.verification_sessions.create(params={"type": "document"}).id
    engine = create_engine(database.url)

    async def claim(lease_seconds: float) -> list[store.Attempt]:
        now = utcnow()
        async with write_session(engine) as db:
            return await store.claim_due(
                db, now=now, lease_until=now + timedelta(seconds=lease_seconds), limit=5
            )

    async def scenario() -> tuple[bool, bool, list[store.Attempt]]:
        services_db = Services(engine=engine, reader=Reader(engine))
        # when: the first claim's lease ends at once, so a second process claims it again
        stale = (await claim(0))[0]
        fresh = (await claim(3600))[0]
        late = await services.record(
            services_db,
            attempt=stale,
            answer=services.Answer(status=200),
            schedule=(1.0,),
        )
        current = await services.record(
            services_db,
            attempt=fresh,
            answer=services.Answer(status=500),
            schedule=(0.0, 0.0),
        )
        again = await claim(3600)
        await services_db.reader.close()
        await engine.dispose()
        return late, current, [stale, fresh, *again]

    late, current, attempts = run(scenario())
    # then: the stale answer is dropped; the current one rescheduled it, due at once
    assert session_id.startswith("vs_")
    assert late is False and current is True
    assert [attempt.attempt for attempt in attempts] == [1, 2, 3]
