"""Trusted documents (GraphQL-over-HTTP, Appendix A) over real HTTP: every saved operation by its
`documentId`, the manifests of PERSISTED_DOCUMENTS_FILE (Apollo's and Relay's), and
PERSISTED_DOCUMENTS=only, which runs those and nothing else (introspection too, outside
development), while the playground keeps working in development.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType, get_introspection_query, parse

from tests.api.test_playground import NEEDS_AN_ATTEMPT, OPERATIONS, PLACEHOLDER, SIMULATE_VERIFIED
from tests.conftest import Api, Server, client_of, running_server
from tests.helpers import only_error

GRAPHQL_RESPONSE = "application/graphql-response+json"
TYPENAME = "{ __typename }"
COUNT = "query Count { verificationSessions(first: 0) { totalCount } }"
RELAY_TEXT = "query RelayCount {\n  verificationSessions(first: 0) {\n    totalCount\n  }\n}\n"
RELAY_ID = "5e0ab2f4d1c7a9b3e8f6c4d2a0b9e7f5"  # Relay's MD5-style custom id, kept as it is
APOLLO_BODY = "query ApolloTypename { __typename }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def saved(name: str) -> tuple[str, str, dict[str, Any]]:
    """A saved operation's `documentId` (the SHA-256 of the file's bytes exactly as written),
    text and example variables."""
    raw = (OPERATIONS / f"{name}.graphql").read_bytes()
    variables = json.loads((OPERATIONS / f"{name}.variables.json").read_text(encoding="utf-8"))
    return f"sha256:{hashlib.sha256(raw).hexdigest()}", raw.decode("utf-8"), variables


def saved_names() -> list[str]:
    return sorted(path.stem for path in OPERATIONS.glob("*.graphql"))


def over_http(name: str) -> bool:
    """Whether the saved operation runs over HTTP (a subscription needs a WebSocket)."""
    [operation] = [
        definition
        for definition in parse(saved(name)[1]).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    return operation.operation != OperationType.SUBSCRIPTION


def post(api: Api, body: dict[str, Any], *, accept: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.key}"}
    if accept is not None:
        headers["Accept"] = accept
    return api.http.post("/graphql", json=body, headers=headers)


def by_id(api: Api, document_id: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a trusted document by id over POST; its data, asserting no errors."""
    response = post(api, {"documentId": document_id, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def manifests(folder: Path) -> tuple[Path, Path]:
    """An Apollo persisted-query manifest and a Relay `{id: text}` map, written to `folder`."""
    apollo = folder / "apollo-manifest.json"
    apollo.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {
                        "id": sha256(APOLLO_BODY),
                        "name": "ApolloTypename",
                        "type": "query",
                        "body": APOLLO_BODY,
                    }
                ],
            }
        )
    )
    relay = folder / "relay-persisted.json"
    relay.write_text(json.dumps({RELAY_ID: RELAY_TEXT}))
    return apollo, relay


@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("manifests")


@pytest.fixture(scope="module")
def only_server(server: Server, manifest_dir: Path) -> Iterator[Server]:
    """PERSISTED_DOCUMENTS=only in production, with both manifests, over the shared database."""
    settings = dataclasses.replace(
        server.settings,
        persisted_documents="only",
        persisted_documents_files=manifests(manifest_dir),
    )
    with running_server(settings, run_worker=False) as started:
        yield started


@pytest.fixture
def only_api(only_server: Server) -> Iterator[Api]:
    with client_of(only_server) as client:
        yield client


@pytest.fixture(scope="module")
def development_only_server(server: Server) -> Iterator[Server]:
    settings = dataclasses.replace(
        server.settings, persisted_documents="only", gateway_env="development"
    )
    with running_server(settings, run_worker=False) as started:
        yield started


# --- every saved operation by its id ----------------------------------------------------------


def test_every_saved_operation_has_a_trusted_id(api: Api) -> None:
    for name in saved_names():
        document_id, text, _ = saved(name)
        # the id is Appendix A's: the hash of the text exactly as written
        assert document_id == f"sha256:{sha256(text)}"


@pytest.mark.parametrize("mode", ["allow", "only"])
@pytest.mark.parametrize(
    "name", [n for n in saved_names() if n != "CreateVerificationSession" and over_http(n)]
)
def test_saved_operation_runs_by_document_id(api: Api, only_api: Api, mode: str, name: str) -> None:
    client = api if mode == "allow" else only_api
    # given: a session made by the saved create operation, by its id
    create_id, _, create_variables = saved("CreateVerificationSession")
    created = by_id(client, create_id, create_variables)["createVerificationSession"]
    assert created["userErrors"] == []
    session_id = created["verificationSession"]["id"]
    if name in NEEDS_AN_ATTEMPT:
        simulated = client.post(SIMULATE_VERIFIED, {"id": session_id})
        if mode == "only":  # free text is refused there: simulate through the other server
            assert only_error(simulated)["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
            simulated = api.http.post(
                "/graphql",
                json={"query": SIMULATE_VERIFIED, "variables": {"id": session_id}},
                headers={"Authorization": f"Bearer {client.key}"},
            )
        assert simulated.json()["data"]["simulateVerificationSession"]["userErrors"] == []
    # when
    document_id, _, variables = saved(name)
    variables = json.loads(json.dumps(variables).replace(PLACEHOLDER, session_id))
    data = by_id(client, document_id, variables)
    # then
    payload = next(iter(data.values()))
    assert payload is not None
    assert payload.get("userErrors", []) == []
    assert session_id in json.dumps(payload)


def test_a_saved_query_runs_by_document_id_over_get(api: Api) -> None:
    # when
    document_id, _, _ = saved("ListVerificationSessions")
    response = api.http.get(
        "/graphql",
        params={"documentId": document_id, "variables": json.dumps({"first": 2})},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert response.status_code == 200
    assert response.json()["data"]["verificationSessions"]["edges"] == []
    assert response.headers["cache-control"] == "private, no-store"


def test_a_saved_mutation_by_document_id_over_get_is_405_and_writes_nothing(api: Api) -> None:
    # when
    document_id, _, variables = saved("CreateVerificationSession")
    response = api.http.get(
        "/graphql",
        params={"documentId": document_id, "variables": json.dumps(variables)},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    count = api.gql("{ verificationSessions(first: 0) { totalCount } }")
    assert count == {"verificationSessions": {"totalCount": 0}}


# --- ids that name nothing ----------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "status"), [(None, 200), (GRAPHQL_RESPONSE, 400)])
def test_an_unknown_document_id_is_persisted_document_not_found(
    api: Api, accept: str | None, status: int
) -> None:
    # when
    unknown = f"sha256:{sha256('query Nobody { __typename }')}"
    response = post(api, {"documentId": unknown}, accept=accept)
    # then
    assert response.status_code == status
    assert response.json() == {
        "errors": [
            {
                "message": f"No trusted document has the id `{unknown}`.",
                "extensions": {"code": "PERSISTED_DOCUMENT_NOT_FOUND"},
            }
        ]
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"documentId": "sha256:ABC"}, "`documentId` must be `sha256:` followed by 64 lowercase"),
        ({"documentId": "md5:abc"}, "`documentId` must be `sha256:<64 lowercase hex digits>`"),
        ({"documentId": "has space"}, "`documentId` must be `sha256:<64 lowercase hex digits>`"),
        ({"documentId": "a" * 300}, "`documentId` is longer than 256 characters."),
        ({"documentId": 7}, "`documentId` must be a string."),
        (
            {"documentId": f"sha256:{'a' * 64}", "query": TYPENAME},
            "`documentId` names the document: send it without `query`",
        ),
    ],
    ids=["uppercase", "reserved-prefix", "space", "long", "number", "with-query"],
)
def test_a_malformed_document_id_is_400_naming_the_field(
    api: Api, body: dict[str, Any], message: str
) -> None:
    # when
    response = post(api, body)
    # then
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"].startswith(message), error["message"]


# --- manifests from PERSISTED_DOCUMENTS_FILE ----------------------------------------------------


def test_a_relay_map_runs_by_its_own_id_and_by_its_hash(only_api: Api) -> None:
    # when / then: Relay's id as relay-compiler wrote it, and Appendix A's id of the same text
    for document_id in (RELAY_ID, f"sha256:{sha256(RELAY_TEXT)}"):
        assert by_id(only_api, document_id) == {"verificationSessions": {"totalCount": 0}}


def test_an_apollo_manifest_runs_by_id_and_by_its_apq_hash(only_api: Api) -> None:
    # when
    hashed = post(
        only_api,
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(APOLLO_BODY)}}},
    )
    # then: Apollo's link, built from the manifest, sends hashes only
    assert hashed.json() == {"data": {"__typename": "Query"}}
    assert by_id(only_api, sha256(APOLLO_BODY)) == {"__typename": "Query"}
    assert by_id(only_api, f"sha256:{sha256(APOLLO_BODY)}") == {"__typename": "Query"}


# --- PERSISTED_DOCUMENTS=only ---------------------------------------------------------------


def required(response: httpx.Response) -> None:
    assert response.json() == {
        "errors": [
            {
                "message": "This gateway runs trusted documents only (PERSISTED_DOCUMENTS=only): "
                "send the `documentId` of a document in its manifest instead of `query`.",
                "extensions": {"code": "PERSISTED_DOCUMENT_REQUIRED"},
            }
        ]
    }


@pytest.mark.parametrize(("accept", "status"), [(None, 200), (GRAPHQL_RESPONSE, 400)])
def test_only_mode_refuses_free_text(only_api: Api, accept: str | None, status: int) -> None:
    # when
    response = post(only_api, {"query": COUNT}, accept=accept)
    # then
    assert response.status_code == status
    required(response)


def test_only_mode_refuses_free_text_over_get(only_api: Api) -> None:
    # when
    response = only_api.http.get("/graphql", params={"query": COUNT})
    # then
    assert response.status_code == 200
    required(response)


def test_only_mode_refuses_introspection_in_production(only_api: Api) -> None:
    # when
    response = post(only_api, {"query": get_introspection_query()})
    # then
    required(response)


def test_only_mode_refuses_apq_registrations_and_stores_nothing(only_api: Api) -> None:
    # given
    text = f"# {only_api.account_id}\n{COUNT}"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}
    # when
    response = post(only_api, {"query": text, "extensions": extensions})
    # then
    required(response)
    rows = only_api.server.database.execute(
        "SELECT sha256 FROM persisted_queries WHERE sha256 = :sha256", {"sha256": sha256(text)}
    )
    assert rows == []


def test_only_mode_does_not_run_documents_stored_through_apq(api: Api, only_api: Api) -> None:
    # given: a document registered through a server in allow mode over the same database
    text = f"# {api.account_id}\n{COUNT}"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}
    assert "data" in post(api, {"query": text, "extensions": extensions}).json()
    # when
    response = post(only_api, {"extensions": extensions})
    # then: not found, so Apollo's link resends the text, which only mode refuses
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_only_mode_runs_the_exact_text_of_a_trusted_document(only_api: Api) -> None:
    # given: the text of a saved operation, exactly as the file has it (what GraphiQL sends for
    # an unedited tab)
    _, text, _ = saved("ListVerificationSessions")
    # when
    exact = post(only_api, {"query": text, "variables": {"first": 1}})
    edited = post(only_api, {"query": text + " ", "variables": {"first": 1}})
    # then
    assert exact.json()["data"]["verificationSessions"]["edges"] == []
    required(edited)


def test_development_only_mode_allows_introspection_and_the_playground(
    development_only_server: Server,
) -> None:
    with client_of(development_only_server) as client:
        # when
        introspection = post(client, {"query": get_introspection_query()})
        page = client.http.get("/graphql", headers={"Accept": "text/html"})
        tabs = client.http.get("/playground/operations.json").json()
        first_tab = post(
            client, {"query": tabs[0]["query"], "variables": json.loads(tabs[0]["variables"])}
        )
        other = post(client, {"query": COUNT})
        mixed = post(client, {"query": "{ __typename verificationSessions { totalCount } }"})
    # then: GraphiQL can draw its docs and run its saved tabs; nothing else runs
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert page.status_code == 200
    assert "GraphiQL" in page.text
    assert "data" in first_tab.json(), first_tab.json()
    required(other)
    required(mixed)
