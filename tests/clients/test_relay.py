"""Relay against schema.graphql and a live gateway: relay-compiler compiles the fragments of
clients/relay/src (a connection with @connection, @refetchable on Query and on a Node type,
@prependNode on create, a subscription), clients/relay/page.mjs runs the generated artifacts on
relay-runtime, paging through every session of an account into one merged connection, and
clients/relay/subscribe.mjs watches a session with requestSubscription over graphql-ws.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import CLIENTS, ROOT, node_tool, run_node, run_tool
from tests.conftest import Api

RELAY = CLIENTS / "relay"
GENERATED = RELAY / "src" / "__generated__"

ARTIFACTS = {
    "CreateSessionMutation",
    "SessionRowRefetchQuery",
    "SessionRow_session",
    "SessionsListPaginationQuery",
    "SessionsListQuery",
    "SessionsList_query",
    "WatchSessionSubscription",
}

# Loads every generated artifact (CommonJS, see src/__generated__/package.json) and prints them as
# JSON, with the graphql-js validation errors of each operation's text against schema.graphql:
# the text is what relay-runtime sends, so the gateway must accept it.
DUMP_ARTIFACTS = """
const fs = require('node:fs');
const path = require('node:path');
const { buildSchema, parse, validate, getNamedType } = require('graphql');
const schema = buildSchema(fs.readFileSync(process.argv[1], 'utf8'));
const dir = path.resolve('src/__generated__');
const artifacts = {};
for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.graphql.js'))) {
  const artifact = require(path.join(dir, file));
  if (artifact.params) {
    artifact.validationErrors = validate(schema, parse(artifact.params.text)).map(String);
  }
  artifacts[file.replace(/\\.graphql\\.js$/, '')] = artifact;
}
const edges = schema.getType('VerificationSessionConnection').getFields().edges;
console.log(JSON.stringify({ artifacts, edgeType: getNamedType(edges.type).name }));
"""


def relay_compiler(*args: str | Path, cwd: Path = RELAY, expect_success: bool = True) -> Any:
    return run_tool(
        [node_tool("relay-compiler"), *args],
        cwd=cwd,
        timeout=120,
        expect_success=expect_success,
    )


@pytest.fixture(scope="module")
def compiled() -> dict[str, Any]:
    """Compile clients/relay from scratch (once per module); the artifacts as JSON and the
    connection's edge type in schema.graphql."""
    for stale in GENERATED.glob("*.graphql.js"):
        stale.unlink()
    relay_compiler()
    # Nothing left to write: the artifacts on disk are exactly what the sources compile to.
    relay_compiler("--validate")
    dump = run_tool(["node", "-e", DUMP_ARTIFACTS, ROOT / "schema.graphql"], cwd=RELAY)
    result: dict[str, Any] = json.loads(dump.stdout)
    return result


def find(node: Any, **match: Any) -> list[dict[str, Any]]:
    """Every dict nested anywhere in `node` that has all the `match` items."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if all(node.get(key) == value for key, value in match.items()):
            found.append(node)
        for value in node.values():
            found += find(value, **match)
    elif isinstance(node, list):
        for value in node:
            found += find(value, **match)
    return found


def test_relay_compiler_generates_the_artifacts(compiled: dict[str, Any]) -> None:
    artifacts = compiled["artifacts"]
    assert set(artifacts) == ARTIFACTS
    assert {path.name for path in GENERATED.glob("*.graphql.js")} == {
        f"{name}.graphql.js" for name in ARTIFACTS
    }
    operations = {name: artifact for name, artifact in artifacts.items() if "params" in artifact}
    assert set(operations) == {
        "CreateSessionMutation",
        "SessionRowRefetchQuery",
        "SessionsListPaginationQuery",
        "SessionsListQuery",
        "WatchSessionSubscription",
    }
    for name, operation in operations.items():
        assert operation["params"]["name"] == name
        assert operation["validationErrors"] == [], name

    # @refetchable on a Node type: the generated query reads the session through node(id:).
    refetch = artifacts["SessionRowRefetchQuery"]["params"]
    assert refetch["operationKind"] == "query"
    assert "node(id: $id) {" in refetch["text"]
    row_refetch = artifacts["SessionRow_session"]["metadata"]["refetch"]
    assert row_refetch["operation"]["params"]["name"] == "SessionRowRefetchQuery"
    assert row_refetch["fragmentPathInResult"] == ["node"]
    assert row_refetch["identifierInfo"]["identifierField"] == "id"

    # @connection plus @refetchable on Query: a forward pagination query over $count/$cursor.
    metadata = artifacts["SessionsList_query"]["metadata"]
    assert metadata["connection"] == [
        {
            "count": "count",
            "cursor": "cursor",
            "direction": "forward",
            "path": ["verificationSessions"],
        }
    ]
    assert metadata["refetch"]["operation"]["params"]["name"] == "SessionsListPaginationQuery"
    assert find(
        artifacts["SessionsList_query"],
        kind="LinkedField",
        name="__SessionsList_verificationSessions_connection",
        alias="verificationSessions",
    )
    pagination = artifacts["SessionsListPaginationQuery"]["params"]["text"]
    assert "verificationSessions(first: $count, after: $cursor) {" in pagination

    # @prependNode: a client-side handle; $connections never reaches the server.
    mutation = artifacts["CreateSessionMutation"]
    [handle] = find(mutation["operation"], kind="LinkedHandle", handle="prependNode")
    assert handle["name"] == "verificationSession"
    edge_type = {arg["name"]: arg.get("value") for arg in handle["handleArgs"]}["edgeTypeName"]
    assert edge_type == compiled["edgeType"] == "VerificationSessionEdge"
    assert "connections" not in mutation["params"]["text"]

    # The subscription spreads the row fragment, so its messages update what rows read.
    watch = artifacts["WatchSessionSubscription"]["params"]
    assert watch["operationKind"] == "subscription"
    assert "verificationSession(id: $id) {" in watch["text"]
    assert "fragment SessionRow_session on VerificationSession" in watch["text"]


def test_relay_compiler_rejects_an_unknown_field(tmp_path: Path) -> None:
    """The same sources and config, copied: they compile, and adding a fragment that selects a
    field VerificationSession lacks makes relay-compiler fail, naming the field."""
    shutil.copytree(RELAY / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.graphql.js"))
    config = json.loads((RELAY / "relay.config.json").read_text())
    config["schema"] = str(ROOT / "schema.graphql")
    (tmp_path / "relay.config.json").write_text(json.dumps(config))
    generated = tmp_path / "src" / "__generated__"

    relay_compiler("relay.config.json", cwd=tmp_path)
    assert (generated / "SessionRow_session.graphql.js").exists()

    (tmp_path / "src" / "SessionBroken.js").write_text(
        "import { graphql } from 'relay-runtime';\n\n"
        "export const SessionBroken_session = graphql`\n"
        "  fragment SessionBroken_session on VerificationSession {\n"
        "    id\n"
        "    socialSecurityNumber\n"
        "  }\n"
        "`;\n"
    )
    result = relay_compiler("relay.config.json", cwd=tmp_path, expect_success=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "socialSecurityNumber" in output, output
    assert "VerificationSession" in output, output
    assert not (generated / "SessionBroken_session.graphql.js").exists()


def test_relay_runtime_pages_through_every_session(compiled: dict[str, Any], api: Api) -> None:
    result = run_node(RELAY / "page.mjs", url=api.server.base_url, key=api.key)
    assert "23 sessions merged from 5 pages (5+5+5+5+3), each once" in result.stdout, result.stdout
    # What the script did is on the server too: the account has exactly those sessions.
    count = api.gql("{ verificationSessions(first: 0) { totalCount } }")
    assert count == {"verificationSessions": {"totalCount": 23}}


STATUS = """
query Status($id: ID!) { verificationSession(id: $id) { status metadata } }
"""


def test_relay_runtime_subscription_updates_the_store(compiled: dict[str, Any], api: Api) -> None:
    # when: relay-runtime watches a new session over graphql-ws while mutations change it
    result = run_node(RELAY / "subscribe.mjs", url=api.server.base_url, key=api.key)
    # then: its checks passed, each change reaching the store
    match = re.search(
        r"relay requestSubscription: (vs_\w+) went REQUIRES_INPUT -> CANCELED in the store",
        result.stdout,
    )
    assert match, result.stdout
    # and: the gateway holds the session as the subscription last showed it
    assert api.gql(STATUS, {"id": match[1]})["verificationSession"] == {
        "status": "CANCELED",
        "metadata": {"order": "1001"},
    }
