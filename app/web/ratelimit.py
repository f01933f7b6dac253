"""Per-key rate limits with Stripe's figures as defaults.

Each credential may make `RATE_LIMIT_LIVE_PER_SECOND` (100) requests a second in live mode and
`RATE_LIMIT_TEST_PER_SECOND` (25) in test mode; 0 turns a limit off. An API key is counted by its
digest, a client secret by its session. A request without a valid credential (none, or one
refused with 401) counts against its client address instead, `RATE_LIMIT_ANONYMOUS_PER_SECOND`
(20) a second, one budget for every surface it reaches: /graphql, the REST surface's 401s, the
hosted pages and a WebSocket's `connection_init` without a valid key (not the handshake, which
cannot carry one). The address is the peer's unless TRUSTED_PROXIES says otherwise
(`app.web.client_address`). Static files, the playground page and the health probes are not
counted: they cost nothing to serve, and a browser loading the playground fetches several at
once. The window is the wall clock's current second; the request over the limit is answered with
HTTP 429, `Retry-After: 1` and the surface's RATE_LIMITED error.

Counts live in the process unless `REDIS_URL` is set: then every gateway process counts in Redis
(INCR and EXPIRE in one MULTI, one round trip a request), so the limit holds across processes.
When Redis cannot be reached the limiter fails open to counting in the process alone (the limit
then holds per process), logs a warning and tries Redis again a few seconds later: a Redis outage
never fails a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.responses import Response
from starlette.types import Scope

from app.domain.access import Principal
from app.metrics import Metrics
from app.settings import Settings
from app.web.client_address import ClientAddresses
from app.web.errors import error_response

logger = logging.getLogger("app.ratelimit")

# How long to count in the process alone after Redis failed, before trying it again.
REDIS_RETRY_SECONDS = 5.0
# A rate-limit check must never hold a request up for long: Redis answers in well under this.
REDIS_TIMEOUT_SECONDS = 0.5


class Counter(Protocol):
    async def increment(self, key: str, second: int) -> int:
        """Count one request for `key` in the one-second window `second`; the count so far."""
        ...


class LocalCounter:
    """Counts of the current second, in this process only."""

    def __init__(self) -> None:
        self._second = -1
        self._counts: dict[str, int] = {}

    async def increment(self, key: str, second: int) -> int:
        if second != self._second:
            # A new window: every count kept so far belongs to a past second.
            self._second = second
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count


class RedisCounter:
    """Counts shared by every process using the same Redis and key prefix."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    async def increment(self, key: str, second: int) -> int:
        name = f"{self.prefix}ratelimit:{key}:{second}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            # Kept a little past its second, so that a slow clock elsewhere still counts into it.
            pipe.expire(name, 2)
            count, _ = await pipe.execute()
        return int(count)


class RateLimiter:
    """Answers a request that is over its credential's limit; lets the others through."""

    def __init__(
        self,
        *,
        live_per_second: int,
        test_per_second: int,
        anonymous_per_second: int = 0,
        addresses: ClientAddresses | None = None,
        redis: Redis | None = None,
        redis_key_prefix: str = "gateway:",
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.live_per_second = live_per_second
        self.test_per_second = test_per_second
        self.anonymous_per_second = anonymous_per_second
        self.addresses = addresses or ClientAddresses()
        self.clock = clock
        self._redis = redis
        self._shared = RedisCounter(redis, prefix=redis_key_prefix) if redis else None
        self._local = LocalCounter()
        self._redis_retry_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, *, metrics: Metrics | None = None) -> RateLimiter:
        redis = None
        if settings.redis_url is not None:
            redis = Redis.from_url(
                settings.redis_url,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
            )
        return cls(
            live_per_second=settings.rate_limit_live_per_second,
            test_per_second=settings.rate_limit_test_per_second,
            anonymous_per_second=settings.rate_limit_anonymous_per_second,
            addresses=ClientAddresses(settings.trusted_proxies),
            redis=redis,
            redis_key_prefix=settings.redis_key_prefix,
            metrics=metrics,
        )

    async def refuse(
        self, principal: Principal | None, media_type: str, scope: Scope, surface: str = "graphql"
    ) -> Response | None:
        """The GraphQL 429 for a request over its limit (its credential's, or without one its
        address's); None for a request that may go on."""
        if principal is None:
            message = await self.over_anonymous_limit(scope, surface=surface)
        else:
            message = await self.over_limit(principal, surface=surface)
        if message is None:
            return None
        return error_response(
            status=429,
            code="RATE_LIMITED",
            message=message,
            media_type=media_type,
            headers={"Retry-After": "1"},
        )

    async def over_limit(self, principal: Principal | None, *, surface: str) -> str | None:
        """Counts the request against its credential's budget (one budget whichever surface,
        GraphQL or REST, it comes through): why it is refused, or None when it may go on.
        `surface` (graphql, rest or websocket) labels the refusal in /metrics."""
        if principal is None:
            return None
        livemode = principal.scope.livemode
        limit = self.live_per_second if livemode else self.test_per_second
        if limit == 0:
            return None
        key = (
            f"key:{principal.key_hash}"
            if principal.key_hash is not None
            else f"session:{principal.session_id}"
        )
        if await self._count(key) <= limit:
            return None
        if self.metrics is not None:
            self.metrics.rate_limited(surface)
        mode = "live" if livemode else "test"
        return (
            f"Too many requests: a {mode}-mode key may make {limit} requests per second. "
            "Retry after the time in the Retry-After header."
        )

    async def over_anonymous_limit(self, scope: Scope, *, surface: str) -> str | None:
        """Counts a request without a valid credential against its client address's budget:
        why it is refused, or None when it may go on. The message names no address. `surface`
        (graphql, rest, hosted or websocket) labels the refusal in /metrics."""
        limit = self.anonymous_per_second
        if limit == 0:
            return None
        if await self._count(f"anonymous:{self.addresses.bucket(scope)}") <= limit:
            return None
        if self.metrics is not None:
            self.metrics.rate_limited(surface)
        return (
            f"Too many requests: one client address may make {limit} requests per second "
            "without credentials. Retry after the time in the Retry-After header, or send an "
            "API key."
        )

    async def _count(self, key: str) -> int:
        now = self.clock()
        second = int(now)
        if self._shared is not None and now >= self._redis_retry_at:
            try:
                count = await self._shared.increment(key, second)
            except (RedisError, OSError, TimeoutError) as error:
                self._redis_retry_at = now + REDIS_RETRY_SECONDS
                logger.warning(
                    "Redis is unreachable (%s); counting rate limits in this process alone "
                    "for the next %g seconds",
                    type(error).__name__,
                    REDIS_RETRY_SECONDS,
                )
            else:
                return count
        return await self._local.increment(key, second)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
