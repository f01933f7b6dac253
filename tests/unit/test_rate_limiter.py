"""The rate limiter's window and its settings, on a fake clock (no server, no Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.domain.access import Principal, Scope
from app.settings import Settings, SettingsError
from app.web.client_address import ClientAddresses
from app.web.ratelimit import RateLimiter

JSON = "application/json"
# A request's ASGI scope as the limiter reads it: the peer address and the headers.
PEER = {"type": "http", "client": ("192.0.2.1", 50000), "headers": []}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def key(name: str, *, livemode: bool = False) -> Principal:
    return Principal(
        scope=Scope(account_id="acct_1", livemode=livemode), restricted=False, key_hash=name
    )


def client_secret(session_id: str) -> Principal:
    return Principal(
        scope=Scope(account_id="acct_1", livemode=False), restricted=False, session_id=session_id
    )


def peer(address: str, *, forwarded_for: str | None = None) -> dict[str, Any]:
    headers = [] if forwarded_for is None else [(b"x-forwarded-for", forwarded_for.encode())]
    return {"type": "http", "client": (address, 50000), "headers": headers}


def statuses(
    limiter: RateLimiter,
    principal: Principal | None,
    requests: int,
    scope: dict[str, Any] = PEER,
) -> list[int]:
    async def go() -> list[int]:
        answers = [await limiter.refuse(principal, JSON, scope) for _ in range(requests)]
        return [200 if answer is None else answer.status_code for answer in answers]

    return asyncio.run(go())


def test_the_request_over_the_limit_is_refused_until_the_next_second() -> None:
    # given
    clock = Clock(1000.2)
    limiter = RateLimiter(live_per_second=0, test_per_second=3, clock=clock)
    # when
    this_second = statuses(limiter, key("a"), 5)
    clock.now = 1000.9
    later_this_second = statuses(limiter, key("a"), 1)
    clock.now = 1001.0
    next_second = statuses(limiter, key("a"), 4)
    # then
    assert this_second == [200, 200, 200, 429, 429]
    assert later_this_second == [429]
    assert next_second == [200, 200, 200, 429]


def test_the_refusal_carries_retry_after_and_rate_limited() -> None:
    # given
    limiter = RateLimiter(live_per_second=1, test_per_second=0, clock=Clock(5.5))
    principal = key("a", livemode=True)

    async def second_request() -> bytes:
        await limiter.refuse(principal, JSON, PEER)
        refusal = await limiter.refuse(principal, JSON, PEER)
        assert refusal is not None
        assert refusal.status_code == 429
        assert refusal.headers["retry-after"] == "1"
        return bytes(refusal.body)

    # when
    body = asyncio.run(second_request())
    # then
    assert b'"code":"RATE_LIMITED"' in body
    assert b"a live-mode key may make 1 requests per second" in body


def test_keys_sessions_and_modes_count_apart() -> None:
    # given
    limiter = RateLimiter(live_per_second=2, test_per_second=2, clock=Clock(7.0))
    # when
    counted = [
        statuses(limiter, principal, 3)
        for principal in (
            key("a"),
            key("b"),
            key("c", livemode=True),
            client_secret("vs_1"),
            client_secret("vs_2"),
        )
    ]
    # then
    assert counted == [[200, 200, 429]] * 5


def test_zero_and_anonymous_requests_are_never_refused() -> None:
    # given
    limiter = RateLimiter(live_per_second=0, test_per_second=1, clock=Clock(9.0))
    # then
    assert statuses(limiter, key("a", livemode=True), 50) == [200] * 50
    assert statuses(limiter, None, 50) == [200] * 50


# --- anonymous requests ---------------------------------------------------------------------------


def test_anonymous_requests_are_limited_per_address() -> None:
    # given
    limiter = RateLimiter(
        live_per_second=0, test_per_second=0, anonymous_per_second=2, clock=Clock(11.0)
    )
    # when
    counted = [
        statuses(limiter, None, 3, peer(address))
        for address in ("192.0.2.1", "192.0.2.2", "2001:db8::1")
    ]
    # then
    assert counted == [[200, 200, 429]] * 3


def test_an_ipv6_address_counts_for_its_slash_64() -> None:
    # given
    limiter = RateLimiter(
        live_per_second=0, test_per_second=0, anonymous_per_second=2, clock=Clock(12.0)
    )
    # when
    same_64 = [
        statuses(limiter, None, 1, peer(address))
        for address in ("2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::3")
    ]
    next_64 = statuses(limiter, None, 1, peer("2001:db8:0:2::1"))
    # then
    assert same_64 == [[200], [200], [429]]
    assert next_64 == [200]


def test_keyed_requests_do_not_spend_the_addresss_anonymous_budget() -> None:
    # given
    limiter = RateLimiter(
        live_per_second=0, test_per_second=0, anonymous_per_second=1, clock=Clock(13.0)
    )
    # when
    keyed = statuses(limiter, key("a"), 5)
    anonymous = statuses(limiter, None, 2)
    # then
    assert keyed == [200] * 5
    assert anonymous == [200, 429]


def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    # given
    limiter = RateLimiter(
        live_per_second=0, test_per_second=0, anonymous_per_second=1, clock=Clock(14.0)
    )
    # when
    spoofed = [
        statuses(limiter, None, 1, peer("127.0.0.1", forwarded_for=f"198.51.100.{n}"))
        for n in range(3)
    ]
    # then
    assert spoofed == [[200], [429], [429]]


def test_forwarded_for_from_a_trusted_proxy_separates_clients() -> None:
    # given
    limiter = RateLimiter(
        live_per_second=0,
        test_per_second=0,
        anonymous_per_second=1,
        addresses=ClientAddresses(
            Settings.from_environ({"TRUSTED_PROXIES": "127.0.0.1"}).trusted_proxies
        ),
        clock=Clock(15.0),
    )
    # when
    clients = [
        statuses(limiter, None, 2, peer("127.0.0.1", forwarded_for=f"198.51.100.{n}"))
        for n in range(3)
    ]
    # then
    assert clients == [[200, 429]] * 3


def test_the_anonymous_refusal_names_no_address() -> None:
    # given
    limiter = RateLimiter(
        live_per_second=0, test_per_second=0, anonymous_per_second=1, clock=Clock(16.0)
    )

    async def second_request() -> bytes:
        await limiter.refuse(None, JSON, PEER)
        refusal = await limiter.refuse(None, JSON, PEER)
        assert refusal is not None
        assert refusal.status_code == 429
        assert refusal.headers["retry-after"] == "1"
        return bytes(refusal.body)

    # when
    body = asyncio.run(second_request())
    # then
    assert b'"code":"RATE_LIMITED"' in body
    assert b"may make 1 requests per second without credentials" in body
    assert b"192.0.2.1" not in body


# --- settings -------------------------------------------------------------------------------------


def test_settings_default_to_stripes_figures_without_redis() -> None:
    # when
    settings = Settings.from_environ({})
    # then
    assert settings.rate_limit_live_per_second == 100
    assert settings.rate_limit_test_per_second == 25
    assert settings.rate_limit_anonymous_per_second == 20
    assert settings.trusted_proxies == ()
    assert settings.redis_url is None
    assert settings.redis_key_prefix == "gateway:"


def test_settings_read_the_limits_and_redis_from_the_environment() -> None:
    # when
    settings = Settings.from_environ(
        {
            "RATE_LIMIT_LIVE_PER_SECOND": "0",
            "RATE_LIMIT_TEST_PER_SECOND": "7",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "REDIS_KEY_PREFIX": "gw-eu:",
        }
    )
    # then
    assert settings.rate_limit_live_per_second == 0
    assert settings.rate_limit_test_per_second == 7
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.redis_key_prefix == "gw-eu:"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RATE_LIMIT_LIVE_PER_SECOND", "fast", "RATE_LIMIT_LIVE_PER_SECOND must be a whole number"),
        ("RATE_LIMIT_TEST_PER_SECOND", "2.5", "RATE_LIMIT_TEST_PER_SECOND must be a whole number"),
        ("RATE_LIMIT_TEST_PER_SECOND", "-1", "RATE_LIMIT_TEST_PER_SECOND must be between 0"),
        (
            "RATE_LIMIT_ANONYMOUS_PER_SECOND",
            "lots",
            "RATE_LIMIT_ANONYMOUS_PER_SECOND must be a whole number",
        ),
        (
            "RATE_LIMIT_ANONYMOUS_PER_SECOND",
            "1000001",
            "RATE_LIMIT_ANONYMOUS_PER_SECOND must be between 0",
        ),
        ("REDIS_URL", "http://user:hunter2@cache:6379", "REDIS_URL must be a redis://"),
    ],
)
def test_a_bad_setting_is_refused_by_name(name: str, value: str, message: str) -> None:
    # when
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({name: value})
    # then
    assert str(refused.value).startswith(message)
    assert "hunter2" not in str(refused.value)
