"""`python -m app …` as a user runs it: real processes, a fresh SQLite file each, real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.schema import build_schema
from tests.conftest import Database, free_port
from tests.helpers import head_revision, post_graphql

SECRET_TEST_KEY = re.compile(r"^sk_test_[0-9A-Za-z]{32}$")
SECRET_LIVE_KEY = re.compile(r"^sk_live_[0-9A-Za-z]{32}$")
RESTRICTED_TEST_KEY = re.compile(r"^rk_test_[0-9A-Za-z]{32}$")
RESTRICTED_LIVE_KEY = re.compile(r"^rk_live_[0-9A-Za-z]{32}$")
FLOW_ID = re.compile(r"^vf_[0-9A-Za-z]{24}$")
ANY_KEY = re.compile(r"[sr]k_(?:test|live)_[0-9A-Za-z]{32}")

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession {
      id type livemode url verificationFlow
      options { document { allowedTypes requireIdNumber requireLiveCapture requireMatchingSelfie } }
    }
    userErrors { field message code }
  }
}
"""

SESSIONS = "{ verificationSessions(first: 100) { nodes { id livemode } totalCount } }"

SESSION = "query($id: ID!) { verificationSession(id: $id) { id } }"


# --- helpers ------------------------------------------------------------------------------------


def environment(database_url: str | None, **extra: str) -> dict[str, str]:
    """The test process's environment without the gateway's settings, plus the given ones."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "PUBLIC_BASE_URL", "LOG_LEVEL")
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


@dataclass
class Cli:
    """Runs `python -m app` in one working directory against one database."""

    cwd: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result

    def last_line(self, *args: str) -> str:
        return self.ok(*args).stdout.splitlines()[-1]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'cli.sqlite3'}"


@pytest.fixture
def cli(tmp_path: Path, sqlite_url: str) -> Cli:
    (tmp_path / "db").mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    return Cli(cwd=workdir, env=environment(sqlite_url))


@dataclass
class Served:
    """A running (then stopped) `python -m app serve`."""

    base_url: str
    process: subprocess.Popen[str]
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def assert_stopped_cleanly(self, stop: signal.Signals) -> None:
        """Shut down gracefully. uvicorn re-raises a caught SIGTERM once it has finished, so the
        process reports that signal (as a shell's `kill` expects); SIGINT ends with 0."""
        assert self.process.returncode in (0, -stop), self.stderr
        assert "Application shutdown complete." in self.stderr
        assert "Traceback" not in self.stderr

    def banner_key(self) -> str | None:
        keys = ANY_KEY.findall(self.stdout)
        assert len(keys) <= 1, self.stdout
        return keys[0] if keys else None


def _drain(stream: Any, into: list[str]) -> None:
    for line in iter(stream.readline, ""):
        into.append(line)
    stream.close()


@contextmanager
def serving(cli: Cli, *, stop: signal.Signals = signal.SIGTERM) -> Iterator[Served]:
    """Start `serve` on a free port, wait until /healthz answers, and stop it with `stop`."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=cli.cwd,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(base_url=f"http://127.0.0.1:{port}", process=process)
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, served.stdout_lines), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, served.stderr_lines), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"serve exited early:\n{served.stdout}\n{served.stderr}"
            assert time.monotonic() < deadline, f"serve did not start:\n{served.stderr}"
            try:
                if httpx.get(f"{served.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        for reader in readers:
            reader.join(timeout=10)


def create_session(base_url: str, key: str, **input: Any) -> dict[str, Any]:
    payload = post_graphql(base_url, key, CREATE, {"input": {"type": "DOCUMENT", **input}})[
        "createVerificationSession"
    ]
    assert payload["userErrors"] == []
    session: dict[str, Any] = payload["verificationSession"]
    return session


# --- keys create --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--mode", "test"], SECRET_TEST_KEY),
        (["--mode", "live"], SECRET_LIVE_KEY),
        (["--mode", "test", "--restricted"], RESTRICTED_TEST_KEY),
        (["--mode", "live", "--restricted"], RESTRICTED_LIVE_KEY),
    ],
    ids=["secret-test", "secret-live", "restricted-test", "restricted-live"],
)
def test_keys_create_prints_the_bare_key_as_the_last_line(
    cli: Cli, args: list[str], pattern: re.Pattern[str]
) -> None:
    # when
    result = cli.run("keys", "create", *args)
    # then
    assert result.returncode == 0, result.stderr
    key = result.stdout.splitlines()[-1]
    assert pattern.match(key), result.stdout
    assert result.stdout == key + "\n"
    assert key not in result.stderr


def test_keys_create_makes_a_new_key_each_time_and_stores_only_its_hash(
    cli: Cli, sqlite_url: str
) -> None:
    # when
    first = cli.last_line("keys", "create", "--mode", "test")
    second = cli.last_line("keys", "create", "--mode", "test")
    # then
    assert first != second
    rows = Database(sqlite_url).execute("SELECT key_hash FROM api_keys")
    assert len(rows) == 2
    stored = " ".join(str(value) for row in rows for value in row)
    assert first not in stored
    assert first[8:] not in stored


def test_keys_without_account_belong_to_the_default_account(cli: Cli, sqlite_url: str) -> None:
    # when
    cli.ok("keys", "create", "--mode", "test")
    cli.ok("keys", "create", "--mode", "live", "--restricted")
    # then
    database = Database(sqlite_url)
    accounts = database.execute("SELECT id, is_default FROM accounts")
    assert len(accounts) == 1
    assert accounts[0][0].startswith("acct_")
    assert bool(accounts[0][1]) is True
    owners = database.execute("SELECT DISTINCT account_id FROM api_keys")
    assert owners == [(accounts[0][0],)]


def test_keys_with_account_create_that_account_and_see_only_its_data(
    cli: Cli, sqlite_url: str
) -> None:
    # given
    account = "acct_CliTestAccount0000000001"
    scoped = cli.last_line("keys", "create", "--mode", "test", "--account", account)
    default = cli.last_line("keys", "create", "--mode", "test")
    again = cli.last_line("keys", "create", "--mode", "test", "--account", account)
    assert SECRET_TEST_KEY.match(scoped)
    accounts = Database(sqlite_url).execute("SELECT id FROM accounts ORDER BY is_default")
    assert accounts[0] == (account,)
    assert len(accounts) == 2
    with serving(cli) as served:
        mine = create_session(served.base_url, scoped)
        theirs = create_session(served.base_url, default)
        # when
        scoped_list = post_graphql(served.base_url, scoped, SESSIONS)
        again_list = post_graphql(served.base_url, again, SESSIONS)
        default_list = post_graphql(served.base_url, default, SESSIONS)
        crossed = post_graphql(served.base_url, default, SESSION, {"id": mine["id"]})
    # then
    assert scoped_list == {
        "verificationSessions": {"nodes": [{"id": mine["id"], "livemode": False}], "totalCount": 1}
    }
    assert again_list == scoped_list
    assert default_list == {
        "verificationSessions": {
            "nodes": [{"id": theirs["id"], "livemode": False}],
            "totalCount": 1,
        }
    }
    assert crossed == {"verificationSession": None}


def test_live_key_from_the_cli_creates_live_sessions(cli: Cli) -> None:
    # given
    live = cli.last_line("keys", "create", "--mode", "live")
    cli.ok("keys", "create", "--mode", "test")  # so that serve prints no banner key
    with serving(cli) as served:
        # when
        session = create_session(served.base_url, live)
    # then
    assert session["livemode"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "test", "--account", "acct_"], "account ids look like acct_"),
        (["--mode", "test", "--account", "cus_123"], "account ids look like acct_"),
        (["--mode", "test", "--account", "acct_a-b"], "account ids look like acct_"),
        (["--mode", "prod"], "invalid choice: 'prod'"),
        ([], "the following arguments are required: --mode"),
    ],
    ids=["empty-account", "wrong-prefix", "bad-character", "bad-mode", "no-mode"],
)
def test_keys_create_rejects_bad_arguments_and_writes_nothing(
    cli: Cli, sqlite_url: str, args: list[str], message: str
) -> None:
    # when
    result = cli.run("keys", "create", *args)
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert not ANY_KEY.search(result.stderr)
    assert not Path(sqlite_url.removeprefix("sqlite+aiosqlite:///")).exists()


# --- flows create -------------------------------------------------------------------------------


def test_flows_create_prints_the_flow_id_and_stores_the_options(cli: Cli, sqlite_url: str) -> None:
    # when
    result = cli.run(
        "flows",
        "create",
        "--mode",
        "test",
        "--type",
        "document",
        "--options",
        '{"document":{"requireMatchingSelfie":true}}',
    )
    # then
    assert result.returncode == 0, result.stderr
    flow_id = result.stdout.splitlines()[-1]
    assert FLOW_ID.match(flow_id), result.stdout
    rows = Database(sqlite_url).execute(
        "SELECT type, livemode, options FROM verification_flows WHERE id = :id", {"id": flow_id}
    )
    assert len(rows) == 1
    flow_type, livemode, options = rows[0]
    assert flow_type == "document"
    assert bool(livemode) is False
    assert json.loads(options) == {"document": {"require_matching_selfie": True}}


def test_session_from_a_cli_flow_copies_its_type_and_options(cli: Cli) -> None:
    # given
    key = cli.last_line("keys", "create", "--mode", "test")
    flow_id = cli.last_line(
        "flows",
        "create",
        "--mode",
        "test",
        "--type",
        "document",
        "--options",
        '{"document":{"allowedTypes":["PASSPORT"],"requireMatchingSelfie":true}}',
    )
    with serving(cli) as served:
        # when
        payload = post_graphql(
            served.base_url, key, CREATE, {"input": {"verificationFlow": flow_id}}
        )["createVerificationSession"]
    # then
    assert payload["userErrors"] == []
    session = payload["verificationSession"]
    assert session["type"] == "VERIFICATION_FLOW"
    assert session["verificationFlow"] == flow_id
    assert session["options"] == {
        "document": {
            "allowedTypes": ["PASSPORT"],
            "requireIdNumber": None,
            "requireLiveCapture": None,
            "requireMatchingSelfie": True,
        }
    }


def test_flow_of_another_account_or_mode_is_not_found(cli: Cli) -> None:
    # given
    key = cli.last_line("keys", "create", "--mode", "test")
    other_account = cli.last_line(
        "flows", "create", "--mode", "test", "--type", "id_number", "--account", "acct_Other01"
    )
    live = cli.last_line("flows", "create", "--mode", "live", "--type", "id_number")
    with serving(cli) as served:
        # when
        payloads = [
            post_graphql(served.base_url, key, CREATE, {"input": {"verificationFlow": flow_id}})[
                "createVerificationSession"
            ]
            for flow_id in (other_account, live)
        ]
    # then
    for payload in payloads:
        assert payload["verificationSession"] is None
        assert [error["code"] for error in payload["userErrors"]] == ["RESOURCE_MISSING"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{nope", "argument --options: --options is not valid JSON"),
        ("", "argument --options: --options is not valid JSON"),
        ("[1, 2]", "argument --options: --options must be a JSON object"),
        ('"document"', "argument --options: --options must be a JSON object"),
        (
            '{"document":{"allowedTypes":["BOGUS"]}}',
            "error: options.document.allowed_types: Invalid document type 'bogus'",
        ),
        (
            '{"document":{"requireMatchingSelfie":"yes"}}',
            "error: options.document.require_matching_selfie: ",
        ),
        ('{"bogus": 1}', "error: options.bogus: Unknown option 'bogus'"),
    ],
    ids=[
        "invalid-json",
        "empty",
        "array",
        "string",
        "unknown-document-type",
        "non-boolean",
        "unknown-option",
    ],
)
def test_flows_create_rejects_bad_options_clearly_and_writes_nothing(
    cli: Cli, sqlite_url: str, options: str, message: str
) -> None:
    # given
    cli.ok("migrate")
    # when
    result = cli.run(
        "flows", "create", "--mode", "test", "--type", "document", "--options", options
    )
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert Database(sqlite_url).execute("SELECT COUNT(*) FROM verification_flows") == [(0,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "test", "--type", "verification_flow"], "invalid choice: 'verification_flow'"),
        (["--mode", "test"], "the following arguments are required: --type"),
        (["--type", "document"], "the following arguments are required: --mode"),
    ],
    ids=["flow-type", "no-type", "no-mode"],
)
def test_flows_create_rejects_bad_arguments(cli: Cli, args: list[str], message: str) -> None:
    # when
    result = cli.run("flows", "create", *args)
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr


# --- export-schema ------------------------------------------------------------------------------


def test_export_schema_writes_the_live_schema(cli: Cli) -> None:
    # given
    output = cli.cwd / "out" / "schema.graphql"
    output.parent.mkdir()
    # when
    result = cli.run("export-schema", "--output", str(output))
    # then
    assert result.returncode == 0, result.stderr
    assert output.read_text(encoding="utf-8") == build_schema().as_str() + "\n"


def test_export_schema_to_a_relative_path_writes_under_the_working_directory(cli: Cli) -> None:
    # when
    cli.ok("export-schema", "--output", "schema.graphql")
    # then
    assert (cli.cwd / "schema.graphql").read_text(
        encoding="utf-8"
    ) == build_schema().as_str() + "\n"


def test_export_schema_prints_the_schema_without_a_database(tmp_path: Path) -> None:
    # given
    cli = Cli(cwd=tmp_path, env=environment(None))
    # when
    result = cli.run("export-schema")
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout == build_schema().as_str() + "\n"
    assert list(tmp_path.iterdir()) == []


# --- migrate and the default database -----------------------------------------------------------


def test_migrate_works_from_any_working_directory(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    # given
    elsewhere = tmp_path / "some" / "other" / "dir"
    elsewhere.mkdir(parents=True)
    # when
    result = Cli(cwd=elsewhere, env=cli.env).run("migrate")
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout == "database is at the newest revision\n"
    assert Database(sqlite_url).execute("SELECT version_num FROM alembic_version") == [
        (head_revision(),)
    ]
    assert list(elsewhere.iterdir()) == []


def test_without_database_url_commands_use_gateway_sqlite3_in_the_working_directory(
    tmp_path: Path,
) -> None:
    # given
    cli = Cli(cwd=tmp_path, env=environment(None))
    # when
    key = cli.last_line("keys", "create", "--mode", "test")
    # then
    assert SECRET_TEST_KEY.match(key)
    database_file = tmp_path / "gateway.sqlite3"
    assert database_file.is_file()
    database = Database(f"sqlite+aiosqlite:///{database_file}")
    assert database.execute("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert database.execute("SELECT COUNT(*) FROM api_keys") == [(1,)]


def test_without_database_url_migrate_creates_gateway_sqlite3_in_the_working_directory(
    tmp_path: Path,
) -> None:
    # given
    cli = Cli(cwd=tmp_path, env=environment(None))
    # when
    cli.ok("migrate")
    # then
    assert (tmp_path / "gateway.sqlite3").is_file()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://localhost/db"}, "DATABASE_URL must start with"),
        ({"PUBLIC_BASE_URL": "not a url"}, "PUBLIC_BASE_URL must be an absolute http(s) URL"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL must be one of"),
    ],
    ids=["database-url", "public-base-url", "log-level"],
)
def test_bad_settings_fail_at_start_naming_the_variable(
    cli: Cli, env: dict[str, str], message: str
) -> None:
    # given
    broken = Cli(cwd=cli.cwd, env={**cli.env, **env})
    # when
    result = broken.run("migrate")
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {message}")
    assert "Traceback" not in result.stderr


# --- serve --------------------------------------------------------------------------------------


def test_serve_on_a_fresh_database_prints_a_working_key_once(cli: Cli) -> None:
    # given / when
    with serving(cli) as served:
        key = served.banner_key()
        assert key is not None, served.stdout
        session = create_session(served.base_url, key)
        page = httpx.get(session["url"], timeout=30)
        listed = post_graphql(served.base_url, key, SESSIONS)
    # then
    served.assert_stopped_cleanly(signal.SIGTERM)
    assert SECRET_TEST_KEY.match(key)
    assert f"\n    {key}\n" in served.stdout
    assert f"Playground (GraphiQL): {served.base_url}/graphql" in served.stdout
    assert served.stdout.count(key) == 1
    assert session["url"].startswith(f"{served.base_url}/verify/")
    assert page.status_code == 200
    assert listed == {
        "verificationSessions": {
            "nodes": [{"id": session["id"], "livemode": False}],
            "totalCount": 1,
        }
    }
    token = session["url"].rsplit("/", 1)[1]
    for secret in (key, key[8:], token):
        assert secret not in served.stderr
    assert "GET /verify/[token] 200" in served.stderr


def test_serve_prints_no_key_on_a_second_start(cli: Cli) -> None:
    # given
    with serving(cli) as first:
        key = first.banner_key()
        assert key is not None
    # when
    with serving(cli, stop=signal.SIGINT) as second:
        listed = post_graphql(second.base_url, key, SESSIONS)
    # then
    first.assert_stopped_cleanly(signal.SIGTERM)
    second.assert_stopped_cleanly(signal.SIGINT)
    assert second.banner_key() is None
    assert "sk_" not in second.stdout
    assert f"Playground (GraphiQL): {second.base_url}/graphql" in second.stdout
    assert listed == {"verificationSessions": {"nodes": [], "totalCount": 0}}


def test_serve_prints_no_key_when_keys_exist_already(cli: Cli) -> None:
    # given
    cli.ok("keys", "create", "--mode", "live", "--restricted")
    # when
    with serving(cli) as served:
        pass
    # then
    assert served.banner_key() is None
    assert f"Playground (GraphiQL): {served.base_url}/graphql" in served.stdout


def test_serve_without_database_url_uses_gateway_sqlite3_in_the_working_directory(
    tmp_path: Path,
) -> None:
    # given
    cli = Cli(cwd=tmp_path, env=environment(None))
    # when
    with serving(cli, stop=signal.SIGINT) as served:
        key = served.banner_key()
        assert key is not None
        health = httpx.get(f"{served.base_url}/healthz", timeout=30)
    # then
    served.assert_stopped_cleanly(signal.SIGINT)
    assert health.json() == {"status": "ok", "database": "ok"}
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}")
    assert database.execute("SELECT COUNT(*) FROM api_keys") == [(1,)]


def test_serve_builds_session_urls_from_public_base_url(cli: Cli) -> None:
    # given
    cli = Cli(cwd=cli.cwd, env={**cli.env, "PUBLIC_BASE_URL": "https://verify.example.com/"})
    with serving(cli) as served:
        key = served.banner_key()
        assert key is not None
        # when
        session = create_session(served.base_url, key)
    # then
    assert re.match(r"^https://verify\.example\.com/verify/[0-9A-Za-z]{32}$", session["url"])


def test_serve_answers_graphiql_to_a_browser(cli: Cli) -> None:
    # given
    with serving(cli) as served:
        # when
        response = httpx.get(
            f"{served.base_url}/graphql", headers={"Accept": "text/html"}, timeout=30
        )
    # then
    assert response.status_code == 200
    assert "GraphiQL" in response.text


def test_webhooks_roll_secret_prints_the_new_secret_and_keeps_the_old_one_for_a_while(
    cli: Cli, sqlite_url: str
) -> None:
    # given: an endpoint of the default account, made over the REST API
    key = cli.last_line("keys", "create", "--mode", "test")
    with serving(cli) as served:
        made = httpx.post(
            served.base_url + "/v1/webhook_endpoints",
            data={"url": "https://example.com/hooks", "enabled_events[]": "*"},
            auth=(key, ""),
        ).json()
    # when
    rolled = cli.run("webhooks", "roll-secret", made["id"], "--mode", "test", "--expire-in", "60")
    missing = cli.run("webhooks", "roll-secret", "we_nope", "--mode", "test")
    too_long = cli.run(
        "webhooks", "roll-secret", made["id"], "--mode", "test", "--expire-in", "90000"
    )
    # then
    assert rolled.returncode == 0, rolled.stderr
    secret = rolled.stdout.splitlines()[-1]
    assert secret.startswith("whsec_") and secret != made["secret"]
    assert secret not in rolled.stderr
    rows = Database(sqlite_url).execute(
        "SELECT secret, previous_secret, previous_secret_expires_at FROM webhook_endpoints"
    )
    assert rows[0][0] == secret and rows[0][1] == made["secret"] and rows[0][2] is not None
    assert missing.returncode == 2 and "No such webhook endpoint: 'we_nope'" in missing.stderr
    assert too_long.returncode == 2 and "0 to 86400 seconds" in too_long.stderr
