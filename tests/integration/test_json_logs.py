"""LOG_FORMAT=json: every line a real `serve` process writes, start to SIGTERM, is one JSON
object; access lines carry their fields and hosted-page tokens stay masked."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from tests.test_cli import Cli, cli, serving, sqlite_url  # noqa: F401  (fixtures)

TOKEN = "vtok_SECRETSECRETSECRET"


def test_every_line_is_json(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli.env["LOG_FORMAT"] = "json"
    cli.ok("migrate")
    with (
        serving(cli, stop=signal.SIGTERM) as served,
        httpx.Client(base_url=served.base_url) as client,
    ):
        client.post("/graphql", json={"query": "{ __typename }"})
        client.get("/v1/identity/verification_sessions")
        client.get(f"/verify/{TOKEN}")
        client.get("/no-such-page")
    lines = [*served.stdout_lines, *served.stderr_lines]
    assert lines
    records = [json.loads(line) for line in lines]  # fails on any non-JSON line
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= record.keys()
    messages = " ".join(record["message"] for record in records)
    assert "Application shutdown complete." in messages
    access = {r["path"]: r for r in records if r["logger"] == "app.access"}
    assert access["/graphql"]["method"] == "POST"
    assert access["/no-such-page"]["status"] == 404
    assert "/verify/[token]" in access
    assert all(isinstance(r["duration_ms"], float) for r in access.values())
    assert all(r["request_id"].startswith("req_") for r in access.values())
    assert TOKEN not in "".join(lines)
    assert "sk_test_" not in "".join(lines)
