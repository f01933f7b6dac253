"""OpenTelemetry traces (app.tracing): one tree per request, and nothing secret in it.

A real uvicorn serves the app over each backend. Most tests hand the app a tracer provider with an
in-memory exporter; one lets it send to a real OTLP/HTTP collector over loopback (a small HTTP
server here whose protobuf the test decodes), configured by OTEL_EXPORTER_OTLP_ENDPOINT alone as
an operator would, and one points it at a collector that does not answer. Two run a fresh
interpreter: without the endpoint, and without the extra. A span tree is: the HTTP request (kind SERVER), the GraphQL operation under it, and the
statements (kind CLIENT) under those: the lean Reader's and SQLAlchemy's (ORM writes). No span
may show an API key, a client secret, a hosted-page token, the document or its variables.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from app import tracing
from app.db import Reader, create_engine
from app.domain import ids
from app.main import create_app
from app.settings import Settings, SettingsError
from tests.conftest import Database, free_port, run
from tests.ws_client import session as ws_session

WAIT_SECONDS = 20.0
# A value only the variables carry: it must reach no span.
MARKER = "marker_" + "Zq81VbXw"

LIST_SESSIONS = "query ListSessions { verificationSessions(first: 5) { nodes { id } } }"
ANONYMOUS = "{ verificationSessions(first: 1) { nodes { id } } }"
CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id clientSecret url }
    userErrors { code }
  }
}
"""
SESSION = "query Session($id: ID!) { verificationSession(id: $id) { id status } }"


@dataclass(frozen=True)
class Seen:
    """A span as either exporter gives it back."""

    name: str
    span_id: int
    parent_id: int | None
    trace_id: int
    server: bool
    attributes: dict[str, Any]


def seen_in_memory(span: ReadableSpan) -> Seen:
    assert span.context is not None
    return Seen(
        name=span.name,
        span_id=span.context.span_id,
        parent_id=span.parent.span_id if span.parent is not None else None,
        trace_id=span.context.trace_id,
        server=span.kind.name == "SERVER",
        attributes=dict(span.attributes or {}),
    )


@contextmanager
def serving(settings: Settings, provider: TracerProvider | None = None) -> Iterator[str]:
    """uvicorn serving the app on a free port in a thread; its base URL. On exit the server
    stops, its lifespan ending (which sends a provider's last spans) before this returns."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        dataclasses.replace(settings, public_base_url=base_url), tracer_provider=provider
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.02)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_SECONDS)
    assert not thread.is_alive(), "server did not stop"


def settings_for(database: Database, **overrides: Any) -> Settings:
    return Settings(
        database_url=database.url,
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
        # The worker polls all the time: none of its statements may start a trace.
        worker_poll_seconds=0.05,
        **overrides,
    )


@dataclass
class Traced:
    http: httpx.Client
    key: str
    exporter: InMemorySpanExporter

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def spans(self, *, requests: int) -> list[Seen]:
        """Every span so far, once `requests` request spans have ended (a request's span ends
        just after its response is sent)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            spans = [seen_in_memory(span) for span in self.exporter.get_finished_spans()]
            if sum(span.server for span in spans) >= requests:
                return spans
            assert time.monotonic() < deadline, f"{requests} request spans expected: {spans}"
            time.sleep(0.02)


@pytest.fixture
def traced(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    # As an operator might: ask the instrumentation to record every header, Authorization too.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE", ".*")
    # And leave the health probes out.
    monkeypatch.setenv("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "healthz,readyz")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with (
        serving(settings_for(database), provider) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield Traced(http=http, key=key, exporter=exporter)
    provider.shutdown()


def one(spans: list[Seen], name: str) -> Seen:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def statements(spans: list[Seen]) -> list[Seen]:
    return [span for span in spans if "db.system" in span.attributes]


def children(spans: list[Seen], parent: Seen) -> list[Seen]:
    return [span for span in spans if span.parent_id == parent.span_id]


def test_a_query_is_a_request_span_over_its_operation_over_its_reads(traced: Traced) -> None:
    # when
    response = traced.http.post(
        "/graphql",
        json={"query": LIST_SESSIONS},
        headers={"Authorization": f"Bearer {traced.key}"},
    )
    # then
    assert response.status_code == 200, response.text
    spans = traced.spans(requests=1)
    request = one(spans, "POST /graphql")
    operation = one(spans, "query ListSessions")
    assert request.parent_id is None
    assert request.attributes["gateway.request_id"] == response.headers["Request-Id"]
    assert operation.parent_id == request.span_id
    assert operation.attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "ListSessions",
    }
    reads = children(spans, operation)
    assert reads, "the Reader's statements are under the operation"
    backend = "postgresql" if traced_postgres(spans) else "sqlite"
    for read in reads:
        assert read.attributes["db.system"] == backend
        assert read.attributes["db.statement"].startswith("SELECT ")
        assert read.name.startswith("SELECT")
    assert {span.trace_id for span in spans} == {request.trace_id}


def traced_postgres(spans: list[Seen]) -> bool:
    return any(span.attributes.get("db.system") == "postgresql" for span in spans)


def test_a_mutation_traces_its_orm_writes_under_the_operation(traced: Traced) -> None:
    # when
    traced.gql(CREATE, {"input": {"type": "DOCUMENT", "metadata": {"note": MARKER}}})
    # then
    spans = traced.spans(requests=1)
    operation = one(spans, "mutation Create")
    writes = [
        span
        for span in children(spans, operation)
        if span.attributes["db.statement"].startswith("INSERT INTO verification_sessions")
    ]
    assert len(writes) == 1, [span.attributes for span in children(spans, operation)]
    # A statement is its text: the parameters, the metadata among them, are left out.
    assert MARKER not in writes[0].attributes["db.statement"]


def test_an_anonymous_operation_is_named_by_its_type(traced: Traced) -> None:
    # when
    traced.gql(ANONYMOUS)
    # then
    operation = one(traced.spans(requests=1), "query")
    assert operation.attributes == {"graphql.operation.type": "query"}


def test_a_document_that_does_not_parse_is_a_graphql_operation_span(traced: Traced) -> None:
    # when
    response = traced.http.post(
        "/graphql",
        json={"query": "query Broken {"},
        headers={"Authorization": f"Bearer {traced.key}"},
    )
    # then
    assert response.status_code == 200
    spans = traced.spans(requests=1)
    assert one(spans, "GraphQL Operation").attributes == {}


def test_no_span_shows_a_key_a_client_secret_a_token_the_document_or_variables(
    traced: Traced,
) -> None:
    # given a session, its client secret and its hosted page's token
    created = traced.gql(CREATE, {"input": {"type": "DOCUMENT", "metadata": {"note": MARKER}}})
    session = created["createVerificationSession"]["verificationSession"]
    token_path = urlsplit(session["url"]).path
    token = token_path.rsplit("/", 1)[1]
    # when the session is read over GET (the document and variables in the query string), the
    # hosted page is opened and its form posted (a 303 to the status page, whose URL holds the
    # token, as does the Referer the browser sends with it), and its status read
    read = traced.http.get(
        "/graphql",
        params={"query": SESSION, "variables": json.dumps({"id": session["id"] + MARKER})},
        headers={"Authorization": f"Bearer {traced.key}"},
    )
    assert read.status_code == 200, read.text
    assert traced.http.get(token_path).status_code == 200
    posted = traced.http.post(
        token_path,
        data={"outcome": "requires_input", "last_error_code": "document_expired"},
        headers={"Referer": session["url"]},
    )
    assert posted.status_code == 303, posted.text
    status = traced.http.get(f"{token_path}/status", headers={"Referer": session["url"]})
    assert status.status_code == 200
    assert traced.http.get("/healthz").status_code == 200
    # and the REST surface lists sessions, the key in Stripe's Basic form, a filter in the URL
    basic = base64.b64encode(f"{traced.key}:".encode()).decode()
    listed = traced.http.get(
        "/v1/identity/verification_sessions",
        params={"limit": 1, "client_reference_id": MARKER},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert listed.status_code == 200, listed.text
    # then
    seen = traced.spans(requests=6)
    rest = one(seen, "GET /v1/identity/verification_sessions")
    assert statements(children(seen, rest)), "the REST surface's reads are under its request"
    names = {span.name for span in seen}
    assert {
        "GET /graphql",
        "GET /verify/[token]",
        "POST /verify/[token]",
        "GET /verify/[token]/status",
    } <= names
    assert "GET /healthz" not in names
    request = one(seen, "GET /graphql")
    assert request.attributes["http.request.header.authorization"] == ("[REDACTED]",)
    assert "?" not in request.attributes.get("http.url", "")
    assert "?" not in request.attributes.get("http.target", "")
    everything = "\n".join(span.to_json() for span in traced.exporter.get_finished_spans())
    for secret in (
        traced.key,
        basic,
        traced.key.split("_", 2)[-1],
        session["clientSecret"],
        session["clientSecret"].rsplit("_", 1)[-1],
        token,
        MARKER,
        "createVerificationSession(input: $input)",
        "verificationSession(id: $id)",
    ):
        assert secret not in everything, secret


def test_statements_outside_a_request_start_no_trace(traced: Traced) -> None:
    # given the worker and the live feed polling for a while
    time.sleep(0.5)
    # when
    traced.gql(LIST_SESSIONS)
    # then every statement belongs to the request's trace
    spans = traced.spans(requests=1)
    assert statements(spans)
    for span in statements(spans):
        assert span.parent_id is not None, span


def test_a_caller_s_traceparent_makes_the_request_part_of_its_trace(traced: Traced) -> None:
    # given
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent_id = "00f067aa0ba902b7"
    # when
    response = traced.http.post(
        "/graphql",
        json={"query": LIST_SESSIONS},
        headers={
            "Authorization": f"Bearer {traced.key}",
            "traceparent": f"00-{trace_id}-{parent_id}-01",
        },
    )
    # then
    assert response.status_code == 200
    request = one(traced.spans(requests=1), "POST /graphql")
    assert request.trace_id == int(trace_id, 16)
    assert request.parent_id == int(parent_id, 16)


WATCH = "subscription Watch($id: ID!) { verificationSession(id: $id) { id status } }"


def test_a_subscription_runs_through_the_traced_app(traced: Traced) -> None:
    # given
    created = traced.gql(CREATE, {"input": {"type": "DOCUMENT"}})
    session_id = created["createVerificationSession"]["verificationSession"]["id"]

    # when
    async def watch() -> list[dict[str, Any]]:
        async with ws_session(str(traced.http.base_url).rstrip("/"), traced.key) as client:
            await client.subscribe("1", WATCH, {"id": session_id})
            return await client.payloads("1", 1)

    payloads = run(watch())
    # then
    assert payloads[0]["data"]["verificationSession"]["id"] == session_id
    # The connection's span ends when the socket closes; no span per message.
    spans = traced.spans(requests=2)
    assert not [span for span in spans if span.name.endswith(("send", "receive"))]


def test_the_service_is_named_identity_gateway_without_otel_service_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused", otel_exporter_otlp_endpoint="http://127.0.0.1:9"
    )
    traces = tracing.start(settings)
    assert traces is not None
    try:
        assert traces.provider.resource.attributes["service.name"] == "identity-gateway"
    finally:
        traces.shutdown()


def test_a_failed_statement_shows_the_error_type_not_the_values(database: Database) -> None:
    # given an engine traced as the app traces its own
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def violate_a_unique_column() -> None:
        engine = create_engine(database.url)
        traces = tracing.start(settings_for(database), provider)
        assert traces is not None
        traces.instrument(engine, Reader(engine))
        try:
            with provider.get_tracer("test").start_as_current_span("request"):
                async with engine.connect() as connection:
                    await connection.execute(text("CREATE TEMP TABLE probe (x TEXT UNIQUE)"))
                    insert = text("INSERT INTO probe (x) VALUES (:x)")
                    await connection.execute(insert, {"x": MARKER})
                    # when (Postgres's message quotes the value: `Key (x)=(…) already exists`)
                    with pytest.raises(IntegrityError):
                        await connection.execute(insert, {"x": MARKER})
        finally:
            traces.shutdown()
            await engine.dispose()

    run(violate_a_unique_column())
    # then
    failed = [span for span in exporter.get_finished_spans() if not span.status.is_ok]
    assert len(failed) == 1
    assert failed[0].status.description in ("IntegrityError", "UniqueViolationError")
    assert failed[0].attributes is not None
    assert failed[0].attributes["db.statement"].startswith("INSERT INTO probe")
    assert MARKER not in "\n".join(span.to_json() for span in exporter.get_finished_spans())


# --- a real collector -------------------------------------------------------------------------


@dataclass
class Collector:
    """An OTLP/HTTP collector on loopback: what it was sent, decoded."""

    url: str
    bodies: list[bytes] = dataclasses.field(default_factory=list)

    def spans(self) -> tuple[dict[str, str], list[Seen]]:
        """The service's resource attributes and every span received."""
        resource: dict[str, str] = {}
        spans = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for item in resource_spans.resource.attributes:
                    resource[item.key] = item.value.string_value
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        spans.append(
                            Seen(
                                name=span.name,
                                span_id=int.from_bytes(span.span_id, "big"),
                                parent_id=int.from_bytes(span.parent_span_id, "big") or None,
                                trace_id=int.from_bytes(span.trace_id, "big"),
                                server=span.kind == span.SPAN_KIND_SERVER,
                                attributes={
                                    item.key: item.value.string_value for item in span.attributes
                                },
                            )
                        )
        return resource, spans


@contextmanager
def collecting() -> Iterator[Collector]:
    collector = Collector(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                collector.bodies.append(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    collector.url = f"http://127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        http.shutdown()
        http.server_close()


def test_spans_reach_an_otlp_collector_named_by_otel_service_name(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-under-test")
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    with collecting() as collector:
        settings = settings_for(
            database,
            otel_exporter_otlp_endpoint=Settings.from_environ(
                {"DATABASE_URL": database.url, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url + "/"}
            ).otel_exporter_otlp_endpoint,
        )
        # when a mutation and a query run, and the server stops (sending what it holds)
        with serving(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
            for body in (
                {"query": CREATE, "variables": {"input": {"type": "DOCUMENT"}}},
                {"query": LIST_SESSIONS},
            ):
                response = http.post(
                    "/graphql", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                assert response.status_code == 200, response.text
        # then
        resource, spans = collector.spans()
    assert resource["service.name"] == "gateway-under-test"
    requests = [span for span in spans if span.name == "POST /graphql"]
    assert len(requests) == 2
    for operation_name in ("mutation Create", "query ListSessions"):
        operation = one(spans, operation_name)
        assert operation.parent_id in {request.span_id for request in requests}
        assert any(
            span.attributes["db.statement"].split()[0] in ("SELECT", "INSERT")
            for span in children(spans, operation)
        ), operation_name
    assert key not in "\n".join(map(repr, collector.bodies))


def test_a_collector_that_does_not_answer_costs_no_request(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a collector address nothing listens on, and a short export timeout
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    key = database.create_key(account_id=ids.new_id(ids.ACCOUNT))
    settings = settings_for(database, otel_exporter_otlp_endpoint=f"http://127.0.0.1:{free_port()}")
    # when
    with serving(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        for _ in range(3):
            response = http.post(
                "/graphql",
                json={"query": LIST_SESSIONS},
                headers={"Authorization": f"Bearer {key}"},
            )
            # then every request is answered as without tracing
            assert response.status_code == 200, response.text
            assert "errors" not in response.json()
    # and the server stopped (`serving` checks), its spans given up
    assert tracing.operation_tracer is None


# --- off --------------------------------------------------------------------------------------

# Run in a fresh interpreter, where nothing else has imported OpenTelemetry yet. redis-py imports
# OpenTelemetry's metrics API and SDK itself whenever they are installed (its own, opt-in,
# metrics), so what is checked is that none of what tracing uses is loaded: the trace SDK, an
# exporter, an instrumentation.
_STARTS_WITHOUT_OPENTELEMETRY = """
import sys
from app.main import create_app
from app.settings import Settings

create_app(Settings.from_environ({"DATABASE_URL": sys.argv[1]}))
tracing = (
    "opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.instrumentation",
    "opentelemetry.proto",
)
loaded = sorted(name for name in sys.modules if name.startswith(tracing))
assert not loaded, loaded
print("ok")
"""

# As if the extra were not installed: every OpenTelemetry import fails.
_STARTS_WITHOUT_THE_EXTRA = """
import sys

class NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ImportError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoOpenTelemetry())
from app.main import create_app
from app.settings import Settings

create_app(Settings.from_environ(
    {"DATABASE_URL": sys.argv[1], "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
))
print("ok")
"""


def run_python(source: str, database: Database) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", source, database.url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_the_endpoint_nothing_of_opentelemetry_is_imported(database: Database) -> None:
    done = run_python(_STARTS_WITHOUT_OPENTELEMETRY, database)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_with_the_endpoint_but_without_the_extra_the_app_starts_and_says_so(
    database: Database,
) -> None:
    done = run_python(_STARTS_WITHOUT_THE_EXTRA, database)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "the otel extra is not installed" in done.stderr


@pytest.mark.parametrize(
    "value", ["collector:4318", "ftp://collector:4318", "http:///v1", "http://c:4318/?k=v"]
)
def test_a_bad_otlp_endpoint_is_refused_by_name_without_echoing_it(value: str) -> None:
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT must be") as raised:
        Settings.from_environ({"OTEL_EXPORTER_OTLP_ENDPOINT": value})
    assert value not in str(raised.value)
