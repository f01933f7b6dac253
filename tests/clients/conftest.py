"""Running the real client and schema tools (npm packages in clients/, a Python client generated
in its own virtualenv) against schema.graphql and a live server.

The npm tools come from `npm ci` in clients/ (the Makefile and .ci/run do it). A missing tool
fails the test with the command that installs it: these tests are never skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
NODE_BIN = CLIENTS / "node_modules" / ".bin"


def node_tool(name: str) -> Path:
    """The path of an npm-installed command of clients/; fails clearly when it is missing."""
    path = NODE_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci --prefix clients` (or `make test`)")
    return path


def run_tool(
    args: Sequence[str | Path],
    *,
    cwd: Path = CLIENTS,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    expect_success: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, returning its result; by default a non-zero exit fails the test with the
    command's output."""
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if expect_success and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def run_node(
    script: Path, *, url: str, key: str, timeout: float = 120, expect_success: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a Node script against a live gateway: it gets GATEWAY_URL (the /graphql endpoint) and
    GATEWAY_KEY (a test-mode secret key) in its environment."""
    return run_tool(
        ["node", script],
        cwd=script.parent,
        env={"GATEWAY_URL": f"{url}/graphql", "GATEWAY_KEY": key},
        timeout=timeout,
        expect_success=expect_success,
    )
