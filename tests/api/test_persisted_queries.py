"""Automatic persisted queries (Apollo's protocol) over real HTTP: the not-found answer the link
waits for, registration checked against the hash and the query limits, hashed requests over POST
and GET, a store shared by every process, bounded with the least recently used evicted, and
recency written at most once per TOUCH_INTERVAL per document.

Every test makes documents of its own (a unique comment changes the hash), so tests sharing a
database never see each other's; the tests of the bound get a database of their own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.web.persisted_queries import MAX_STORED_CHARACTERS, TOUCH_INTERVAL
from tests.conftest import (
    Api,
    Database,
    Server,
    client_of,
    fresh_database_url,
    running_server,
)
from tests.helpers import CREATE_CREDENTIALS, only_error, wait_for

GRAPHQL_RESPONSE = "application/graphql-response+json"
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}
NOT_SUPPORTED = {
    "errors": [
        {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
    ]
}
COUNT = "query Count { verificationSessions(first: 0) { totalCount } }"
DEEP = (
    "query Deep { __schema { types { fields { type { "
    + "ofType { " * 12
    + "name"
    + " }" * 16
    + " }"
)
ALIASED = "query Aliased { " + " ".join(f"a{n}: __typename" for n in range(31)) + " }"
PAGE = "query Page($first: Int) { verificationSessions(first: $first) { nodes { id } } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unique(document: str = COUNT) -> str:
    """`document` with a comment of its own in front: the same operation, a hash no other test
    uses."""
    return f"# {uuid.uuid4().hex}\n{document}"


def extensions(hash_: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": hash_}}


def post_hashed(
    api: Api,
    hash_: str,
    *,
    query: str | None = None,
    variables: dict[str, Any] | None = None,
    accept: str | None = None,
) -> httpx.Response:
    """POST as Apollo's link does: the hash alone, or (a registration) with the document."""
    body: dict[str, Any] = {"extensions": extensions(hash_)}
    if query is not None:
        body["query"] = query
    if variables is not None:
        body["variables"] = variables
    headers = {"Authorization": f"Bearer {api.key}"}
    if accept is not None:
        headers["Accept"] = accept
    return api.http.post("/graphql", json=body, headers=headers)


def get_hashed(
    api: Api, hash_: str, *, variables: dict[str, Any] | None = None, **params: str
) -> httpx.Response:
    """GET as Apollo's link does with `useGETForHashedQueries`: JSON in URL parameters."""
    query = {"extensions": json.dumps(extensions(hash_), separators=(",", ":")), **params}
    if variables is not None:
        query["variables"] = json.dumps(variables, separators=(",", ":"))
    return api.http.get("/graphql", params=query, headers={"Authorization": f"Bearer {api.key}"})


def stored(database: Database) -> list[str]:
    """The hashes in the shared store, most recently used first."""
    rows = database.execute(
        "SELECT sha256 FROM persisted_queries ORDER BY last_used DESC, sha256 DESC"
    )
    return [row[0] for row in rows]


def last_used(database: Database, hash_: str) -> Any:
    [(value,)] = database.execute(
        "SELECT last_used FROM persisted_queries WHERE sha256 = :sha256", {"sha256": hash_}
    )
    return value


@dataclasses.dataclass
class Clock:
    """The APQ store's clock in a test server, moved by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def clock_of(server: Server) -> Clock:
    clock = Clock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    server.app.state.persisted_queries.clock = clock
    return clock


@contextmanager
def server_on_own_database(database: Database, tmp_path: Path, **settings: Any) -> Iterator[Server]:
    """A server over a fresh database of the same backend as `database`, so that a store it
    trims holds nothing of other tests'."""
    backend = "sqlite" if database.url.startswith("sqlite") else "postgres"
    with fresh_database_url(backend, tmp_path / "own.sqlite3") as url:
        from app.migrations import upgrade

        upgrade(url)
        base = Settings(
            database_url=url, rate_limit_live_per_second=0, rate_limit_test_per_second=0
        )
        with running_server(dataclasses.replace(base, **settings), run_worker=False) as server:
            yield server


# --- the protocol ---------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
def test_an_unknown_hash_gets_persisted_query_not_found_with_200(
    api: Api, accept: str | None
) -> None:
    # when
    response = post_hashed(api, sha256(unique()), accept=accept)
    # then: exactly what Apollo's link waits for before it resends with the document
    assert response.status_code == 200
    assert response.json() == NOT_FOUND


def test_a_registration_runs_and_stores_the_document_for_the_hash_alone(api: Api) -> None:
    # given
    document = unique()
    hash_ = sha256(document)
    # when
    registered = post_hashed(api, hash_, query=document)
    again = post_hashed(api, hash_)
    # then
    assert registered.status_code == 200
    assert registered.json() == {"data": {"verificationSessions": {"totalCount": 0}}}
    assert again.status_code == 200
    assert again.json() == registered.json()
    assert hash_ in stored(api.server.database)


def test_a_stored_query_runs_with_variables_over_get_and_is_never_publicly_cacheable(
    api: Api,
) -> None:
    # given: a session of this account, and a query registered over POST
    created = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}})
    session_id = created["createVerificationSession"]["verificationSession"]["id"]
    document = unique("query Get($id: ID!) { verificationSession(id: $id) { id status } }")
    assert post_hashed(api, sha256(document), query=document).status_code == 200
    # when
    response = get_hashed(api, sha256(document), variables={"id": session_id})
    # then
    assert response.status_code == 200
    assert response.json() == {
        "data": {"verificationSession": {"id": session_id, "status": "REQUIRES_INPUT"}}
    }
    # the answer depends on the caller's key: no shared cache may keep it
    assert response.headers["cache-control"] == "private, no-store"
    assert "Authorization" in response.headers["vary"]


def test_an_unknown_hash_over_get_gets_not_found(api: Api) -> None:
    # when
    response = get_hashed(api, sha256(unique()))
    # then
    assert response.status_code == 200
    assert response.json() == NOT_FOUND
    assert response.headers["cache-control"] == "private, no-store"


def test_a_stored_mutation_is_refused_over_get_and_runs_over_post(api: Api) -> None:
    # given: a mutation registered (and so run once) over POST
    document = unique(CREATE_CREDENTIALS)
    variables = {"input": {"type": "DOCUMENT"}}
    registered = post_hashed(api, sha256(document), query=document, variables=variables)
    assert registered.json()["data"]["createVerificationSession"]["userErrors"] == []
    # when
    over_get = get_hashed(api, sha256(document), variables=variables)
    over_post = post_hashed(api, sha256(document), variables=variables)
    # then
    assert over_get.status_code == 405
    assert only_error(over_get)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert over_post.json()["data"]["createVerificationSession"]["userErrors"] == []
    total = api.gql("{ verificationSessions(first: 0) { totalCount } }")
    assert total == {"verificationSessions": {"totalCount": 2}}


def test_a_mutation_registered_over_get_is_refused_and_not_stored(api: Api) -> None:
    # given
    document = unique(CREATE_CREDENTIALS)
    # when
    response = get_hashed(
        api, sha256(document), variables={"input": {"type": "DOCUMENT"}}, query=document
    )
    # then
    assert response.status_code == 405
    assert sha256(document) not in stored(api.server.database)


# --- what is stored -------------------------------------------------------------------------


def test_a_hash_that_does_not_match_the_document_is_bad_user_input_and_stores_nothing(
    api: Api,
) -> None:
    # given
    document = unique()
    wrong = sha256(unique())
    # when
    response = post_hashed(api, wrong, query=document)
    # then
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert wrong in error["message"]
    assert "not the SHA-256 of `query`" in error["message"]
    assert "data" not in response.json()
    assert not {wrong, sha256(document)} & set(stored(api.server.database))
    assert post_hashed(api, wrong).json() == NOT_FOUND


@pytest.mark.parametrize(
    ("persisted_query", "message"),
    [
        ({"version": 1, "sha256Hash": "ABC"}, "must be 64 lowercase hexadecimal digits"),
        ({"version": 1, "sha256Hash": "A" * 64}, "must be 64 lowercase hexadecimal digits"),
        ({"version": 1, "sha256Hash": 12}, "must be 64 lowercase hexadecimal digits"),
        ({"version": 2, "sha256Hash": "a" * 64}, '{"version": 1, "sha256Hash": "<hex>"}'),
        ({"version": True, "sha256Hash": "a" * 64}, '{"version": 1, "sha256Hash": "<hex>"}'),
        ("a" * 64, '{"version": 1, "sha256Hash": "<hex>"}'),
    ],
    ids=["short", "uppercase", "number", "version-2", "version-true", "not-an-object"],
)
def test_a_malformed_persisted_query_is_400_naming_the_field(
    api: Api, persisted_query: object, message: str
) -> None:
    # when
    response = api.http.post(
        "/graphql",
        json={"extensions": {"persistedQuery": persisted_query}},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert response.status_code == 400
    error = only_error(response)
    assert error["message"].startswith("`extensions.persistedQuery")
    assert message in error["message"]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (DEEP, "QUERY_TOO_DEEP"),
        (ALIASED, "TOO_MANY_ALIASES"),
        (
            "query Budget { verificationSessions(first: 60000) { nodes { id } } }",
            "NODE_BUDGET_EXCEEDED",
        ),
        ("query Unknown { socialSecurityNumber }", "GRAPHQL_VALIDATION_FAILED"),
        ("query Broken { verificationSessions(", "GRAPHQL_PARSE_FAILED"),
    ],
    ids=["depth", "aliases", "node-budget", "validation", "syntax"],
)
def test_a_document_the_limits_refuse_is_answered_as_free_text_and_not_stored(
    api: Api, document: str, code: str
) -> None:
    # given
    text = unique(document)
    # when
    response = post_hashed(api, sha256(text), query=text)
    # then: the same refusal as the text alone gets, and nothing kept for the hash
    codes = [error["extensions"]["code"] for error in response.json()["errors"]]
    assert code in codes, response.json()
    assert api.post(text).json() == response.json()
    assert sha256(text) not in stored(api.server.database)
    assert post_hashed(api, sha256(text)).json() == NOT_FOUND


def test_the_node_budget_is_checked_with_the_registration_s_variables(api: Api) -> None:
    # given
    text = unique(PAGE)
    # when: registered with variables over the budget, then with variables within it
    refused = post_hashed(api, sha256(text), query=text, variables={"first": 60000})
    hashed_after_refusal = post_hashed(api, sha256(text), variables={"first": 1})
    accepted = post_hashed(api, sha256(text), query=text, variables={"first": 1})
    # then
    assert only_error(refused)["extensions"] == {"code": "NODE_BUDGET_EXCEEDED"}
    assert hashed_after_refusal.json() == NOT_FOUND
    assert accepted.json() == {"data": {"verificationSessions": {"nodes": []}}}
    assert sha256(text) in stored(api.server.database)
    # and: the stored document is still measured per request
    over = post_hashed(api, sha256(text), variables={"first": 60000})
    assert only_error(over)["extensions"] == {"code": "NODE_BUDGET_EXCEEDED"}


def test_a_document_too_long_to_store_runs_but_is_not_stored(api: Api) -> None:
    # given: a valid document padded past what the store keeps (not past MAX_BODY_BYTES)
    text = unique() + " " * MAX_STORED_CHARACTERS
    # when
    response = post_hashed(api, sha256(text), query=text)
    # then
    assert response.json() == {"data": {"verificationSessions": {"totalCount": 0}}}
    assert sha256(text) not in stored(api.server.database)


def test_a_document_stored_by_one_process_runs_on_another(api: Api) -> None:
    # given: a document registered through the shared server
    document = unique()
    assert post_hashed(api, sha256(document), query=document).status_code == 200
    # when: a second process over the same database gets its hash alone
    with (
        running_server(api.server.settings, run_worker=False) as second,
        client_of(second) as other,
    ):
        response = post_hashed(other, sha256(document))
    # then
    assert response.json() == {"data": {"verificationSessions": {"totalCount": 0}}}


def test_apq_store_size_zero_answers_not_supported_and_runs_registrations(
    server: Server,
) -> None:
    with (
        running_server(
            dataclasses.replace(server.settings, apq_store_size=0), run_worker=False
        ) as off,
        client_of(off) as api,
    ):
        document = unique()
        # when
        hashed = post_hashed(api, sha256(document))
        registered = post_hashed(api, sha256(document), query=document)
        # then: Apollo's link stops hashing on this answer and sends documents as they are
        assert hashed.json() == NOT_SUPPORTED
        assert registered.json() == {"data": {"verificationSessions": {"totalCount": 0}}}
        assert sha256(document) not in stored(off.database)


# --- the bound and recency ------------------------------------------------------------------


def test_the_store_keeps_its_bound_and_evicts_the_least_recently_used(
    database: Database, tmp_path: Path
) -> None:
    with (
        server_on_own_database(database, tmp_path, apq_store_size=3) as small,
        client_of(small) as api,
    ):
        clock = clock_of(small)
        a, b, c, d = (unique() for _ in range(4))
        # given: three documents registered a second apart: a, then b, then c
        for document in (a, b, c):
            assert post_hashed(api, sha256(document), query=document).status_code == 200
            clock.advance(timedelta(seconds=1))
        # and: a used again once its recency is due to be written, so b is now the oldest
        clock.advance(TOUCH_INTERVAL)
        assert "data" in post_hashed(api, sha256(a)).json()
        wait_for(
            lambda: stored(small.database)[0],
            lambda newest: newest == sha256(a),
            what="a's use to reach the store",
        )
        # when: a fourth document is registered, a second later
        clock.advance(timedelta(seconds=1))
        assert post_hashed(api, sha256(d), query=d).status_code == 200
        # then: the store holds three, and b is gone, from the store and from this process
        assert stored(small.database) == [sha256(d), sha256(a), sha256(c)]
        assert post_hashed(api, sha256(b)).json() == NOT_FOUND
        for kept in (a, c, d):
            assert "data" in post_hashed(api, sha256(kept)).json()


def test_hits_write_recency_at_most_once_per_interval(database: Database, tmp_path: Path) -> None:
    with (
        server_on_own_database(database, tmp_path, apq_store_size=10) as own,
        client_of(own) as api,
    ):
        clock = clock_of(own)
        document = unique()
        assert post_hashed(api, sha256(document), query=document).status_code == 200
        registered_at = last_used(own.database, sha256(document))
        # when: the document is used again and again within the interval
        for _ in range(20):
            clock.advance((TOUCH_INTERVAL - timedelta(seconds=1)) / 20)
            assert "data" in post_hashed(api, sha256(document)).json()
        # then: nothing was written
        assert last_used(own.database, sha256(document)) == registered_at
        # when: one more use, once the interval has passed since the registration
        clock.advance(timedelta(seconds=2))
        assert "data" in post_hashed(api, sha256(document)).json()
        # then: its recency is written, once
        wait_for(
            lambda: last_used(own.database, sha256(document)),
            lambda value: value != registered_at,
            what="the touch",
        )
