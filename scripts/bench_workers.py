"""`serve --workers 1` against `--workers 2`: list-50 throughput, as `scripts/bench.py` measures it.

Seeds --rows sessions into a fresh database (SQLite in a temp file, or Postgres when
BENCH_DATABASE_URL names a server), then, for --rounds rounds, starts the gateway with 1 and with 2
workers in turn (rate limits off, LOG_LEVEL=WARNING) and runs `wrk -t1 -c8` for --seconds (after
2 s of warm-up) on the page of 50 sessions after the row half-way down the list. The best round
of each counts (a neighbour's load only ever slows a round). wrk itself takes a share of the
cores it measures on. Nothing is asserted; the exit status is 1 when a server or a check failed.

    .venv/bin/python scripts/bench_workers.py [--rows 3000] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import (
    LIST,
    PAGE_OF_100,
    WARM_UP_SECONDS,
    Failure,
    gateway,
    lua_post,
    post,
    prepare,
    scratch_database,
    wrk,
)


def halfway_cursor(base_url: str, key: str, rows: int) -> str:
    edges: list[dict[str, str]] = []
    after = None
    while len(edges) <= rows // 2:
        page = post(base_url, key, PAGE_OF_100, {"after": after})["verificationSessions"]
        edges += page["edges"]
        after = page["pageInfo"]["endCursor"]
    return edges[rows // 2]["cursor"]


@contextmanager
def database(directory: Path) -> Iterator[tuple[str, str]]:
    backend = "postgres" if os.environ.get("BENCH_DATABASE_URL") else "sqlite"
    with scratch_database(backend, directory, "workers") as url:
        yield backend, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp, database(Path(temp)) as (backend, url):
        directory = Path(temp)
        _, key = prepare(url, args.rows)
        best = {1: 0.0, 2: 0.0}
        script: Path | None = None
        for _ in range(args.rounds):
            for workers in (1, 2):
                with gateway(url, directory, workers) as gw:
                    if script is None:
                        cursor = halfway_cursor(gw.base_url, key, args.rows)
                        body = {"query": LIST, "variables": {"after": cursor}}
                        script = lua_post(directory, "list", key, body)
                    target = f"{gw.base_url}/graphql"
                    wrk(target, connections=8, seconds=WARM_UP_SECONDS, script=script)
                    result = wrk(target, connections=8, seconds=args.seconds, script=script)
                    gw.check_alive()
                best[workers] = max(best[workers], result.requests_per_second)
                print(f"  {backend} --workers {workers}: {result.requests_per_second:,.0f} req/s")
        print(
            f"{backend} list-50 req/s (wrk -t1 -c8, best of {args.rounds}): "
            f"--workers 1 {best[1]:,.0f}, --workers 2 {best[2]:,.0f} "
            f"({best[2] / best[1]:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        sys.exit(1)
