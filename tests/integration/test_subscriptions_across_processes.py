"""Two `python -m app serve` processes over one database (SQLite file or Postgres): a subscriber
on one sees what the other commits, and one that disconnects, lets 100 events happen and
resumes with `since` on the other process gets exactly those 100, in order, even when the
process it was on was killed with SIGKILL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.migrations import upgrade
from tests.conftest import BACKENDS, fresh_database_url, run
from tests.integration.test_durable_jobs import Gateway, create_key, launch, workdir
from tests.ws_client import session

__all__ = ["launch", "workdir"]  # fixtures, used by name

EVENTS = """
subscription Events($since: String) {
  events(since: $since) { cursor node { id type } }
}
"""

CREATE = """
mutation Create {
  createVerificationSession(input: {type: DOCUMENT}) { verificationSession { id } userErrors { code } }
}
"""


def _create(gateway: Gateway, key: str) -> str:
    data = gateway.gql(key, CREATE)
    return str(data["createVerificationSession"]["verificationSession"]["id"])


async def _receive(base_url: str, key: str, since: str | None, count: int) -> list[dict[str, Any]]:
    async with session(base_url, key) as client:
        await client.subscribe("e", EVENTS, {"since": since})
        return [payload["data"]["events"] for payload in await client.payloads("e", count)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("end", ["disconnect", "sigkill"])
def test_resume_on_the_other_process_gets_exactly_what_was_missed(
    backend: str, end: str, workdir: Path, launch: Callable[..., Gateway]
) -> None:
    with fresh_database_url(backend, workdir / "gateway.sqlite3") as url:
        upgrade(url)
        key = create_key(workdir, url, "test")
        settings = {"SUBSCRIPTION_POLL_SECONDS": "0.05", "RATE_LIMIT_TEST_PER_SECOND": "0"}
        first = launch("first", url, **settings)
        second = launch("second", url, **settings)

        async def scenario() -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
            # given a subscriber on the first process that sees what the second commits
            async with session(first.base_url, key) as client:
                await client.subscribe("e", EVENTS)
                await asyncio.sleep(0.3)  # the subscription starts after this point
                await asyncio.to_thread(_create, second, key)
                seen = [p["data"]["events"] for p in await client.payloads("e", 1)]
                if end == "sigkill":
                    await asyncio.to_thread(first.kill)
                    await client.wait_closed()
            # when 100 events happen while it is away
            created = [await asyncio.to_thread(_create, second, key) for _ in range(100)]
            # then it resumes on the second process from its last cursor
            resumed = await _receive(second.base_url, key, seen[-1]["cursor"], 100)
            return seen, created, resumed

        seen, created, resumed = run(scenario())
        assert [edge["node"]["type"] for edge in seen] == ["identity.verification_session.created"]
        listed = second.gql(key, "query { events(first: 100) { edges { cursor node { id } } } }")
        newest_first = listed["events"]["edges"]
        assert resumed == [
            {
                "cursor": edge["cursor"],
                "node": {"id": edge["node"]["id"], "type": "identity.verification_session.created"},
            }
            for edge in reversed(newest_first)
        ]
        assert len(resumed) == len(created) == 100
        if end == "disconnect":
            first.stop()
        second.stop()
