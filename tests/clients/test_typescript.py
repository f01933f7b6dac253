"""TypeScript types for every saved playground operation, checked by the TypeScript compiler.

graphql-codegen (clients/typescript/codegen.ts: typescript-operations and typed-document-node,
`strictScalars`, our scalars mapped) writes clients/typescript/src/generated/graphql.ts from
schema.graphql and playground/operations; it is gitignored and written once per test module. tsc
then type-checks it with the example client in strict mode, must reject code that misuses the
generated types, and compiles the example client, which runs against a live gateway.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from graphql import (
    GraphQLScalarType,
    OperationDefinitionNode,
    build_schema,
    parse,
    specified_scalar_types,
)

from tests.clients.conftest import CLIENTS, ROOT, node_tool, run_node, run_tool
from tests.conftest import Api

TYPESCRIPT = CLIENTS / "typescript"
GENERATED = TYPESCRIPT / "src" / "generated" / "graphql.ts"
OPERATIONS = ROOT / "playground" / "operations"
# What each custom scalar of schema.graphql is in TypeScript.
SCALARS = {"DateTime": "string", "Metadata": "Record<string, string>", "JSON": "unknown"}

# Prints the codegen config as graphql-codegen itself loads it from codegen.ts.
LOAD_CONFIG = """
import { loadCodegenConfig } from "@graphql-codegen/cli";
const { config } = await loadCodegenConfig({ configFilePath: "codegen.ts" });
console.log(JSON.stringify(config));
"""

GET = """
query Get($id: ID!) { verificationSession(id: $id) { id status clientReferenceId metadata } }
"""

# One file per misuse of the generated types, each with the one error tsc must report for it (its
# code and a piece of its message), and beside them a correct use that must compile cleanly.
MISUSES = {
    "status_as_number.ts": (
        """
import type { CreateVerificationSessionMutation } from "./generated/graphql.js";
declare const data: CreateVerificationSessionMutation;
export const status: number = data.createVerificationSession.verificationSession!.status;
""",
        "TS2322",
        "is not assignable to type 'number'",
    ),
    "unknown_enum_value.ts": (
        """
import type { CreateVerificationSessionMutationVariables } from "./generated/graphql.js";
export const variables: CreateVerificationSessionMutationVariables = {
  input: { type: "SELFIE" },
};
""",
        "TS2322",
        """Type '"SELFIE"' is not assignable""",
    ),
    "wrong_variable.ts": (
        """
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { GetVerificationSessionDocument } from "./generated/graphql.js";
declare function request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R>;
export const result = request(GetVerificationSessionDocument, { sessionId: "vs_1" });
""",
        "TS2353",
        "'sessionId' does not exist",
    ),
    "unselected_field.ts": (
        """
import type { GetVerificationSessionQuery } from "./generated/graphql.js";
declare const data: GetVerificationSessionQuery;
export const secret = data.verificationSession?.clientSecret;
""",
        "TS2339",
        "Property 'clientSecret' does not exist",
    ),
    "metadata_values.ts": (
        """
import type { GetVerificationSessionQuery } from "./generated/graphql.js";
declare const data: GetVerificationSessionQuery;
export const counts: Record<string, number> | undefined = data.verificationSession?.metadata;
""",
        "TS2322",
        "'Record<string, string> | undefined' is not assignable",
    ),
}
CORRECT_USE = """
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  GetVerificationSessionDocument,
  type CreateVerificationSessionMutation,
  type CreateVerificationSessionMutationVariables,
  type ListEventsQuery,
} from "./generated/graphql.js";
declare function request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R>;
declare const created: CreateVerificationSessionMutation;
declare const events: ListEventsQuery;
const session = created.createVerificationSession.verificationSession;
export const status: "REQUIRES_INPUT" | "PROCESSING" | "VERIFIED" | "CANCELED" | undefined =
  session?.status;
export const when: string | undefined = session?.created;
export const order: string | undefined = session?.metadata["order"];
export const data: unknown = events.events.nodes[0]?.data;
export const variables: CreateVerificationSessionMutationVariables = {
  input: { type: "DOCUMENT", metadata: { order: "1001" } },
};
export const fetched = request(GetVerificationSessionDocument, { id: "vs_1" });
"""
TSC_ERROR = re.compile(
    r"^(?P<file>[^\s(]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): (?P<message>.*)$"
)


def saved_operations() -> dict[str, str]:
    """Each saved operation's name and kind ("query" or "mutation")."""
    operations: dict[str, str] = {}
    for path in sorted(OPERATIONS.glob("*.graphql")):
        for definition in parse(path.read_text(encoding="utf-8")).definitions:
            assert isinstance(definition, OperationDefinitionNode), path
            assert definition.name is not None, f"{path.name} has an anonymous operation"
            operations[definition.name.value] = definition.operation.value
    return operations


def custom_scalars() -> set[str]:
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    return {
        name
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLScalarType) and name not in specified_scalar_types
    }


def type_declaration(generated: str, name: str) -> str:
    """The text of `export type <name> = ...;` in the generated module."""
    match = re.search(rf"^export type {name} = (.*?);$", generated, re.MULTILINE | re.DOTALL)
    assert match, f"{name} is not in {GENERATED}"
    return match.group(1)


def tsc(
    *args: str | Path, cwd: Path = TYPESCRIPT, expect_success: bool = True
) -> subprocess.CompletedProcess[str]:
    return run_tool([node_tool("tsc"), *args], cwd=cwd, timeout=180, expect_success=expect_success)


def link_node_modules(directory: Path) -> None:
    """Let code in `directory` (outside clients/) import the npm packages of clients/, as ES
    modules like clients/ itself."""
    (directory / "node_modules").symlink_to(CLIENTS / "node_modules", target_is_directory=True)
    (directory / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")


@pytest.fixture(scope="module")
def generated() -> str:
    """Run graphql-codegen with clients/typescript/codegen.ts; the module it writes."""
    GENERATED.unlink(missing_ok=True)
    run_tool([node_tool("graphql-codegen"), "--config", "codegen.ts"], cwd=TYPESCRIPT, timeout=180)
    return GENERATED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example_js(generated: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clients/typescript compiled to JavaScript in a temporary directory; the example's path."""
    build = tmp_path_factory.mktemp("typescript-build")
    tsc("-p", TYPESCRIPT, "--noEmit", "false", "--outDir", build)
    link_node_modules(build)
    return build / "src" / "example.js"


def test_codegen_writes_types_and_a_document_for_every_saved_operation(generated: str) -> None:
    # given: the saved operations
    operations = saved_operations()
    assert len(operations) >= 11
    # then: each has its result type, its variables type and a typed document
    for name, kind in operations.items():
        result = f"{name}{kind.capitalize()}"
        assert f"export type {result} = " in generated, result
        assert f"export type {result}Variables = Exact<" in generated, result
        assert re.search(
            rf"^export const {name}Document = .* as unknown as "
            rf"DocumentNode<{result}, {result}Variables>;$",
            generated,
            re.MULTILINE,
        ), f"{name}Document"
    # and: only those
    documents = re.findall(r"^export const (\w+)Document = ", generated, re.MULTILINE)
    assert sorted(documents) == sorted(operations)


def test_codegen_maps_every_custom_scalar_and_types_nothing_as_any(generated: str) -> None:
    # given: the config graphql-codegen loads
    loaded = run_tool(["node", "--input-type=module", "-e", LOAD_CONFIG], cwd=TYPESCRIPT)
    (output,) = json.loads(loaded.stdout)["generates"].values()
    # then: strictScalars (generation fails on an unmapped scalar) and every scalar mapped
    assert output["config"]["strictScalars"] is True
    assert output["config"]["scalars"] == SCALARS
    assert set(SCALARS) == custom_scalars()
    # and: the fields of those scalars carry the mapped types
    create = type_declaration(generated, "CreateVerificationSessionMutation")
    assert "created: string," in create
    assert "metadata: Record<string, string>," in create
    assert "data: unknown," in type_declaration(generated, "ListEventsQuery")
    # and: outside the descriptions, nothing is typed `any`
    code = re.sub(r"/\*\*.*?\*/", "", generated, flags=re.DOTALL)
    assert not re.search(r"\bany\b", code)


def test_tsc_type_checks_the_generated_types_and_the_example(generated: str) -> None:
    # when: tsc checks clients/typescript (strict; the generated module, example.ts, codegen.ts)
    result = tsc("--noEmit", "-p", TYPESCRIPT)
    # then: it finds nothing to report
    assert result.returncode == 0
    assert result.stdout.strip() == ""


def test_tsc_rejects_code_that_misuses_the_generated_types(generated: str, tmp_path: Path) -> None:
    # given: the generated module, misuses of it and one correct use, with the project's settings
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "graphql.ts").write_text(generated, encoding="utf-8")
    for name, (source, _, _) in MISUSES.items():
        (tmp_path / name).write_text(source.lstrip(), encoding="utf-8")
    (tmp_path / "correct_use.ts").write_text(CORRECT_USE.lstrip(), encoding="utf-8")
    (tmp_path / "tsconfig.json").write_text(
        json.dumps({"extends": str(TYPESCRIPT / "tsconfig.json"), "include": ["**/*.ts"]}),
        encoding="utf-8",
    )
    link_node_modules(tmp_path)
    # when
    result = tsc(
        "--noEmit", "-p", tmp_path, "--pretty", "false", cwd=tmp_path, expect_success=False
    )
    # then: it fails, with exactly the expected error in each misuse and none elsewhere
    assert result.returncode != 0, result.stdout
    errors: dict[str, list[tuple[str, str]]] = {}
    for line in result.stdout.splitlines():
        match = TSC_ERROR.match(line)
        if match:
            errors.setdefault(match["file"], []).append((match["code"], match["message"]))
    assert set(errors) == set(MISUSES), result.stdout
    for name, (_, code, message) in MISUSES.items():
        ((actual_code, actual_message),) = errors[name]
        assert actual_code == code, (name, actual_message)
        assert message in actual_message, (name, actual_message)


def test_compiled_example_creates_and_fetches_a_session(api: Api, example_js: Path) -> None:
    # when: the example client runs against the gateway with a test key
    result = run_node(example_js, url=api.server.base_url, key=api.key)
    # then: it reports the session it created and fetched back
    match = re.search(r"created and fetched (vs_\w+) \(REQUIRES_INPUT, ", result.stdout)
    assert match, result.stdout
    # and: the gateway has it, as the example created it
    session = api.gql(GET, {"id": match[1]})["verificationSession"]
    assert session["status"] == "REQUIRES_INPUT"
    assert session["clientReferenceId"].startswith("ts-example-")
    assert session["metadata"] == {"source": "typescript-example"}


def test_compiled_example_exits_non_zero_when_the_gateway_refuses_it(
    api: Api, example_js: Path
) -> None:
    # when: the example runs with a key the gateway does not know
    result = run_node(
        example_js, url=api.server.base_url, key="sk_test_unknown", timeout=60, expect_success=False
    )
    # then: it fails, saying why
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr
