"""No secret reaches the logs, every response carries a Request-Id its log lines share, and each
log line is written whole, as it happens.

A real `python -m app serve` with LOG_LEVEL=DEBUG (the most it will ever say) runs a full
lifecycle: makes a webhook endpoint (its URL holding a token) and rolls its secret, creates with
a test and a live secret key, retrieves with secret and restricted keys,
reads and submits with client secrets, opens the hosted page and submits its form, simulates,
cancels, redacts, refuses a bad key, a forged and a spent client secret, and answers 404s and a
410. Everything the process writes to stdout and stderr is captured (access log included), and
none of these may appear in it: an API key (secret, restricted, live; whole or without its
prefix), the SHA-256 a key is stored as, a client secret (or its random part), a url token, a
webhook signing secret or the receiver's URL token (deliveries, a failed one included, are made
while the lifecycle runs). The
secrets are collected from the responses and, to catch those never shown to a client, from the
database itself.

Each response must carry a `Request-Id`; the access line of that request, found by its id, must be
in the captured output within a short poll after the response while the server keeps running (so
nothing sits in a buffer), and every line of the output is one complete log record.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import _banner
from app.domain import ids
from app.migrations import upgrade
from tests.conftest import BACKENDS, Database, free_port, fresh_database_url
from tests.helpers import SIMULATE, SUBMIT
from tests.integration.test_durable_jobs import Gateway, gateway_env
from tests.receiver import receiving

WAIT_SECONDS = 10.0
REQUEST_ID = re.compile(r"^req_[0-9A-Za-z]{16}$")
# One log record, as app.logs formats it: time, level, logger, [request id or -], message.
LOG_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ "
    r"\[(req_[0-9A-Za-z]{16}|-)\] \S.*$"
)
TOKEN_PATH = re.compile(r"^/verify/[^/]+")
# What a receiver's URL may carry as its own credential; it must not be logged either.
WEBHOOK_URL_TOKEN = "hook_tok_" + "Q7x2LmP9vR4sT8wK"

SESSION_FIELDS = "id status clientSecret url lastError { code } redaction { status }"

CREATE = f"""
mutation Create($input: CreateVerificationSessionInput!) {{
  createVerificationSession(input: $input) {{
    verificationSession {{ {SESSION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

SESSION = f"query Session($id: ID!) {{ verificationSession(id: $id) {{ {SESSION_FIELDS} }} }}"

# What a client secret may read.
LIMITED = "query Session($id: ID!) { verificationSession(id: $id) { id status url } }"

CANCEL = """
mutation Cancel($id: ID!) {
  cancelVerificationSession(input: {id: $id}) {
    verificationSession { id status }
    userErrors { field message code }
  }
}
"""

REDACT = """
mutation Redact($id: ID!) {
  redactVerificationSession(input: {id: $id}) {
    verificationSession { id redaction { status } }
    userErrors { field message code }
  }
}
"""


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, migrated database for this module (a SQLite file, or a Postgres database)."""
    sqlite_file = tmp_path_factory.mktemp("logs") / "gateway.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
        upgrade(url)
        yield url


@dataclass(frozen=True)
class Keys:
    secret: str
    restricted: str
    live: str
    live_restricted: str

    def all(self) -> list[str]:
        return [self.secret, self.restricted, self.live, self.live_restricted]


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request_id: str


@dataclass
class Client:
    """Talks to one gateway and checks, for every response, its Request-Id and that the access
    line of that request is already in the gateway's output."""

    gateway: Gateway
    http: httpx.Client
    exchanges: list[Exchange] = field(default_factory=list)
    # Every credential a response handed out, or that a request presented.
    seen_secrets: set[str] = field(default_factory=set)

    def request(self, method: str, url: str, status: int, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        assert response.status_code == status, response.text
        request_id = response.headers.get("request-id", "")
        assert REQUEST_ID.match(request_id), dict(response.headers)
        path = TOKEN_PATH.sub("/verify/[token]", httpx.URL(url).path)
        exchange = Exchange(method, path, status, request_id)
        self.exchanges.append(exchange)
        access_line(self.gateway, exchange)
        return response

    def gql(
        self, key: str, query: str, variables: dict[str, Any], *, status: int = 200
    ) -> dict[str, Any]:
        self.seen_secrets.add(key)
        response = self.request(
            "POST",
            f"{self.gateway.base_url}/graphql",
            status,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {key}"},
        )
        body: dict[str, Any] = response.json()
        if status == 200:
            assert "errors" not in body, body
            self.remember(body)
        return body

    def mutate(self, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        ((_, payload),) = self.gql(key, query, variables)["data"].items()
        assert payload["userErrors"] == [], payload
        session: dict[str, Any] = payload["verificationSession"]
        return session

    def read(self, key: str, session_id: str, query: str = SESSION) -> dict[str, Any]:
        session: dict[str, Any] = self.gql(key, query, {"id": session_id})["data"][
            "verificationSession"
        ]
        return session

    def wait_for(
        self, key: str, session_id: str, until: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while not until(session := self.read(key, session_id)):
            assert time.monotonic() < deadline, session
            time.sleep(0.1)
        return session

    def remember(self, value: Any) -> None:
        """Collect the client secrets and url tokens anywhere in a response body."""
        if isinstance(value, dict):
            for name, item in value.items():
                if name in ("clientSecret", "client_secret") and item:
                    self.seen_secrets.add(item)
                elif name == "url" and item:
                    self.seen_secrets.add(item.rsplit("/", 1)[1])
                else:
                    self.remember(item)
        elif isinstance(value, list):
            for item in value:
                self.remember(item)


def access_line(gateway: Gateway, exchange: Exchange) -> str:
    """The access-log line of the request with this id, polled for (the server keeps running)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        lines = [line for line in gateway.log.splitlines() if f"[{exchange.request_id}]" in line]
        access = [line for line in lines if " app.access " in line]
        if access:
            break
        assert time.monotonic() < deadline, f"no access line for {exchange} in:\n{gateway.log}"
        time.sleep(0.02)
    (line,) = access
    expected = re.compile(
        rf"^\S+ \S+ INFO app\.access \[{exchange.request_id}\] {re.escape(exchange.method)} "
        rf"{re.escape(exchange.path)} {exchange.status} \d+\.\dms$"
    )
    assert expected.match(line), (line, exchange)
    return line


def secret_variants(secret: str) -> set[str]:
    """A secret and the parts of it that would betray it on their own."""
    variants = {secret}
    if re.match(r"^[sr]k_(test|live)_", secret):
        variants.add(secret.split("_", 2)[2])  # the key without its prefix
        variants.add(hashlib.sha256(secret.encode()).hexdigest())  # as the key is stored
    if "_secret_" in secret:
        variants.add(secret.partition("_secret_")[2])  # a client secret's random part
    return variants


def stored_secrets(database: Database) -> set[str]:
    """Every credential the database holds: key hashes, client secrets, url tokens ever issued."""
    rows = [
        *database.execute("SELECT key_hash FROM api_keys"),
        *database.execute("SELECT client_secret FROM verification_sessions"),
        *database.execute("SELECT url_token FROM verification_sessions"),
        *database.execute("SELECT token FROM verification_links"),
        *database.execute("SELECT secret FROM webhook_endpoints"),
        *database.execute("SELECT previous_secret FROM webhook_endpoints"),
    ]
    return {row[0] for row in rows if row[0]}


def test_a_full_lifecycle_logs_no_secret_and_every_line_carries_its_request(
    database_url: str, tmp_path: Path
) -> None:
    # given: keys that exist before the server starts (so it prints none), a server at DEBUG
    database = Database(database_url)
    account = ids.new_id(ids.ACCOUNT)
    keys = Keys(
        secret=database.create_key(account_id=account),
        restricted=database.create_key(account_id=account, restricted=True),
        live=database.create_key(account_id=account, livemode=True),
        live_restricted=database.create_key(account_id=account, livemode=True, restricted=True),
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = gateway_env(
        database_url,
        LOG_LEVEL="DEBUG",
        PROCESSING_DELAY_SECONDS="0.2",
        REDACTION_DELAY_SECONDS="0.2",
        WEBHOOK_RETRY_SECONDS="0.5",
        # Rate limits on, over a Redis that is down: the first keyed request logs a warning as
        # well as its access line, so there is a request with more than one line to compare.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        RATE_LIMIT_TEST_PER_SECOND="10000",
        RATE_LIMIT_LIVE_PER_SECOND="10000",
    )
    gateway = Gateway(name="serve", workdir=workdir, env=env).start()
    try:
        with httpx.Client(timeout=30) as http:
            client = Client(gateway=gateway, http=http)
            run_lifecycle(client, keys)
    finally:
        gateway.stop()
    output = gateway.log

    # then: no secret, in any form, anywhere in what the process wrote
    secrets = set(keys.all()) | client.seen_secrets | stored_secrets(database)
    leaked = sorted(
        {variant for secret in secrets for variant in secret_variants(secret) if variant in output}
    )
    assert leaked == [], f"{len(leaked)} secrets in the log, e.g. {leaked[:3]}"
    # and every response had its own request id, found on its access line
    request_ids = [exchange.request_id for exchange in client.exchanges]
    assert len(set(request_ids)) == len(request_ids)
    # and the lines of one request share its id: the first one logged the Redis warning too
    first_lines = [line for line in output.splitlines() if f"[{request_ids[0]}]" in line]
    assert [line.split()[3] for line in first_lines] == ["app.ratelimit", "app.access"], first_lines
    # (the only requests of ours not among them are the readiness probes of Gateway.start)
    strangers = [
        line
        for line in output.splitlines()
        if (found := re.search(r"\[(req_[0-9A-Za-z]{16})\]", line)) and found[1] not in request_ids
    ]
    assert all(" app.access " in line and " GET /healthz " in line for line in strangers), strangers
    # and the output is whole log records, one a line, besides the banner `serve` prints
    assert output.endswith("\n")
    lines = output.splitlines()
    banner = (_banner(gateway.base_url, None) + "\n").splitlines()  # as `print` writes it
    assert [line for line in lines if not LOG_RECORD.match(line)] == banner
    assert "Traceback" not in output
    print(f"{len(client.exchanges)} requests, {len(secrets)} secrets, {len(lines)} log lines")


def run_lifecycle(client: Client, keys: Keys) -> None:
    """Everything a session goes through, and the requests that go wrong."""
    base = client.gateway.base_url

    # a webhook endpoint whose URL carries the receiver's own token, its secret rolled once
    with receiving(f"/hooks/{WEBHOOK_URL_TOKEN}") as receiver:
        auth = {"Authorization": f"Bearer {keys.secret}"}
        made = client.request(
            "POST",
            f"{base}/v1/webhook_endpoints",
            200,
            data={"url": receiver.url, "enabled_events[]": "*"},
            headers=auth,
        ).json()
        rolled = client.request(
            "POST",
            f"{base}/v1/webhook_endpoints/{made['id']}",
            200,
            data={"roll_secret": "true"},
            headers=auth,
        ).json()
        client.seen_secrets |= {made["secret"], rolled["secret"], WEBHOOK_URL_TOKEN}
        receiver.answers = [500]  # a failed attempt, and its retry, are logged too
        run_sessions(client, keys, base)
        assert len(receiver.wait_for(2)) >= 2


def run_sessions(client: Client, keys: Keys, base: str) -> None:
    # create, then retrieve with the secret key, the restricted key and the client secret
    first = client.mutate(
        keys.secret,
        CREATE,
        {"input": {"type": "DOCUMENT", "metadata": {"order": "1001"}}},
    )
    sid = first["id"]
    assert client.read(keys.secret, sid)["clientSecret"] == first["clientSecret"]
    assert client.read(keys.restricted, sid)["clientSecret"] is None
    assert client.read(first["clientSecret"], sid, LIMITED)["status"] == "REQUIRES_INPUT"

    # the hosted page: open it, fail the attempt through its form, follow to the status page
    client.request("GET", first["url"], 200)
    submitted = client.request(
        "POST",
        first["url"],
        303,
        data={"outcome": "requires_input", "last_error_code": "document_expired"},
    )
    client.request("GET", f"{base}{submitted.headers['location']}", 200)
    client.request("POST", first["url"], 410, data={"outcome": "verified"})  # spent

    # back in requires_input with fresh credentials: submit through GraphQL with the new secret
    retry = client.wait_for(keys.secret, sid, lambda s: s["status"] == "REQUIRES_INPUT")
    assert retry["lastError"] == {"code": "DOCUMENT_EXPIRED"}
    assert retry["clientSecret"] != first["clientSecret"]
    processing = client.mutate(retry["clientSecret"], SUBMIT, {"input": {"id": sid}})
    assert processing["status"] == "PROCESSING"
    client.wait_for(keys.secret, sid, lambda s: s["status"] == "VERIFIED")

    # simulate, cancel, redact
    simulated = client.mutate(keys.secret, CREATE, {"input": {"type": "ID_NUMBER"}})["id"]
    outcome = {"id": simulated, "outcome": "VERIFIED"}
    assert client.mutate(keys.secret, SIMULATE, {"input": outcome})["status"] == "VERIFIED"
    canceled = client.mutate(keys.secret, CREATE, {"input": {"type": "DOCUMENT"}})["id"]
    assert client.mutate(keys.secret, CANCEL, {"id": canceled})["status"] == "CANCELED"
    for session_id in (sid, canceled):
        client.mutate(keys.secret, REDACT, {"id": session_id})
        client.wait_for(keys.secret, session_id, lambda s: s["redaction"] == {"status": "REDACTED"})

    # live mode: create and read; a submission is refused without a verifier
    live = client.mutate(keys.live, CREATE, {"input": {"type": "DOCUMENT"}})
    assert client.read(keys.live_restricted, live["id"])["status"] == "REQUIRES_INPUT"
    body = client.gql(keys.live, SUBMIT, {"input": {"id": live["id"]}})
    (error,) = body["data"]["submitVerificationSession"]["userErrors"]
    assert error["code"] == "VERIFIER_UNAVAILABLE"

    # credentials that do not work: a made-up key, a forged and a spent client secret
    made_up = "sk_test_" + ids.random_base62(32)
    forged = f"{live['id']}_secret_{ids.random_base62(24)}"
    for bad in (made_up, forged, first["clientSecret"]):
        body = client.gql(bad, SESSION, {"id": sid}, status=401)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # requests nobody expected
    client.request("GET", f"{base}/verify/{ids.random_base62(32)}", 404)
    client.request("GET", f"{base}/v1/no_such_resource/{sid}", 404)
    # the REST surface, with a key and with a made-up one
    rest = client.request(
        "GET",
        f"{base}/v1/identity/verification_sessions/{sid}",
        200,
        headers={"Authorization": f"Bearer {keys.secret}"},
    )
    assert rest.json()["id"] == sid
    client.remember(rest.json())
    client.seen_secrets.add(made_up)
    client.request(
        "GET",
        f"{base}/v1/identity/verification_sessions",
        401,
        headers={"Authorization": f"Bearer {made_up}"},
    )
    client.request("GET", f"{base}/graphql", 200, headers={"Accept": "text/html"})
    client.request("GET", f"{base}/healthz", 200)
