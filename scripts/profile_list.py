"""The list-50 request of `make bench`, in-process: the gateway's ASGI app and the raw twin's
called directly (no HTTP, no uvicorn), so what is left is the cost of the code itself. Prints
microseconds per request of each and their ratio, alternating rounds; with `--profile` a
pyinstrument profile of the gateway, with `--callgrind` it runs the gateway's requests inside
a `functools.reduce` call, the C function valgrind's `--toggle-collect` can find, so only they
are counted (divide the total by `--requests`).

    .venv/bin/python scripts/profile_list.py [--rows 3000] [--requests 2000] [--profile] [--get]
    valgrind --tool=callgrind --toggle-collect=functools_reduce --callgrind-out-file=cg.out \\
        .venv/bin/python scripts/profile_list.py --callgrind --requests 50
    callgrind_annotate cg.out | head -30
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import create_engine
from app.main import create_app
from app.settings import Settings
from scripts.bench import prepare
from scripts.bench_twin import sqlite_app

LIST = (
    "query($after: String) { verificationSessions(first: 50, after: $after) { edges { cursor "
    "node { id object status type created livemode clientReferenceId metadata } } "
    "pageInfo { hasNextPage endCursor } } }"
)

GET = (
    "query($id: ID!) { verificationSession(id: $id) { id object status type created livemode "
    "clientReferenceId metadata } }"
)


class Caller:
    """Calls an ASGI app with one prepared request, as uvicorn would."""

    def __init__(self, app: Any, method: str, path: str, query: bytes, body: bytes, key: str):
        self.app = app
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", f"Bearer {key}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.body = body

    async def __call__(self) -> bytes:
        sent: list[bytes] = []
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                sent.append(message.get("body", b""))

        await self.app(dict(self.scope), receive, send)
        assert status == [200], (status, b"".join(sent)[:300])
        return b"".join(sent)


async def _measured_requests(call: Caller, count: int) -> None:
    for _ in range(count):
        await call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--get", action="store_true", help="the single get instead of list-50")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="profile-list-"))
    path = directory / "gateway.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    _, key = prepare(url, args.rows)
    settings = Settings(
        database_url=url,
        log_level="WARNING",
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
    )
    # One loop, driven from here, so that every measured request runs on this thread, under
    # the call that starts it (what valgrind's --toggle-collect needs).
    loop = asyncio.new_event_loop()
    app = create_app(settings, engine=create_engine(url), run_worker=False)
    twin = sqlite_app(str(path))
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    try:
        gateway, twin_call = loop.run_until_complete(_requests(app, twin, key, args))
        floor = None if args.get else loop.run_until_complete(_floor(twin, gateway, key))
        gc.collect()
        gc.freeze()
        for call in (gateway, twin_call):  # warm-up
            loop.run_until_complete(_measured_requests(call, 100))
        if args.callgrind:
            functools.reduce(
                lambda _, __: loop.run_until_complete(_measured_requests(gateway, args.requests)),
                [0],
                None,
            )
            return
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002, async_mode="disabled")
            profiler.start()
            loop.run_until_complete(_measured_requests(gateway, args.requests))
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
            return
        calls = {"gateway": gateway, "twin": twin_call}
        if floor is not None:
            calls["floor"] = floor
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(args.rounds):
            for name, call in calls.items():
                start = time.perf_counter()
                loop.run_until_complete(_measured_requests(call, args.requests))
                best[name] = min(best[name], (time.perf_counter() - start) / args.requests)
        g, t = best["gateway"] * 1e6, best["twin"] * 1e6
        name = "single get" if args.get else "list-50"
        print(f"{name} in-process: gateway {g:.0f} us, twin {t:.0f} us, twin/gateway {t / g:.3f}x")
        if floor is not None:
            f = best["floor"] * 1e6
            print(f"  the same response by hand (floor): {f:.0f} us, twin/floor {t / f:.3f}x")
    finally:
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()


async def _requests(
    app: Any, twin: Any, key: str, args: argparse.Namespace
) -> tuple[Caller, Caller]:
    """The gateway's and the twin's request for the same page (or session), checked to agree."""
    after = None
    # Half-way down, as make bench reads it: page 50 at a time to the middle.
    for _ in range(args.rows // 2 // 50):
        body = orjson.dumps({"query": LIST, "variables": {"after": after}})
        page = orjson.loads(await Caller(app, "POST", "/graphql", b"", body, key)())
        after = page["data"]["verificationSessions"]["pageInfo"]["endCursor"]
    body = orjson.dumps({"query": LIST, "variables": {"after": after}})
    gateway = Caller(app, "POST", "/graphql", b"", body, key)
    half = str(args.rows // 2).encode()
    twin_page = orjson.loads(await Caller(twin, "GET", "/sessions", b"first=" + half, b"", key)())
    query = f"first=50&after={twin_page['end_cursor']}".encode()
    twin_call = Caller(twin, "GET", "/sessions", query, b"", key)
    edges = orjson.loads(await gateway())["data"]["verificationSessions"]["edges"]
    gateway_ids = [edge["node"]["id"] for edge in edges]
    twin_ids = [item["id"] for item in orjson.loads(await twin_call())["data"]]
    assert gateway_ids == twin_ids, "gateway and twin disagree"
    if args.get:
        body = orjson.dumps({"query": GET, "variables": {"id": gateway_ids[0]}})
        gateway = Caller(app, "POST", "/graphql", b"", body, key)
        twin_call = Caller(twin, "GET", f"/sessions/{gateway_ids[0]}", b"", b"", key)
    return gateway, twin_call


async def _floor(twin: Any, gateway: Caller, key: str) -> Caller:
    """The twin's hand-written list-50 (`/floor`), checked to answer the gateway's bytes."""
    after = orjson.loads(gateway.body)["variables"]["after"]
    floor = Caller(twin, "GET", "/floor", f"first=50&after={after}".encode(), b"", key)
    assert await floor() == await gateway(), "the floor does not answer the gateway's bytes"
    return floor


if __name__ == "__main__":
    main()
