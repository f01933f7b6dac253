"""The schema tools CI runs on schema.graphql and a live server (clients/schema/).

- graphql-schema-linter with the Relay and description rules (clients/schema/.graphql-schema-linterrc)
- clients/schema/schema-diff.sh: graphql-inspector diff of the committed baseline
  (clients/schema/baseline.graphql) against schema.graphql, failing on a breaking change that was not deprecated first
- clients/schema/audit.mjs: graphql-http's GraphQL-over-HTTP audits against the live server

The spec's status codes and media types for `application/graphql-response+json` are checked in
tests/api/test_http.py (400 for a document that does not parse or validate, 200 for a field error,
the Content-Type for each Accept); the checks below cover what that file does not.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    print_schema,
)

from tests.clients.conftest import CLIENTS, ROOT, node_tool, run_node, run_tool
from tests.conftest import Api

SCHEMA_DIR = CLIENTS / "schema"
SCHEMA_FILE = ROOT / "schema.graphql"
LINTER_CONFIG = SCHEMA_DIR / ".graphql-schema-linterrc"
SCHEMA_DIFF = SCHEMA_DIR / "schema-diff.sh"
BASELINE = SCHEMA_DIR / "baseline.graphql"
AUDIT = SCHEMA_DIR / "audit.mjs"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def current_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def write_schema(path: Path, schema: GraphQLSchema) -> Path:
    path.write_text(print_schema(schema) + "\n", encoding="utf-8")
    return path


def object_type(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    graphql_type = schema.type_map[name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type


def enum_type(schema: GraphQLSchema, name: str) -> GraphQLEnumType:
    graphql_type = schema.type_map[name]
    assert isinstance(graphql_type, GraphQLEnumType)
    return graphql_type


def lint(*schema_files: Path, expect_success: bool = True) -> subprocess.CompletedProcess[str]:
    """graphql-schema-linter with our configuration, as CI runs it (the schema files default to
    the configuration's schemaPaths: schema.graphql)."""
    return run_tool(
        [node_tool("graphql-schema-linter"), "--config-directory", SCHEMA_DIR, *schema_files],
        expect_success=expect_success,
    )


def schema_diff(
    *args: Path, cwd: Path = ROOT, script: Path = SCHEMA_DIFF, expect_success: bool = True
) -> subprocess.CompletedProcess[str]:
    return run_tool(["bash", script, *args], cwd=cwd, expect_success=expect_success)


# --- graphql-schema-linter ----------------------------------------------------------------------


def installed_linter_rules() -> set[str]:
    rules = CLIENTS / "node_modules" / "graphql-schema-linter" / "lib" / "rules"
    if not rules.is_dir():
        pytest.fail(f"{rules} is missing: run `npm ci --prefix clients`")
    return {path.stem.replace("_", "-") for path in rules.glob("*.js")}


def test_linter_config_enables_every_installed_relay_and_description_rule() -> None:
    # given
    installed = installed_linter_rules()
    wanted = {rule for rule in installed if rule.startswith("relay-") or "description" in rule}
    # when
    enabled = set(json.loads(LINTER_CONFIG.read_text(encoding="utf-8"))["rules"])
    # then
    assert len(wanted) >= 9, sorted(installed)
    assert wanted <= enabled, sorted(wanted - enabled)
    assert enabled <= installed, sorted(enabled - installed)


def test_linter_passes_on_schema_graphql() -> None:
    # when
    result = lint()
    # then
    assert result.returncode == 0
    assert "0 errors detected" in result.stdout, result.stdout


def without_field_description(schema: GraphQLSchema) -> str:
    object_type(schema, "PageInfo").fields["hasNextPage"].description = None
    return "The field `PageInfo.hasNextPage` is missing a description."


def without_enum_value_description(schema: GraphQLSchema) -> str:
    enum_type(schema, "VerificationSessionStatus").values["CANCELED"].description = None
    return "The enum value `VerificationSessionStatus.CANCELED` is missing a description."


def without_page_info(schema: GraphQLSchema) -> str:
    del object_type(schema, "VerificationSessionConnection").fields["pageInfo"]
    return "Connection `VerificationSessionConnection` is missing the following field: pageInfo."


def without_cursor_arguments(schema: GraphQLSchema) -> str:
    field = object_type(schema, "Query").fields["verificationSessions"]
    del field.args["after"], field.args["before"]
    return "A field that returns a Connection Type must include forward pagination arguments"


@pytest.mark.parametrize(
    "break_schema",
    [
        without_field_description,
        without_enum_value_description,
        without_page_info,
        without_cursor_arguments,
    ],
)
def test_linter_fails_on_a_schema_that_breaks_a_rule(
    tmp_path: Path, break_schema: Callable[[GraphQLSchema], str]
) -> None:
    # given
    schema = current_schema()
    message = break_schema(schema)
    broken = write_schema(tmp_path / "schema.graphql", schema)
    # when
    result = lint(broken, expect_success=False)
    # then
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "1 error detected" in result.stdout, result.stdout


# --- schema-diff.sh -----------------------------------------------------------------------------


def test_schema_diff_passes_for_the_baseline_against_the_current_schema() -> None:
    # when: as CI runs it
    result = schema_diff()
    # then
    assert "schema-diff: baseline " in result.stdout, result.stdout
    assert "No breaking changes detected" in result.stdout or "No changes detected" in (
        result.stdout
    )


def test_schema_diff_with_no_arguments_compares_the_committed_baseline(tmp_path: Path) -> None:
    # given: a copy of the tools whose baseline has a field schema.graphql lacks
    repo = tmp_path / "repo"
    (repo / "clients" / "schema").mkdir(parents=True)
    script = repo / "clients" / "schema" / SCHEMA_DIFF.name
    shutil.copy2(SCHEMA_DIFF, script)
    (repo / "clients" / "node_modules").symlink_to(CLIENTS / "node_modules")
    shutil.copy2(BASELINE, repo / "clients" / "schema" / BASELINE.name)
    schema = build_schema(BASELINE.read_text(encoding="utf-8"))
    del object_type(schema, "VerificationSession").fields["clientReferenceId"]
    write_schema(repo / "schema.graphql", schema)
    # when
    result = schema_diff(cwd=repo, script=script, expect_success=False)
    # then
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Field clientReferenceId was removed from object type VerificationSession" in (
        result.stdout
    )


def test_schema_diff_says_when_the_baseline_is_missing(tmp_path: Path) -> None:
    # given
    repo = tmp_path / "repo"
    (repo / "clients" / "schema").mkdir(parents=True)
    script = repo / "clients" / "schema" / SCHEMA_DIFF.name
    shutil.copy2(SCHEMA_DIFF, script)
    (repo / "clients" / "node_modules").symlink_to(CLIENTS / "node_modules")
    shutil.copy2(SCHEMA_FILE, repo / "schema.graphql")
    # when
    result = schema_diff(cwd=repo, script=script, expect_success=False)
    # then
    assert result.returncode == 2
    assert "baseline.graphql does not exist" in result.stderr


def test_schema_diff_fails_on_a_removed_type(tmp_path: Path) -> None:
    # given: the baseline has a type, referenced by nothing, that the new schema lacks
    old = tmp_path / "old.graphql"
    old.write_text(
        SCHEMA_FILE.read_text(encoding="utf-8") + '\n"""Gone."""\ntype Orphan {\n  a: String\n}\n',
        encoding="utf-8",
    )
    # when
    result = schema_diff(old, SCHEMA_FILE, expect_success=False)
    # then
    assert result.returncode == 1
    assert "Type Orphan was removed" in result.stderr


def test_schema_diff_fails_on_a_removed_argument(tmp_path: Path) -> None:
    # given
    schema = current_schema()
    del object_type(schema, "Query").fields["verificationSessions"].args["after"]
    new = write_schema(tmp_path / "new.graphql", schema)
    # when
    result = schema_diff(SCHEMA_FILE, new, expect_success=False)
    # then
    assert result.returncode == 1
    assert "Argument after: String was removed from field Query.verificationSessions" in (
        result.stdout
    )


def test_schema_diff_fails_on_a_changed_type(tmp_path: Path) -> None:
    # given
    schema = current_schema()
    fields = object_type(schema, "VerificationSession").fields
    fields["clientReferenceId"].type = schema.type_map["Int"]  # type: ignore[assignment]
    new = write_schema(tmp_path / "new.graphql", schema)
    # when
    result = schema_diff(SCHEMA_FILE, new, expect_success=False)
    # then
    assert result.returncode == 1
    assert "Field VerificationSession.clientReferenceId changed type from String to Int" in (
        result.stdout
    ), result.stdout


def test_schema_diff_passes_an_added_field_and_an_added_enum_value(tmp_path: Path) -> None:
    # given: an additive change and a dangerous one
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    text = text.replace("enum DocumentType {", 'enum DocumentType {\n  """New."""\n  NEWVAL', 1)
    text += '\n"""New."""\ntype Extra {\n  a: String\n}\n'
    new = tmp_path / "new.graphql"
    new.write_text(text, encoding="utf-8")
    # when
    result = schema_diff(SCHEMA_FILE, new)
    # then
    assert "Enum value NEWVAL was added to enum DocumentType" in result.stdout
    assert "Type Extra was added" in result.stdout
    assert "No breaking changes detected" in result.stdout


def test_schema_diff_fails_naming_a_field_removed_without_deprecation(tmp_path: Path) -> None:
    # given
    schema = current_schema()
    del object_type(schema, "VerificationSession").fields["clientReferenceId"]
    new = write_schema(tmp_path / "new.graphql", schema)
    # when
    result = schema_diff(SCHEMA_FILE, new, expect_success=False)
    # then
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Field clientReferenceId was removed from object type VerificationSession" in output
    assert "Detected 1 breaking change" in output


def test_schema_diff_fails_on_an_enum_value_removed_without_deprecation(tmp_path: Path) -> None:
    # given
    schema = current_schema()
    del enum_type(schema, "VerificationSessionStatus").values["CANCELED"]
    new = write_schema(tmp_path / "new.graphql", schema)
    # when
    result = schema_diff(SCHEMA_FILE, new, expect_success=False)
    # then
    assert result.returncode == 1
    assert "Enum value CANCELED was removed from enum VerificationSessionStatus" in result.stdout


def test_schema_diff_passes_when_a_deprecated_enum_value_is_removed(tmp_path: Path) -> None:
    # given
    schema = current_schema()
    values = enum_type(schema, "VerificationSessionStatus").values
    values["CANCELED"].deprecation_reason = "Sessions are no longer canceled."
    old = write_schema(tmp_path / "old.graphql", schema)
    del values["CANCELED"]
    new = write_schema(tmp_path / "new.graphql", schema)
    # when
    result = schema_diff(old, new)
    # then
    assert "Enum value CANCELED (deprecated) was removed" in result.stdout, result.stdout
    assert "No breaking changes detected" in result.stdout


def test_schema_diff_passes_when_a_deprecated_field_is_removed(tmp_path: Path) -> None:
    # given: the old schema deprecates the field, the new one no longer has it
    schema = current_schema()
    fields = object_type(schema, "VerificationSession").fields
    fields["clientReferenceId"].deprecation_reason = "Use metadata."
    old = write_schema(tmp_path / "old.graphql", schema)
    del fields["clientReferenceId"]
    new = write_schema(tmp_path / "new.graphql", schema)
    # when
    result = schema_diff(old, new)
    # then
    assert result.returncode == 0
    assert "Field clientReferenceId (deprecated) was removed" in result.stdout, result.stdout
    assert "No breaking changes detected" in result.stdout


# --- graphql-http audits ------------------------------------------------------------------------

SUMMARY = re.compile(r"^(\d+) audits: (\d+) ok, (\d+) notice, (\d+) warn, (\d+) error$", re.M)


def test_graphql_http_audits_pass_against_the_live_server(api: Api) -> None:
    # when
    result = run_node(AUDIT, url=api.server.base_url, key=api.key)
    # then
    summary = SUMMARY.search(result.stdout)
    assert summary is not None, result.stdout
    total, ok, notice, warn, error = map(int, summary.groups())
    assert total >= 60, result.stdout
    assert (warn, error) == (0, 0), result.stdout
    assert ok + notice == total
    assert not re.search(r"^(ERROR|WARN) ", result.stdout, re.M)


def test_graphql_http_audits_send_the_key_and_fail_on_errors(api: Api) -> None:
    # given: a key the gateway does not know, so every audited request gets 401
    bad_key = "sk_test_" + "0" * 32
    # when
    result = run_tool(
        ["node", AUDIT],
        cwd=SCHEMA_DIR,
        env={"GATEWAY_URL": f"{api.server.base_url}/graphql", "GATEWAY_KEY": bad_key},
        expect_success=False,
    )
    # then
    assert result.returncode == 1, result.stdout + result.stderr
    summary = SUMMARY.search(result.stdout)
    assert summary is not None, result.stdout
    assert int(summary.group(5)) > 0
    assert re.search(r"^ERROR  \w{4} MUST ", result.stdout, re.M)
    assert "response: 401" in result.stdout
    assert bad_key not in result.stdout + result.stderr


# --- Accept headers the other tests leave out --------------------------------------------------


@pytest.mark.parametrize(
    ("document", "body"),
    [
        ("{ __typename }", {"data": {"__typename": "Query"}}),
        ("{ __typename", None),
    ],
    ids=["valid", "unparseable"],
)
def test_accept_without_a_supported_type_is_answered_as_application_json(
    api: Api, document: str, body: dict[str, object] | None
) -> None:
    """The spec lets a server either refuse with 406 (recommended) or disregard an Accept header
    with no type it supports and answer in a type of its choice; the gateway does the latter, with
    application/json, so its status-code rules apply (200 even for a document that fails)."""
    # when
    response = api.post(document, headers={"Accept": "text/plain"})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    if body is not None:
        assert response.json() == body
    else:
        assert list(response.json()) == ["errors"]
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
