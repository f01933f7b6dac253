"""Concurrent mutations on one session never lose a write and never end in an illegal state.

Every writer locks the session before it reads it (SQLite: `BEGIN IMMEDIATE`; Postgres:
`SELECT … FOR UPDATE`), so mutations of one session apply one after another. The tests fire
requests at once (asyncio + httpx) at two servers over one database, as two gateway processes
would share it, on SQLite and on Postgres (a fresh database for this module), and check:

- 50 updates of disjoint metadata keys: the keys present at the end are exactly the ones whose
  update reported success, each success saw every earlier one (the snapshots the responses
  return nest, one key apart), and an update that did not apply said so (a userError or a 409);
- a cancel racing an update: the cancel wins, and either the update applied first (the cancel's
  response already shows its key) or it was refused with INVALID_STATE (and its key is absent);
- a cancel racing a submission: exactly one wins, the other gets INVALID_STATE; a canceled
  session has no processing event, job or report, a submitted one is processed to the end.

Each race runs for several rounds of several sessions; which side won is recorded, not asserted.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.domain import ids
from app.migrations import upgrade
from app.settings import Settings
from tests.conftest import BACKENDS, Server, fresh_database_url, running_server
from tests.helpers import EVENT_PREFIX, wait_for

ROUNDS = 3
SESSIONS_PER_ROUND = 8
WRITERS = 50  # the metadata limit: 50 disjoint keys exactly fill an empty session

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id status metadata }
    userErrors { field message code }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) {
    verificationSession { id status metadata }
    userErrors { field message code }
  }
}
"""

CANCEL = """
mutation Cancel($id: ID!) {
  cancelVerificationSession(input: {id: $id}) {
    verificationSession { id status metadata }
    userErrors { field message code }
  }
}
"""

SUBMIT = """
mutation Submit($id: ID!) {
  submitVerificationSession(input: {id: $id, outcome: VERIFIED}) {
    verificationSession { id status metadata }
    userErrors { field message code }
  }
}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id status metadata
    lastVerificationReport { id }
  }
  events(first: 100, filter: {verificationSession: $id}) { nodes { type } }
}
"""

APPLIED = "applied"


# --- servers and requests ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    """Two servers over one fresh database; only the first runs the background worker."""
    sqlite_file = tmp_path_factory.mktemp("concurrency") / "gateway.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
        upgrade(url)
        settings = Settings(
            database_url=url,
            processing_delay_seconds=0.2,
            redaction_delay_seconds=0.2,
            worker_poll_seconds=0.05,
            rate_limit_live_per_second=0,
            rate_limit_test_per_second=0,
        )
        with (
            running_server(settings) as first,
            running_server(settings, run_worker=False) as second,
        ):
            yield [first, second]


@pytest.fixture
def key(servers: list[Server]) -> str:
    """A test-mode secret key of a new account."""
    return servers[0].database.create_key(account_id=ids.new_id(ids.ACCOUNT))


@dataclass(frozen=True)
class Call:
    query: str
    variables: dict[str, Any]


def fire(servers: list[Server], key: str, calls: list[Call]) -> list[httpx.Response]:
    """Send every call at once, alternating between the servers; the responses in call order."""

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            timeout=60, limits=httpx.Limits(max_connections=len(calls) + 1)
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{servers[index % len(servers)].base_url}/graphql",
                        json={"query": call.query, "variables": call.variables},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    for index, call in enumerate(calls)
                )
            )

    return asyncio.run(send_all())


def outcome(response: httpx.Response) -> tuple[str, dict[str, Any] | None]:
    """What a mutation's response says happened: ("applied", the session it returns) or the
    explicit refusal ("<userError code>" or "HTTP 409", None). Anything else fails the test: a
    5xx or a top-level error would leave the caller unable to tell whether the write happened."""
    if response.status_code == 409:
        return "HTTP 409", None
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    ((_, payload),) = body["data"].items()
    if payload["userErrors"]:
        assert payload["verificationSession"] is None, payload
        (error,) = payload["userErrors"]
        return error["code"], None
    session: dict[str, Any] = payload["verificationSession"]
    return APPLIED, session


def gql(server: Server, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{server.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def create_sessions(server: Server, key: str, count: int) -> list[str]:
    created = []
    for _ in range(count):
        payload = gql(server, key, CREATE, {"input": {"type": "DOCUMENT"}})
        payload = payload["createVerificationSession"]
        assert payload["userErrors"] == [], payload
        assert payload["verificationSession"]["metadata"] == {}
        created.append(payload["verificationSession"]["id"])
    return created


@dataclass(frozen=True)
class Stored:
    status: str
    metadata: dict[str, str]
    report: str | None
    events: list[str]  # oldest first, without the common prefix


def stored(server: Server, key: str, session_id: str) -> Stored:
    data = gql(server, key, SESSION, {"id": session_id})
    session = data["verificationSession"]
    types = [node["type"].removeprefix(EVENT_PREFIX) for node in data["events"]["nodes"]]
    report = session["lastVerificationReport"]
    return Stored(
        status=session["status"],
        metadata=session["metadata"],
        report=report["id"] if report else None,
        events=types[::-1],
    )


def job_count(server: Server, session_ids: list[str]) -> int:
    placeholders = ", ".join(f":s{index}" for index in range(len(session_ids)))
    rows = server.database.execute(
        f"SELECT COUNT(*) FROM jobs WHERE session_id IN ({placeholders})",
        {f"s{index}": sid for index, sid in enumerate(session_ids)},
    )
    return int(rows[0][0])


# --- 50 writers, disjoint keys ----------------------------------------------------------------


def test_fifty_concurrent_metadata_updates_lose_no_write(
    servers: list[Server], key: str, record_property: Callable[[str, object], None]
) -> None:
    refusals: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        # given: an empty session
        (session_id,) = create_sessions(servers[0], key, 1)
        wanted = {
            f"writer_{index:02d}": f"round {round_} value {index}" for index in range(WRITERS)
        }
        # when: 50 updates, each adding its own key, at once
        responses = fire(
            servers,
            key,
            [
                Call(UPDATE, {"input": {"id": session_id, "metadata": {name: value}}})
                for name, value in wanted.items()
            ],
        )
        # then: what is stored is exactly what was reported applied
        applied: dict[str, dict[str, str]] = {}
        for name, response in zip(wanted, responses, strict=True):
            result, session = outcome(response)
            if result == APPLIED:
                assert session is not None and session["status"] == "REQUIRES_INPUT"
                assert session["metadata"][name] == wanted[name], session
                applied[name] = session["metadata"]
            else:
                refusals[result] += 1
        final = stored(servers[0], key, session_id)
        assert final.metadata == {name: wanted[name] for name in applied}
        assert final.events == ["created"]
        # and the updates applied one after another: the k-th to apply saw k keys, all of the
        # earlier ones among them
        snapshots = sorted(applied.values(), key=len)
        assert [len(snapshot) for snapshot in snapshots] == list(range(1, len(applied) + 1))
        for earlier, later in itertools.pairwise(snapshots):
            assert earlier.items() <= later.items()
    record_property("refused_updates", dict(refusals))
    print(f"refused of {ROUNDS * WRITERS} concurrent updates: {dict(refusals) or 'none'}")


# --- cancel racing an update ------------------------------------------------------------------


def test_a_cancel_racing_an_update_ends_in_a_legal_state(
    servers: list[Server], key: str, record_property: Callable[[str, object], None]
) -> None:
    orders: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        # given
        session_ids = create_sessions(servers[0], key, SESSIONS_PER_ROUND)
        calls = []
        for session_id in session_ids:
            update = Call(UPDATE, {"input": {"id": session_id, "metadata": {"raced": "yes"}}})
            cancel = Call(CANCEL, {"id": session_id})
            # which of the two is sent first alternates, so both orders get their chance
            calls += [update, cancel] if round_ % 2 == 0 else [cancel, update]
        # when
        responses = fire(servers, key, calls)
        # then
        for index, session_id in enumerate(session_ids):
            pair = responses[2 * index : 2 * index + 2]
            update_response, cancel_response = pair if round_ % 2 == 0 else pair[::-1]
            updated, after_update = outcome(update_response)
            canceled, after_cancel = outcome(cancel_response)
            # a session awaiting input can always be canceled
            assert canceled == APPLIED and after_cancel is not None
            assert after_cancel["status"] == "CANCELED"
            final = stored(servers[0], key, session_id)
            assert final.status == "CANCELED"
            assert final.events == ["created", "canceled"]
            if updated == APPLIED:
                # the update came first: it saw the session awaiting input, and the cancel saw it
                assert after_update is not None
                assert after_update["status"] == "REQUIRES_INPUT"
                assert after_cancel["metadata"] == {"raced": "yes"}
                assert final.metadata == {"raced": "yes"}
                orders["update, then cancel"] += 1
            else:
                # the cancel came first: the update was refused and changed nothing
                assert updated == "INVALID_STATE"
                assert after_cancel["metadata"] == {}
                assert final.metadata == {}
                orders["cancel, update refused"] += 1
    record_property("cancel_vs_update", dict(orders))
    print(f"cancel racing update: {dict(orders)}")


# --- cancel racing a submission ---------------------------------------------------------------


def test_a_cancel_racing_a_submission_ends_in_a_legal_state(
    servers: list[Server], key: str, record_property: Callable[[str, object], None]
) -> None:
    orders: Counter[str] = Counter()
    canceled_ids: list[str] = []
    submitted_ids: list[str] = []
    for round_ in range(ROUNDS):
        # given
        session_ids = create_sessions(servers[0], key, SESSIONS_PER_ROUND)
        calls = []
        for session_id in session_ids:
            submit, cancel = Call(SUBMIT, {"id": session_id}), Call(CANCEL, {"id": session_id})
            calls += [submit, cancel] if round_ % 2 == 0 else [cancel, submit]
        # when
        responses = fire(servers, key, calls)
        # then: exactly one of the two happened, and the other was refused as INVALID_STATE
        for index, session_id in enumerate(session_ids):
            pair = responses[2 * index : 2 * index + 2]
            submit_response, cancel_response = pair if round_ % 2 == 0 else pair[::-1]
            submitted, after_submit = outcome(submit_response)
            canceled, after_cancel = outcome(cancel_response)
            assert sorted([submitted, canceled]) == sorted([APPLIED, "INVALID_STATE"]), (
                submitted,
                canceled,
            )
            if canceled == APPLIED:
                assert after_cancel is not None and after_cancel["status"] == "CANCELED"
                canceled_ids.append(session_id)
                orders["cancel, submit refused"] += 1
            else:
                assert after_submit is not None and after_submit["status"] == "PROCESSING"
                submitted_ids.append(session_id)
                orders["submit, cancel refused"] += 1

    # and once the worker has finished every submission
    wait_for(
        lambda: [stored(servers[0], key, sid).status for sid in submitted_ids],
        lambda statuses: "PROCESSING" not in statuses,
        what="every submitted session to be processed",
    )
    for session_id in canceled_ids:
        # a canceled session stays canceled: nothing was processed after the cancel
        final = stored(servers[0], key, session_id)
        assert (final.status, final.events, final.report) == (
            "CANCELED",
            ["created", "canceled"],
            None,
        )
    for session_id in submitted_ids:
        final = stored(servers[0], key, session_id)
        assert final.status == "VERIFIED"
        assert final.events == ["created", "processing", "verified"]
        assert final.report is not None
    assert job_count(servers[0], canceled_ids + submitted_ids) == 0
    record_property("cancel_vs_submit", dict(orders))
    print(f"cancel racing submit: {dict(orders)}")
