"""Per-key rate limits: 429 with Retry-After and RATE_LIMITED, per key and mode, off at 0, shared by
every process through Redis, and failing open when Redis is gone.

The limit is a fixed one-second window of the wall clock, which the servers here share with the
test (they run in its process). A burst is counted against the number of windows it touched, so
no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from app.domain import ids
from tests.conftest import Api, Server, client_of, free_port, running_server

TYPENAME = "{ __typename }"
LIMIT = 5
BURST = 40
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextmanager
def limited_server(server: Server, **settings: Any) -> Iterator[Server]:
    """A second server over the shared server's database, with the given limits (both off, as
    on the shared server, unless given). It runs no worker, so it never takes the shared
    server's jobs."""
    with running_server(
        dataclasses.replace(server.settings, **settings), run_worker=False
    ) as second:
        yield second


@dataclass
class Burst:
    responses: list[httpx.Response]
    windows: int

    def statuses(self) -> list[int]:
        return [response.status_code for response in self.responses]

    @property
    def allowed(self) -> int:
        return sum(response.status_code == 200 for response in self.responses)

    @property
    def refused(self) -> list[httpx.Response]:
        return [response for response in self.responses if response.status_code == 429]


def burst(*clients: Api, requests: int = BURST, key: str | None = "default") -> Burst:
    """`requests` authenticated queries as fast as they go, taking turns among `clients`; the
    responses, and how many one-second windows of the clock the burst touched."""
    started = time.time()
    responses = [clients[turn % len(clients)].post(TYPENAME, key=key) for turn in range(requests)]
    return Burst(responses=responses, windows=int(time.time()) - int(started) + 1)


def by_client(result: Burst, clients: int) -> list[list[httpx.Response]]:
    return [result.responses[turn::clients] for turn in range(clients)]


# --- in-process limits ----------------------------------------------------------------------------


def test_a_key_over_its_limit_gets_429_with_retry_after(server: Server) -> None:
    # given
    with (
        limited_server(server, rate_limit_test_per_second=LIMIT) as second,
        client_of(second) as api,
    ):
        # when
        result = burst(api)
    # then
    assert LIMIT <= result.allowed <= LIMIT * result.windows
    assert len(result.refused) == BURST - result.allowed
    assert result.refused
    refused = result.refused[0]
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {
        "errors": [
            {
                "message": (
                    "Too many requests: a test-mode key may make 5 requests per second. "
                    "Retry after the time in the Retry-After header."
                ),
                "extensions": {"code": "RATE_LIMITED"},
            }
        ]
    }


def test_each_key_has_its_own_limit(server: Server) -> None:
    # given
    with (
        limited_server(server, rate_limit_test_per_second=LIMIT) as second,
        client_of(second) as one,
        client_of(second) as two,
    ):
        # when
        result = burst(one, two)
    # then
    for responses in by_client(result, 2):
        allowed = sum(response.status_code == 200 for response in responses)
        assert LIMIT <= allowed <= LIMIT * result.windows
    assert set(result.statuses()) == {200, 429}


@pytest.mark.parametrize("limited_mode", ["test", "live"])
def test_live_and_test_limits_are_separate(server: Server, limited_mode: str) -> None:
    # given
    limits = {f"rate_limit_{limited_mode}_per_second": LIMIT}
    with (
        limited_server(server, **limits) as second,
        client_of(second, livemode=limited_mode == "live") as limited,
        client_of(second, livemode=limited_mode != "live") as unlimited,
    ):
        # when
        result = burst(limited, unlimited)
    # then
    limited_responses, unlimited_responses = by_client(result, 2)
    assert {response.status_code for response in unlimited_responses} == {200}
    allowed = sum(response.status_code == 200 for response in limited_responses)
    assert LIMIT <= allowed <= LIMIT * result.windows
    assert (
        f"a {limited_mode}-mode key may make 5" in result.refused[0].json()["errors"][0]["message"]
    )


def test_zero_turns_the_limits_off(server: Server) -> None:
    # given
    with (
        limited_server(
            server, rate_limit_live_per_second=0, rate_limit_test_per_second=0
        ) as second,
        client_of(second) as test_mode,
        client_of(second, livemode=True) as live_mode,
    ):
        # when
        result = burst(test_mode, live_mode, requests=2 * BURST)
    # then
    assert set(result.statuses()) == {200}


def test_the_test_suites_own_server_has_no_limits(api: Api) -> None:
    # when
    result = burst(api)
    # then
    assert set(result.statuses()) == {200}


def test_requests_without_credentials_do_not_spend_a_keys_budget(server: Server) -> None:
    # (They count per client address instead: tests/integration/test_anonymous_rate_limit.py.)
    # given
    with (
        limited_server(server, rate_limit_test_per_second=LIMIT) as second,
        client_of(second) as api,
    ):
        # when
        result = burst(api, key=None)
    # then
    assert set(result.statuses()) == {200}


# --- shared limits through Redis ------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the real Redis, cleaned up afterwards."""
    prefix = f"gateway-test-{ids.random_base62(12)}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for name in client.scan_iter(match=f"{prefix}*"):
            client.delete(name)
    finally:
        client.close()


def test_two_servers_share_one_limit_through_redis(server: Server, redis_prefix: str) -> None:
    # given
    shared = {
        "rate_limit_test_per_second": LIMIT,
        "redis_url": REDIS_URL,
        "redis_key_prefix": redis_prefix,
    }
    with ExitStack() as stack:
        one = stack.enter_context(limited_server(server, **shared))
        two = stack.enter_context(limited_server(server, **shared))
        api = stack.enter_context(client_of(one))
        other_door = stack.enter_context(
            httpx.Client(base_url=two.base_url, timeout=30)
        )  # the same key, through the other server
        via_two = Api(server=two, account_id=api.account_id, key=api.key, http=other_door)
        # when
        result = burst(api, via_two)
        counters = redis.Redis.from_url(REDIS_URL)
        stored = list(counters.scan_iter(match=f"{redis_prefix}ratelimit:*"))
        counters.close()
    # then
    # Counting alone, each server would let LIMIT requests a second through: twice as many.
    assert LIMIT <= result.allowed <= LIMIT * result.windows
    assert set(result.statuses()) == {200, 429}
    for responses in by_client(result, 2):
        assert 200 in {response.status_code for response in responses}
    assert stored


def test_unreachable_redis_fails_open_to_counting_in_the_process(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.WARNING, logger="app.ratelimit")
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with (
        limited_server(server, rate_limit_test_per_second=LIMIT, redis_url=nowhere) as second,
        client_of(second) as api,
    ):
        # when
        first = api.post(TYPENAME)
        result = burst(api)
    # then
    assert first.status_code == 200
    assert set(result.statuses()) <= {200, 429}
    assert result.allowed <= LIMIT * result.windows
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.ratelimit"]
    assert warnings
    assert warnings[0].startswith("Redis is unreachable (ConnectionError)")


def test_graphql_and_rest_requests_share_one_budget_per_key(server: Server) -> None:
    # given
    with (
        limited_server(server, rate_limit_test_per_second=LIMIT) as second,
        client_of(second) as api,
    ):
        # when: GraphQL and REST requests of one key, taking turns
        started = time.time()
        responses = []
        for turn in range(BURST):
            if turn % 2:
                responses.append(api.post(TYPENAME))
            else:
                responses.append(
                    api.http.get(
                        "/v1/identity/verification_sessions",
                        headers={"Authorization": f"Bearer {api.key}"},
                    )
                )
        windows = int(time.time()) - int(started) + 1
    # then
    allowed = sum(response.status_code == 200 for response in responses)
    assert LIMIT <= allowed <= LIMIT * windows
    refused_rest = [r for r in responses[::2] if r.status_code == 429]
    assert refused_rest, "the REST requests were not counted"
    assert refused_rest[0].headers["retry-after"] == "1"
    assert refused_rest[0].json()["error"]["code"] == "rate_limit"
