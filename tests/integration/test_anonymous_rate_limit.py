"""Requests without credentials are limited per client address (RATE_LIMIT_ANONYMOUS_PER_SECOND),
on every surface they reach, and X-Forwarded-For is believed only from TRUSTED_PROXIES.

Real uvicorn servers over loopback (in this process, and `python -m app serve` where the command's
own uvicorn settings matter), real databases (SQLite and Postgres) and the real Redis. The limit
is a fixed one-second window of the wall clock; a burst is judged against the number of windows
it touched, so no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from websockets.typing import Subprotocol

from app.domain import ids
from app.settings import IPNetwork, Settings
from tests.conftest import Server, client_of, running_server
from tests.helpers import CREATE_CREDENTIALS, token_of
from tests.integration.test_durable_jobs import Gateway, gateway_env
from tests.ws_client import Closed, connected, session

LIMIT = 5
BURST = 40
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
INTROSPECTION = "{ __schema { queryType { name } } }"
TYPENAME = "{ __typename }"
SESSIONS = "/v1/identity/verification_sessions"
PROTOCOL = Subprotocol("graphql-transport-ws")


@contextmanager
def anonymous_limited(server: Server, **settings: Any) -> Iterator[Server]:
    """A second server over the shared server's database with an anonymous limit of LIMIT (the
    keyed limits stay off, as on the shared server); no worker, so it takes none of its jobs."""
    settings.setdefault("rate_limit_anonymous_per_second", LIMIT)
    with running_server(
        dataclasses.replace(server.settings, **settings), run_worker=False
    ) as second:
        yield second


@dataclass
class Burst:
    responses: list[httpx.Response]
    windows: int

    @property
    def allowed(self) -> list[httpx.Response]:
        return [response for response in self.responses if response.status_code != 429]

    @property
    def refused(self) -> list[httpx.Response]:
        return [response for response in self.responses if response.status_code == 429]

    def turn(self, turn: int, turns: int) -> Burst:
        """The responses of every `turns`-th request, starting at `turn`."""
        return Burst(responses=self.responses[turn::turns], windows=self.windows)

    def within_limit(self) -> bool:
        """At least LIMIT requests got through, and no more than LIMIT in each window touched."""
        return LIMIT <= len(self.allowed) <= LIMIT * self.windows


def networks(value: str) -> tuple[IPNetwork, ...]:
    return Settings.from_environ({"TRUSTED_PROXIES": value}).trusted_proxies


def burst(send: Callable[[int], httpx.Response], requests: int = BURST) -> Burst:
    """`requests` requests as fast as they go (`send(turn)` sends one)."""
    started = time.time()
    responses = [send(turn) for turn in range(requests)]
    return Burst(responses=responses, windows=int(time.time()) - int(started) + 1)


def graphql(
    http: httpx.Client, query: str = INTROSPECTION, **headers: str
) -> Callable[[int], httpx.Response]:
    return lambda turn: http.post("/graphql", json={"query": query}, headers=headers)


def assert_graphql_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    assert f"may make {LIMIT} requests per second without credentials" in error["message"]
    assert "127.0.0.1" not in response.text


# --- GraphQL ---------------------------------------------------------------------------------------


def test_flooding_introspection_without_a_key_gets_429_with_retry_after(server: Server) -> None:
    # given
    with anonymous_limited(server) as second, httpx.Client(base_url=second.base_url) as http:
        # when
        result = burst(graphql(http))
    # then
    assert result.within_limit()
    assert result.refused
    assert {response.status_code for response in result.allowed} == {200}
    assert result.allowed[0].json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert_graphql_rate_limited(result.refused[0])


def test_a_keyed_caller_from_the_same_address_is_unaffected(server: Server) -> None:
    # given
    with anonymous_limited(server) as second, client_of(second) as api:
        keyed = graphql(api.http, TYPENAME, Authorization=f"Bearer {api.key}")
        anonymous = graphql(api.http)
        # when: keyed and anonymous requests, taking turns
        result = burst(lambda turn: (keyed if turn % 2 else anonymous)(turn))
    # then
    assert {response.status_code for response in result.turn(1, 2).responses} == {200}
    assert result.turn(0, 2).within_limit()
    assert result.turn(0, 2).refused


def test_a_refused_key_counts_as_no_key(server: Server) -> None:
    # given
    with anonymous_limited(server) as second, httpx.Client(base_url=second.base_url) as http:
        # when
        result = burst(graphql(http, TYPENAME, Authorization="Bearer sk_test_not-a-real-key"))
    # then
    assert result.within_limit()
    assert {response.status_code for response in result.allowed} == {401}
    assert_graphql_rate_limited(result.refused[0])


def test_a_spoofed_forwarded_for_cannot_dodge_the_limit(server: Server) -> None:
    # given: no TRUSTED_PROXIES (the default), a client claiming a new address every time
    with anonymous_limited(server) as second, httpx.Client(base_url=second.base_url) as http:
        # when
        result = burst(
            lambda turn: http.post(
                "/graphql",
                json={"query": INTROSPECTION},
                headers={"X-Forwarded-For": f"198.51.100.{turn}"},
            )
        )
    # then
    assert result.within_limit()
    assert result.refused


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_bucket(server: Server) -> None:
    # given: the test client is the proxy (127.0.0.1), forwarding two clients
    with (
        anonymous_limited(server, trusted_proxies=networks("127.0.0.1")) as second,
        httpx.Client(base_url=second.base_url) as http,
    ):
        # when
        result = burst(
            lambda turn: http.post(
                "/graphql",
                json={"query": INTROSPECTION},
                headers={"X-Forwarded-For": f"203.0.113.9, 198.51.100.{turn % 2}"},
            )
        )
    # then: each client has its own LIMIT a second, the leftmost (spoofable) entry ignored
    for client in (result.turn(0, 2), result.turn(1, 2)):
        assert client.within_limit()
        assert client.refused


# --- REST, hosted pages, WebSockets ------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer sk_test_not-a-real-key", "Basic bm90LWJhc2U2NA=="]
)
def test_rest_requests_without_a_valid_key_get_stripes_429(
    server: Server, authorization: str | None
) -> None:
    # given
    headers = {} if authorization is None else {"Authorization": authorization}
    with anonymous_limited(server) as second, httpx.Client(base_url=second.base_url) as http:
        # when
        result = burst(lambda turn: http.get(SESSIONS, headers=headers))
    # then
    assert result.within_limit()
    assert {response.status_code for response in result.allowed} == {401}
    refused = result.refused[0]
    assert refused.headers["retry-after"] == "1"
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "rate_limit"


def test_the_hosted_page_is_limited_per_address(server: Server) -> None:
    # given
    with anonymous_limited(server) as second, client_of(second) as api:
        session = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})[
            "createVerificationSession"
        ]["verificationSession"]
        page = f"/verify/{token_of(session['url'])}"
        # when: the page, its status and form posts that never pass the form's checks
        sends = [
            lambda: api.http.get(page),
            lambda: api.http.get(f"{page}/status"),
            lambda: api.http.post(page, content=b"x", headers={"Content-Type": "text/plain"}),
        ]
        result = burst(lambda turn: sends[turn % 3]())
    # then
    assert result.within_limit()
    assert {response.status_code for response in result.allowed} <= {200, 415}
    refused = result.refused[0]
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"].startswith("text/html")
    assert "<h1>Too many requests</h1>" in refused.text
    assert session["url"].rsplit("/", 1)[1] not in refused.text


def test_websocket_inits_without_a_valid_key_count_against_the_address(server: Server) -> None:
    """A handshake is not counted (it cannot carry the key); a `connection_init` without a valid
    credential is, and past the limit it closes with 4429 instead of 4403. A keyed client from
    the same address connects all the same."""
    # given
    with anonymous_limited(server) as second, client_of(second) as api:

        async def inits() -> list[int | None]:
            codes: list[int | None] = []
            for turn in range(BURST):
                async with connected(second.base_url) as client:
                    payload = {"Authorization": "Bearer sk_test_guess"} if turn % 2 else None
                    with pytest.raises(Closed) as closed:
                        await client.init(payload)
                    codes.append(closed.value.code)
            async with session(second.base_url, api.key):
                codes.append(None)  # the keyed client was acknowledged
            return codes

        # when
        started = time.time()
        codes = asyncio.run(inits())
        windows = int(time.time()) - int(started) + 1
    # then
    assert codes[-1] is None
    refused = codes[:-1].count(4429)
    assert set(codes[:-1]) == {4403, 4429}
    assert LIMIT <= BURST - refused <= LIMIT * windows


def test_zero_turns_the_anonymous_limit_off(server: Server) -> None:
    # given
    with (
        anonymous_limited(server, rate_limit_anonymous_per_second=0) as second,
        httpx.Client(base_url=second.base_url) as http,
    ):
        # when
        result = burst(graphql(http))
    # then
    assert not result.refused


# --- shared through Redis ----------------------------------------------------------------------


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


def test_two_servers_share_the_anonymous_bucket_through_redis(
    server: Server, redis_prefix: str
) -> None:
    # given
    shared = {"redis_url": REDIS_URL, "redis_key_prefix": redis_prefix}
    with ExitStack() as stack:
        one = stack.enter_context(anonymous_limited(server, **shared))
        two = stack.enter_context(anonymous_limited(server, **shared))
        doors = [stack.enter_context(httpx.Client(base_url=each.base_url)) for each in (one, two)]
        # when: one client address, taking turns between the servers
        result = burst(lambda turn: graphql(doors[turn % 2])(turn))
        counters = redis.Redis.from_url(REDIS_URL)
        stored = list(counters.scan_iter(match=f"{redis_prefix}ratelimit:anonymous:*"))
        counters.close()
    # then: counting alone, each server would let LIMIT a second through, twice as many
    assert result.within_limit()
    for through in (result.turn(0, 2), result.turn(1, 2)):
        assert through.allowed
    assert stored


# --- `serve` -------------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_serve_believes_no_forwarded_for_from_localhost_by_default(
    server: Server, workdir: Path
) -> None:
    # given: uvicorn alone would trust X-Forwarded-For from 127.0.0.1
    env = gateway_env(
        server.settings.database_url,
        RATE_LIMIT_ANONYMOUS_PER_SECOND=str(LIMIT),
        TRUSTED_PROXIES="",
    )
    env.pop("FORWARDED_ALLOW_IPS", None)
    gateway = Gateway(name="serve", workdir=workdir, env=env).start()
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
            # when
            result = burst(
                lambda turn: http.post(
                    "/graphql",
                    json={"query": TYPENAME},
                    headers={"X-Forwarded-For": f"198.51.100.{turn}"},
                )
            )
    finally:
        gateway.stop()
    # then
    assert result.within_limit()
    assert result.refused


@pytest.mark.parametrize(
    ("value", "entry"),
    [("10.0.0.0/8,proxy.internal", "proxy.internal"), ("10.0.0.7/8", "10.0.0.7/8")],
)
def test_serve_refuses_a_bad_trusted_proxies_value_at_start(
    server: Server, workdir: Path, value: str, entry: str
) -> None:
    # when
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "1"],
        cwd=workdir,
        env=gateway_env(server.settings.database_url, TRUSTED_PROXIES=value),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert result.returncode == 2
    assert result.stderr.startswith("error: TRUSTED_PROXIES must ")
    assert f"got {entry!r}" in result.stderr
    assert "Traceback" not in result.stderr
