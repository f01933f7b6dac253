"""`Idempotency-Key` on mutations: replays, refusals, scoping, concurrency and crashes."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.db import create_engine, read_session, write_session
from app.domain.access import Principal, Scope
from app.models import utcnow
from app.store import idempotency as idempotency_store
from app.store import sessions as session_store
from app.web import graphql as graphql_endpoint
from app.web.idempotency import CLAIM_LEASE, LIFETIME, Idempotency, fingerprint
from tests.conftest import Api, run

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id clientSecret metadata }
    userErrors { field message code }
  }
}
"""

CREATE_NAMED = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) { verificationSession { id } userErrors { code } }
}
query Count { verificationSessions { totalCount } }
"""

COUNT = "{ verificationSessions { totalCount } }"

INPUT = {"input": {"type": "DOCUMENT", "metadata": {"order": "1001"}}}
OTHER_INPUT = {"input": {"type": "DOCUMENT", "metadata": {"order": "1002"}}}
INVALID_INPUT = {"input": {"type": "DOCUMENT", "relatedCustomer": "not-a-customer"}}

KEY = "order-1001-create"
INTERNAL_MESSAGE = (
    "Internal server error. The gateway logged the details under this request's Request-Id."
)


def keyed(
    api: Api,
    query: str,
    variables: dict[str, Any] | None,
    idempotency_key: str,
    *,
    key: str | None = "default",
    **body: Any,
) -> httpx.Response:
    """POST `query` with an Idempotency-Key; extra `body` members (operationName) go in the JSON."""
    headers = {"Idempotency-Key": idempotency_key}
    if key is not None:
        headers["Authorization"] = f"Bearer {api.key if key == 'default' else key}"
    payload: dict[str, Any] = {"query": query, "variables": variables, **body}
    return api.http.post("/graphql", json=payload, headers=headers)


def count_sessions(api: Api, *, key: str | None = "default") -> int:
    total: int = api.gql(COUNT, key=key)["verificationSessions"]["totalCount"]
    return total


def error_codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def assert_same_bytes(replay: httpx.Response, first: httpx.Response) -> None:
    assert replay.status_code == first.status_code
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert replay.content == first.content


def secret_key_principal(api: Api, *, livemode: bool = False) -> Principal:
    return Principal(scope=Scope(account_id=api.account_id, livemode=livemode), restricted=False)


def arrange_claim(
    api: Api,
    *,
    idempotency_key: str,
    request_hash: str,
    age: timedelta = timedelta(0),
    response: bytes | None = None,
    wrote: bool = False,
) -> None:
    """Leave a claim (finished with `response`, or still running) made `age` ago, as a request
    on another process would have; with `wrote`, one whose request committed work."""

    async def go() -> None:
        engine = create_engine(api.server.database.url)
        claimed_at = utcnow() - age
        scope = Scope(account_id=api.account_id, livemode=False)
        try:
            async with write_session(engine) as db:
                assert (
                    await idempotency_store.claim(
                        db,
                        scope=scope,
                        key=idempotency_key,
                        fingerprint=request_hash,
                        now=claimed_at,
                        expires_at=claimed_at + LIFETIME,
                        abandoned_before=claimed_at - CLAIM_LEASE,
                    )
                    is None
                )
            if wrote:
                async with write_session(engine) as db:
                    await idempotency_store.mark_wrote(
                        db, scope=scope, key=idempotency_key, claimed_at=claimed_at
                    )
            if response is not None:
                async with write_session(engine) as db:
                    await idempotency_store.finish(
                        db,
                        scope=scope,
                        key=idempotency_key,
                        claimed_at=claimed_at,
                        status_code=200,
                        content_type="application/json",
                        body=response,
                    )
        finally:
            await engine.dispose()

    run(go())


# --- replay ---------------------------------------------------------------------------------------


def test_retry_replays_the_first_response_byte_for_byte(api: Api) -> None:
    # given
    first = keyed(api, CREATE, INPUT, KEY)
    assert first.status_code == 200
    assert first.json()["data"]["createVerificationSession"]["userErrors"] == []
    # when
    replay = keyed(api, CREATE, INPUT, KEY)
    # then
    assert_same_bytes(replay, first)
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_sessions(api) == 1


def test_replay_keeps_the_first_content_type(api: Api) -> None:
    # given
    first = keyed(api, CREATE, INPUT, KEY)
    # when
    replay = api.http.post(
        "/graphql",
        json={"query": CREATE, "variables": INPUT},
        headers={
            "Authorization": f"Bearer {api.key}",
            "Idempotency-Key": KEY,
            "Accept": "application/graphql-response+json",
        },
    )
    # then
    assert_same_bytes(replay, first)
    assert replay.headers["content-type"] == "application/json"


def test_a_user_error_response_is_replayed(api: Api) -> None:
    # given
    first = keyed(api, CREATE, INVALID_INPUT, KEY)
    assert first.json()["data"]["createVerificationSession"]["userErrors"][0]["code"] == (
        "PARAMETER_INVALID"
    )
    # when
    replay = keyed(api, CREATE, INVALID_INPUT, KEY)
    # then
    assert_same_bytes(replay, first)
    assert replay.headers["idempotent-replayed"] == "true"
    assert count_sessions(api) == 0


def test_another_secret_key_of_the_same_account_and_mode_gets_the_replay(api: Api) -> None:
    # given
    first = keyed(api, CREATE, INPUT, KEY)
    rotated = api.new_key()
    # when
    replay = keyed(api, CREATE, INPUT, KEY, key=rotated)
    # then
    assert_same_bytes(replay, first)
    assert count_sessions(api) == 1


def test_an_expired_record_is_ignored(api: Api) -> None:
    # given
    principal = secret_key_principal(api)
    arrange_claim(
        api,
        idempotency_key=KEY,
        request_hash=fingerprint(principal, CREATE, OTHER_INPUT, None),
        age=LIFETIME + timedelta(minutes=1),
        response=b'{"data":"stale"}',
    )
    # when
    response = keyed(api, CREATE, INPUT, KEY)
    # then
    assert response.status_code == 200
    assert "idempotent-replayed" not in response.headers
    assert response.json()["data"]["createVerificationSession"]["userErrors"] == []
    assert count_sessions(api) == 1


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "body"),
    [
        pytest.param(CREATE, OTHER_INPUT, {}, id="other variables"),
        pytest.param(CREATE.replace("metadata", "metadata status"), INPUT, {}, id="other query"),
        pytest.param(CREATE_NAMED, INPUT, {"operationName": "Create"}, id="other operation"),
    ],
)
def test_the_same_key_with_another_request_is_refused(
    api: Api, query: str, variables: dict[str, Any], body: dict[str, Any]
) -> None:
    # given
    keyed(api, CREATE, INPUT, KEY)
    # when
    response = keyed(api, query, variables, KEY, **body)
    # then
    assert response.status_code == 400
    assert error_codes(response) == ["IDEMPOTENCY_KEY_REUSED"]
    assert "data" not in response.json()
    assert count_sessions(api) == 1


def test_a_restricted_key_never_gets_a_secret_keys_stored_response(api: Api) -> None:
    # given
    first = keyed(api, CREATE, INPUT, KEY)
    client_secret = first.json()["data"]["createVerificationSession"]["verificationSession"][
        "clientSecret"
    ]
    restricted = api.new_key(restricted=True)
    # when
    response = keyed(api, CREATE, INPUT, KEY, key=restricted)
    # then
    assert response.status_code == 400
    assert error_codes(response) == ["IDEMPOTENCY_KEY_REUSED"]
    assert client_secret not in response.text


def test_a_key_longer_than_255_characters_is_refused(api: Api) -> None:
    # when
    response = keyed(api, CREATE, INPUT, "k" * 256)
    # then
    assert response.status_code == 400
    assert error_codes(response) == ["IDEMPOTENCY_KEY_INVALID"]
    assert "255" in response.json()["errors"][0]["message"]
    assert count_sessions(api) == 0


def test_a_key_of_255_characters_is_accepted(api: Api) -> None:
    # given
    first = keyed(api, CREATE, INPUT, "k" * 255)
    # when
    replay = keyed(api, CREATE, INPUT, "k" * 255)
    # then
    assert first.status_code == 200
    assert_same_bytes(replay, first)
    assert count_sessions(api) == 1


def test_a_retry_while_the_first_request_runs_is_409(api: Api) -> None:
    # given
    principal = secret_key_principal(api)
    arrange_claim(
        api, idempotency_key=KEY, request_hash=fingerprint(principal, CREATE, INPUT, None)
    )
    # when
    response = keyed(api, CREATE, INPUT, KEY)
    # then
    assert response.status_code == 409
    assert error_codes(response) == ["IDEMPOTENCY_REQUEST_IN_PROGRESS"]
    assert count_sessions(api) == 0


# --- scope ----------------------------------------------------------------------------------------


def test_another_account_may_use_the_same_key(api: Api, other_api: Api) -> None:
    # given
    mine = keyed(api, CREATE, INPUT, KEY)
    # when
    theirs = keyed(other_api, CREATE, INPUT, KEY)
    # then
    assert theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    ids = {
        response.json()["data"]["createVerificationSession"]["verificationSession"]["id"]
        for response in (mine, theirs)
    }
    assert len(ids) == 2
    assert count_sessions(api) == 1
    assert count_sessions(other_api) == 1


def test_test_and_live_keys_of_one_account_have_separate_keys(api: Api) -> None:
    # given
    live_key = api.new_key(livemode=True)
    test_mode = keyed(api, CREATE, INPUT, KEY)
    # when
    live_mode = keyed(api, CREATE, INPUT, KEY, key=live_key)
    # then
    assert live_mode.status_code == 200
    assert "idempotent-replayed" not in live_mode.headers
    session = live_mode.json()["data"]["createVerificationSession"]["verificationSession"]
    assert (
        session["id"]
        != (test_mode.json()["data"]["createVerificationSession"]["verificationSession"]["id"])
    )
    assert count_sessions(api) == 1
    assert count_sessions(api, key=live_key) == 1


# --- what ignores the key -------------------------------------------------------------------------


def test_queries_ignore_the_key(api: Api) -> None:
    # given
    before = keyed(api, COUNT, None, KEY)
    keyed(api, CREATE, INPUT, "another-key")
    # when
    after = keyed(api, COUNT, None, KEY)
    too_long = keyed(api, COUNT, None, "k" * 300)
    # then
    assert before.json() == {"data": {"verificationSessions": {"totalCount": 0}}}
    assert after.json() == {"data": {"verificationSessions": {"totalCount": 1}}}
    assert "idempotent-replayed" not in after.headers
    assert too_long.status_code == 200
    # The key was never taken by the queries: a mutation may use it.
    created = keyed(api, CREATE, INPUT, KEY)
    assert created.json()["data"]["createVerificationSession"]["userErrors"] == []
    assert count_sessions(api) == 2


def test_a_query_selected_by_operation_name_ignores_the_key(api: Api) -> None:
    # when
    first = keyed(api, CREATE_NAMED, INPUT, KEY, operationName="Count")
    second = keyed(api, CREATE_NAMED, INPUT, KEY, operationName="Count")
    # then
    assert first.json() == second.json() == {"data": {"verificationSessions": {"totalCount": 0}}}
    assert "idempotent-replayed" not in second.headers


def test_a_request_without_credentials_ignores_the_key(api: Api) -> None:
    # when
    response = keyed(api, CREATE, INPUT, KEY, key=None)
    # then
    assert response.status_code == 401
    assert error_codes(response) == ["UNAUTHENTICATED"]
    assert keyed(api, CREATE, INPUT, KEY).status_code == 200


# --- concurrency and crashes ----------------------------------------------------------------------


def test_concurrent_retries_run_the_mutation_once(api: Api) -> None:
    # given
    threads = 10
    barrier = threading.Barrier(threads)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def fire() -> None:
        with httpx.Client(base_url=api.server.base_url, timeout=30) as client:
            barrier.wait()
            response = client.post(
                "/graphql",
                json={"query": CREATE, "variables": INPUT},
                headers={"Authorization": f"Bearer {api.key}", "Idempotency-Key": KEY},
            )
        with lock:
            responses.append(response)

    workers = [threading.Thread(target=fire) for _ in range(threads)]
    # when
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    # then
    assert len(responses) == threads
    assert count_sessions(api) == 1
    answers = [response for response in responses if response.status_code == 200]
    in_progress = [response for response in responses if response.status_code == 409]
    assert len(answers) + len(in_progress) == threads
    assert len({response.content for response in answers}) == 1
    # One of them ran the mutation; the others were refused or got its stored response.
    assert sum("idempotent-replayed" not in response.headers for response in answers) == 1
    for response in in_progress:
        assert error_codes(response) == ["IDEMPOTENCY_REQUEST_IN_PROGRESS"]
    # Whatever each got, a retry now gets the one stored answer.
    assert_same_bytes(keyed(api, CREATE, INPUT, KEY), answers[0])


def test_an_unexpected_error_in_the_mutation_is_stored_and_replayed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("db-7.internal refused hunter2")

    monkeypatch.setattr(session_store, "create_session", explode)
    first = keyed(api, CREATE, INPUT, KEY)
    monkeypatch.undo()
    # when
    replay = keyed(api, CREATE, INPUT, KEY)
    # then
    assert first.json()["errors"][0]["message"] == INTERNAL_MESSAGE
    assert error_codes(first) == ["INTERNAL_SERVER_ERROR"]
    assert_same_bytes(replay, first)
    assert replay.headers["idempotent-replayed"] == "true"
    assert count_sessions(api) == 0


def test_a_request_that_crashed_before_answering_releases_its_key(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the endpoint itself failed")

    monkeypatch.setattr(graphql_endpoint.GraphQLEndpoint, "_execute", explode)
    crashed = keyed(api, CREATE, INPUT, KEY)
    monkeypatch.undo()
    # when
    retry = keyed(api, CREATE, INPUT, KEY)
    # then
    assert crashed.status_code == 500
    assert retry.status_code == 200
    assert "idempotent-replayed" not in retry.headers
    assert retry.json()["data"]["createVerificationSession"]["userErrors"] == []
    assert count_sessions(api) == 1


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(api: Api) -> None:
    # given
    principal = secret_key_principal(api)
    arrange_claim(
        api,
        idempotency_key=KEY,
        request_hash=fingerprint(principal, CREATE, INPUT, None),
        age=CLAIM_LEASE + timedelta(seconds=1),
    )
    # when
    response = keyed(api, CREATE, INPUT, KEY)
    # then
    assert response.status_code == 200
    assert response.json()["data"]["createVerificationSession"]["userErrors"] == []
    assert count_sessions(api) == 1
    assert_same_bytes(keyed(api, CREATE, INPUT, KEY), response)


def test_a_claim_whose_request_wrote_is_not_run_again_after_its_lease(api: Api) -> None:
    # given: a claim whose request committed work and then lost its response (its process died,
    # or its COMMIT was cut off), older than the lease
    principal = secret_key_principal(api)
    arrange_claim(
        api,
        idempotency_key=KEY,
        request_hash=fingerprint(principal, CREATE, INPUT, None),
        age=CLAIM_LEASE + timedelta(seconds=1),
        wrote=True,
    )
    # when
    response = keyed(api, CREATE, INPUT, KEY)
    # then: refused by name, and nothing ran again
    assert response.status_code == 409
    assert error_codes(response) == ["IDEMPOTENCY_RESPONSE_LOST"]
    assert "changed data, but its response was lost" in response.json()["errors"][0]["message"]
    assert count_sessions(api) == 0
    # and another request with the key is still told it was used for another request
    assert error_codes(keyed(api, CREATE, OTHER_INPUT, KEY)) == ["IDEMPOTENCY_KEY_REUSED"]


def test_a_claim_whose_request_wrote_is_in_progress_within_its_lease(api: Api) -> None:
    principal = secret_key_principal(api)
    arrange_claim(
        api,
        idempotency_key=KEY,
        request_hash=fingerprint(principal, CREATE, INPUT, None),
        wrote=True,
    )
    response = keyed(api, CREATE, INPUT, KEY)
    assert response.status_code == 409
    assert error_codes(response) == ["IDEMPOTENCY_REQUEST_IN_PROGRESS"]
    assert count_sessions(api) == 0


def test_a_request_marks_its_claim_as_it_commits(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a keyed create whose write transaction commits, then whose endpoint fails before
    # any response exists (as a process dying there would leave it)
    original = graphql_endpoint.GraphQLEndpoint._execute

    async def commit_then_fail(self: Any, *args: Any, **kwargs: Any) -> None:
        await original(self, *args, **kwargs)
        raise RuntimeError("the endpoint failed after the mutation committed")

    monkeypatch.setattr(graphql_endpoint.GraphQLEndpoint, "_execute", commit_then_fail)
    crashed = keyed(api, CREATE, INPUT, KEY)
    monkeypatch.undo()
    # when: retried with the same key
    retry = keyed(api, CREATE, INPUT, KEY)
    # then: the claim was kept, so the create ran once
    assert crashed.status_code == 500
    assert retry.status_code == 409
    assert error_codes(retry) == ["IDEMPOTENCY_REQUEST_IN_PROGRESS"]
    assert count_sessions(api) == 1


def test_every_refusal_has_an_answer_on_both_surfaces() -> None:
    from app.rest.http import _REFUSAL_TYPES
    from app.web.idempotency import _GRAPHQL_CODES, Refusal

    assert set(_REFUSAL_TYPES) == set(_GRAPHQL_CODES) == set(Refusal)


def test_a_claim_left_unreleased_in_an_outage_is_released_without_a_retry(api: Api) -> None:
    # given: a running claim this process could not release (the database was down then)
    principal = secret_key_principal(api)
    arrange_claim(
        api, idempotency_key=KEY, request_hash=fingerprint(principal, CREATE, INPUT, None)
    )

    async def go() -> bool:
        engine = create_engine(api.server.database.url)
        idempotency = Idempotency(engine=engine)
        async with read_session(engine) as db:
            record = await idempotency_store.get_record(db, scope=principal.scope, key=KEY)
        assert record is not None
        idempotency._unreleased[(api.account_id, False, KEY)] = record.created
        stop = asyncio.Event()
        releasing = asyncio.create_task(idempotency.run(stop))
        try:
            # when: the database answers again, with no request using the key
            for _ in range(100):
                async with read_session(engine) as db:
                    if (
                        await idempotency_store.get_record(db, scope=principal.scope, key=KEY)
                        is None
                    ):
                        return True
                await asyncio.sleep(0.05)
            return False
        finally:
            stop.set()
            await releasing
            await engine.dispose()

    # then: the claim goes within seconds, so a retry reaching any process runs
    assert run(go())
    response = keyed(api, CREATE, INPUT, KEY)
    assert response.status_code == 200
    assert count_sessions(api) == 1
