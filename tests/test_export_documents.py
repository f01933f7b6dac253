"""`python -m app export-documents` as a user runs it, and a PERSISTED_DOCUMENTS_FILE that is no
manifest stopping `serve` at start."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "playground" / "operations"
RELAY_TEXT = "query RelayCount {\n  verificationSessions(first: 0) {\n    totalCount\n  }\n}\n"


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PERSISTED_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        env={**environ, "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'g.sqlite3'}", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_export_documents_writes_apollo_s_manifest_of_every_trusted_document(
    tmp_path: Path,
) -> None:
    # given: a Relay map beside the saved operations
    (tmp_path / "relay.json").write_text(json.dumps({"abc123": RELAY_TEXT}))
    # when
    result = run(
        tmp_path,
        "export-documents",
        "--output",
        "manifest.json",
        PERSISTED_DOCUMENTS_FILE="relay.json",
    )
    # then
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert manifest["version"] == 1
    entries = {entry["name"]: entry for entry in manifest["operations"]}
    assert entries["RelayCount"] == {
        "id": "abc123",
        "name": "RelayCount",
        "type": "query",
        "body": RELAY_TEXT,
    }
    for path in OPERATIONS.glob("*.graphql"):
        entry = entries[path.stem]
        assert entry["id"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["body"].encode("utf-8") == path.read_bytes()
        assert entry["type"] in ("query", "mutation", "subscription")
    assert len(entries) == len(list(OPERATIONS.glob("*.graphql"))) + 1
    # and: stdout, without --output, is the same manifest
    printed = run(tmp_path, "export-documents", PERSISTED_DOCUMENTS_FILE="relay.json")
    assert json.loads(printed.stdout) == manifest


def test_a_file_that_is_no_manifest_stops_serve_naming_the_variable(tmp_path: Path) -> None:
    # given
    (tmp_path / "broken.json").write_text('{"format": "apollo-persisted-query-manifest"}')
    # when
    served = run(
        tmp_path, "serve", "--port", str(free_port()), PERSISTED_DOCUMENTS_FILE="broken.json"
    )
    exported = run(tmp_path, "export-documents", PERSISTED_DOCUMENTS_FILE="broken.json")
    # then
    for result in (served, exported):
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"error: PERSISTED_DOCUMENTS_FILE: {tmp_path / 'broken.json'}: an Apollo manifest"
        ), result.stderr
        assert "Traceback" not in result.stderr
    assert "sk_test_" not in served.stdout


def test_a_missing_file_stops_every_command_naming_the_variable(tmp_path: Path) -> None:
    # when
    result = run(tmp_path, "migrate", PERSISTED_DOCUMENTS_FILE="missing.json")
    # then
    assert result.returncode == 2
    assert result.stderr.startswith("error: PERSISTED_DOCUMENTS_FILE must name existing files")
