"""Subscriptions measured across real `python -m app serve` processes over one database:

    latency      commit-to-client time of events committed by process B and delivered to a
                 subscriber on process A (p50 and p99 of --events): polling only
                 (SUBSCRIPTION_POLL_SECONDS), then with wake-ups (Redis pub/sub on SQLite when
                 --redis-url is given; Postgres's NOTIFY on Postgres)
    idle         --idle subscribers (one `events` subscription per connection) held by process A,
                 and its RSS growth per subscriber
    fan-out      --fanout subscribers on process A (10 per connection), --fanout-events events
                 committed on B: deliveries per second, first commit to last delivery

    .venv/bin/python scripts/bench_subscriptions.py [--redis-url redis://127.0.0.1:6379/0]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python \\
        scripts/bench_subscriptions.py

Timings are this machine's; compare the with/without wake-up rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import Process, free_port, prepare, scratch_database, started

EVENTS = "subscription { events { cursor node { id } } }"
CREATE = (
    "mutation { createVerificationSession(input: {type: DOCUMENT}) { verificationSession { id } } }"
)


def serve(url: str, directory: Path, **settings: str) -> AbstractContextManager[Process]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_TEST_PER_SECOND": "0",
        "RATE_LIMIT_LIVE_PER_SECOND": "0",
        "WEBSOCKET_CONNECTIONS_PER_KEY": "100000",
        **settings,
    }
    env.pop("PUBLIC_BASE_URL", None)
    if "REDIS_URL" not in settings:
        env.pop("REDIS_URL", None)
    argv = [sys.executable, "-m", "app", "serve", "--port", str(port)]
    log = directory / f"gateway-{port}.log"
    return started("gateway", argv, env, port, log, "/healthz", {})


@contextlib.asynccontextmanager
async def subscribed(base_url: str, key: str, count: int) -> AsyncIterator[ClientConnection]:
    """A connection with `count` live `events` subscriptions (ids 0…count-1)."""
    async with connect(
        base_url.replace("http", "ws", 1) + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
    ) as socket:
        await socket.send(
            orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        assert orjson.loads(await socket.recv())["type"] == "connection_ack"
        for n in range(count):
            message = {"id": str(n), "type": "subscribe", "payload": {"query": EVENTS}}
            await socket.send(orjson.dumps(message))
        yield socket


async def next_result(socket: ClientConnection) -> dict[str, Any]:
    """The next `next` message, answering the server's pings on the way."""
    while True:
        message: dict[str, Any] = orjson.loads(await socket.recv())
        if message["type"] == "ping":
            await socket.send(b'{"type":"pong"}')
            continue
        if message["type"] == "pong":
            continue
        assert message["type"] == "next", message
        return message


async def create(http: httpx.AsyncClient, base_url: str, key: str) -> float:
    """Create a session (one event) on `base_url`; the time its answer came (after commit)."""
    response = await http.post(
        f"{base_url}/graphql",
        json={"query": CREATE},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return time.perf_counter()


async def latency(a: Process, b: Process, key: str, events: int) -> list[float]:
    """Seconds from each commit on B to its delivery on A, one event at a time."""
    async with subscribed(a.base_url, key, 1) as socket, httpx.AsyncClient(timeout=30) as http:
        await asyncio.sleep(1.5)  # the subscription is live (past one poll)
        found = []
        for _ in range(events):
            committed = await create(http, b.base_url, key)
            await next_result(socket)
            found.append(time.perf_counter() - committed)
            # Out of step with the poll, so polling shows its average wait, not a fixed phase.
            await asyncio.sleep(random.uniform(0.05, 1.0))
        return found


async def idle(a: Process, key: str, count: int) -> tuple[int, int]:
    """RSS of A (kB) before and with `count` idle subscribers."""
    before = a.rss_kb()
    async with contextlib.AsyncExitStack() as stack:
        for start in range(0, count, 100):
            await asyncio.gather(
                *(
                    stack.enter_async_context(subscribed(a.base_url, key, 1))
                    for _ in range(min(100, count - start))
                )
            )
        await asyncio.sleep(2)
        return before, a.rss_kb()


async def fanout(a: Process, b: Process, key: str, subscribers: int, events: int) -> float:
    """Deliveries per second to `subscribers` on A of `events` committed on B."""
    per_connection = 10
    async with contextlib.AsyncExitStack() as stack:
        sockets = await asyncio.gather(
            *(
                stack.enter_async_context(subscribed(a.base_url, key, per_connection))
                for _ in range(subscribers // per_connection)
            )
        )
        await asyncio.sleep(2)
        expected = events * per_connection

        async def drain(socket: ClientConnection) -> float:
            for _ in range(expected):
                await next_result(socket)
            return time.perf_counter()

        readers = [asyncio.ensure_future(drain(socket)) for socket in sockets]
        async with httpx.AsyncClient(timeout=30) as http:
            start = time.perf_counter()
            for _ in range(events):
                await create(http, b.base_url, key)
        finished = max(await asyncio.gather(*readers))
        return events * len(sockets) * per_connection / (finished - start)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def database(directory: Path) -> Iterator[tuple[str, str, str]]:
    """(backend, URL, a test key) of a fresh database: BENCH_DATABASE_URL's server, or SQLite."""
    backend = "postgres" if os.environ.get("BENCH_DATABASE_URL") else "sqlite"
    with scratch_database(backend, directory, "subscriptions") as url:
        _, key = prepare(url, 10)
        yield backend, url, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--fanout-events", type=int, default=20)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-subscriptions-"))
    with database(directory) as (backend, url, key):
        print(f"{backend}:")
        runs = [("polling (SUBSCRIPTION_POLL_SECONDS=1)", {"SUBSCRIPTION_POLL_SECONDS": "1"})]
        if backend == "postgres":
            runs = [("polling 1 s, with NOTIFY wake-ups", {"SUBSCRIPTION_POLL_SECONDS": "1"})]
        elif args.redis_url:
            wake = {"SUBSCRIPTION_POLL_SECONDS": "1", "REDIS_URL": args.redis_url}
            runs.append(("polling 1 s, with Redis wake-ups", wake))
        for name, settings in runs:
            with serve(url, directory, **settings) as a, serve(url, directory, **settings) as b:
                found = asyncio.run(latency(a, b, key, args.events))
                print(
                    f"  commit-to-client latency across processes, {name}: "
                    f"p50 {statistics.median(found) * 1000:.1f} ms, "
                    f"p99 {percentile(found, 0.99) * 1000:.1f} ms ({len(found)} events)"
                )
        settings = runs[-1][1]
        with serve(url, directory, **settings) as a, serve(url, directory, **settings) as b:
            before, after = asyncio.run(idle(a, key, args.idle))
            print(
                f"  {args.idle} idle subscribers on one process: RSS {before / 1024:.0f} -> "
                f"{after / 1024:.0f} MiB, {(after - before) / args.idle:.1f} KiB each"
            )
            rate = asyncio.run(fanout(a, b, key, args.fanout, args.fanout_events))
            print(
                f"  fan-out of {args.fanout_events} events to {args.fanout} subscribers: "
                f"{rate:,.0f} deliveries/s"
            )


if __name__ == "__main__":
    main()
