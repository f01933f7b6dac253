"""Other people's persisted-query clients, unchanged, against a live gateway.

- Apollo Client 4's persisted-queries link (clients/apollo/persisted.mjs, SHA-256 from Node's
  crypto): the hash alone, PersistedQueryNotFound, the resend with the document, then the hash
  alone succeeding; over GET with `useGETForHashedQueries`, and never a mutation over GET. The
  script records every request through the fetch its HttpLink uses.
- relay-compiler with `persistConfig` writing its `{id: text}` map to a file in a temporary copy
  of clients/relay, a gateway started with PERSISTED_DOCUMENTS_FILE naming that file and
  PERSISTED_DOCUMENTS=only, and relay-runtime (clients/relay/persisted.mjs) sending ids alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.clients.conftest import CLIENTS, ROOT, node_tool, run_node, run_tool
from tests.conftest import Api, Server, client_of, running_server

APOLLO = CLIENTS / "apollo" / "persisted.mjs"
RELAY = CLIENTS / "relay"
HASH = re.compile(r"[0-9a-f]{64}")


def stored(server: Server, hash_: str) -> bool:
    rows = server.database.execute(
        "SELECT sha256 FROM persisted_queries WHERE sha256 = :sha256", {"sha256": hash_}
    )
    return bool(rows)


def test_apollo_persisted_queries_link_registers_once_then_sends_hashes(api: Api) -> None:
    # when
    result = run_node(APOLLO, url=api.server.base_url, key=api.key)
    # then: the script's own checks passed, for each case
    lines = result.stdout.splitlines()
    cases = {line.split(":")[0]: line for line in lines if "hash alone" in line}
    assert set(cases) == {"query over POST", "mutation", "query with useGETForHashedQueries"}
    assert cases["query over POST"].startswith("query over POST: POST, POST, POST:")
    assert cases["mutation"].startswith("mutation: POST, POST, POST:")
    assert cases["query with useGETForHashedQueries"].startswith(
        "query with useGETForHashedQueries: GET, POST, GET:"
    )
    assert "9 requests in all; the mutation ran twice, never over GET" in lines
    # and: each document is now in the shared store, under the hash the link computed
    for line in cases.values():
        [hash_] = HASH.findall(line)
        assert stored(api.server, hash_)
    sessions = api.gql("{ verificationSessions(first: 10) { nodes { clientReferenceId } } }")
    assert len(sessions["verificationSessions"]["nodes"]) == 2


@pytest.mark.parametrize("algorithm", ["MD5", "SHA256"])
def test_relay_persisted_queries_run_by_id_alone_on_a_trusted_only_gateway(
    server: Server, tmp_path: Path, algorithm: str
) -> None:
    # given: clients/relay compiled with persistConfig into a copy, its map in a local file
    project = tmp_path / "relay"
    shutil.copytree(RELAY / "src", project / "src", ignore=shutil.ignore_patterns("*.graphql.js"))
    persisted = tmp_path / "persisted-queries.json"
    persisted.write_text("{}")  # relay-compiler refuses a persistConfig file that does not exist
    config = json.loads((RELAY / "relay.config.json").read_text())
    config["schema"] = str(ROOT / "schema.graphql")
    config["persistConfig"] = {"file": str(persisted), "algorithm": algorithm}
    (project / "relay.config.json").write_text(json.dumps(config))
    run_tool([node_tool("relay-compiler"), "relay.config.json"], cwd=project, timeout=120)
    documents: dict[str, str] = json.loads(persisted.read_text())
    # `query SessionsListQuery(…`: each operation's name
    names = {text.split()[1].split("(")[0] for text in documents.values()}
    assert {
        "CreateSessionMutation",
        "SessionsListQuery",
        "SessionsListPaginationQuery",
        "SessionRowRefetchQuery",
    } <= names
    digest = hashlib.md5 if algorithm == "MD5" else hashlib.sha256
    for document_id, text in documents.items():
        assert document_id == digest(text.encode()).hexdigest()
    # and: a gateway that runs those documents and nothing else
    settings = dataclasses.replace(
        server.settings, persisted_documents="only", persisted_documents_files=(persisted,)
    )
    with running_server(settings, run_worker=False) as only, client_of(only) as api:
        # when
        result = run_tool(
            ["node", RELAY / "persisted.mjs"],
            cwd=RELAY,
            env={
                "GATEWAY_URL": f"{only.base_url}/graphql",
                "GATEWAY_KEY": api.key,
                "RELAY_ARTIFACTS": str(project / "src" / "__generated__"),
            },
            timeout=120,
        )
        # then
        assert (
            "relay-runtime sent 5 requests by documentId alone: 3 creates, the list of 3, "
            "one refetch" in result.stdout
        ), result.stdout
        # and: free text is refused by that gateway
        refused = api.post("{ verificationSessions(first: 0) { totalCount } }").json()
        assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
