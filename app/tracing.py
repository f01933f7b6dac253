"""OpenTelemetry traces, when the `otel` extra is installed and OTEL_EXPORTER_OTLP_ENDPOINT is set.

A traced request is one tree of spans:

    POST /graphql                        the HTTP request (OpenTelemetry's ASGI middleware)
    ├── SELECT <database>                the key's lookup, before the operation
    └── mutation Create                  the GraphQL operation (`app.web.graphql`)
        ├── SELECT <database>            a statement of the lean Reader (`app.db`)
        └── INSERT <database>            an ORM/Core statement (SQLAlchemy's instrumentation)

Hosted pages and the REST surface have the request's span and their statements under it.

What never reaches a span: the Authorization header (or any captured header holding a
credential), a URL's query string (a GET /graphql carries the document and its variables
there), the token of a hosted-page path (`/verify/[token]`, masked as the access log masks it),
a GraphQL document or its variables, and SQL parameter values (a statement is its text, with
placeholders). An exception's message stays out too: a span gets the exception's type only.

Statements outside a traced request (the worker's and the live feed's polling) start no trace of
their own: they would be a trace every few hundred milliseconds, each one statement long.

Nothing of OpenTelemetry is imported until `start` finds tracing on, so a gateway without the
extra, or without the endpoint, runs exactly as before; while tracing is off, what the request
path pays for it is a None check per operation (`operation_tracer`) and per Reader statement
(`Reader.statement_span`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import Reader
from app.settings import Settings
from app.web.requests import loggable_path

if TYPE_CHECKING:
    from graphql import OperationDefinitionNode
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, SpanKind, Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("app.tracing")
T = TypeVar("T")

# The tracer of GraphQL operation spans while an app traces; None while none does (the GraphQL
# endpoint checks it before it calls `operation`).
operation_tracer: Tracer | None = None
_OFF: AbstractContextManager[None] = nullcontext()
# Headers whose values a span never shows, whatever OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*
# asks to capture (regular expressions, matched case-insensitively anywhere in the name).
# `referer` and `location` may hold a hosted page's URL, and with it its token.
_SECRET_HEADERS = ("authorization", "cookie", "api-key", "secret", "token", "referer", "location")
# A document's operation name can be as long as the document; a span name should not be.
_MAX_NAME = 100
SERVICE_NAME = "identity-gateway"


class Tracing:
    """The tracer provider of one app, and what it instruments."""

    def __init__(self, provider: TracerProvider, *, owned: bool) -> None:
        self.provider = provider
        # A provider made here is shut down (its last spans sent) with the app; a test's is not.
        self.owned = owned
        self.tracer = provider.get_tracer("app")

    def instrument(self, engine: AsyncEngine, reader: Reader) -> None:
        """Spans for the engine's statements (SQLAlchemy's own instrumentation), the Reader's
        (made here: it runs them on the driver, past SQLAlchemy) and GraphQL operations."""
        global operation_tracer
        _engine_tracer(self.tracer, engine)
        reader.statement_span = _statement_spans(self.tracer, engine)
        operation_tracer = self.tracer

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """OpenTelemetry's ASGI middleware around `app`: a span per HTTP request."""
        return _MaskedTracing(app, self.provider)

    def shutdown(self) -> None:
        """Stop tracing operations; a provider made here sends its last spans (within the
        exporter's timeout, OTEL_EXPORTER_OTLP_TIMEOUT) and stops."""
        global operation_tracer
        if operation_tracer is self.tracer:
            operation_tracer = None
        if self.owned:
            self.provider.shutdown()


def start(settings: Settings, provider: TracerProvider | None = None) -> Tracing | None:
    """Tracing for one app: to `provider` (tests pass one holding an in-memory exporter), else to
    OTEL_EXPORTER_OTLP_ENDPOINT over OTLP/HTTP. None, importing nothing of OpenTelemetry, when
    the endpoint is unset, and when the `otel` extra is not installed (which is logged)."""
    if provider is not None:
        return Tracing(provider, owned=False)
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None:
        return None
    try:
        return Tracing(_otlp_provider(endpoint), owned=True)
    except ImportError:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed "
            "(pip install '.[otel]'): no traces are sent"
        )
        return None


def _otlp_provider(endpoint: str) -> TracerProvider:
    # The whole extra or none of it: an instrumentation missing fails here, not in create_app.
    import opentelemetry.instrumentation.asgi
    import opentelemetry.instrumentation.sqlalchemy.engine  # noqa: F401
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read here by the SDK; without them the
    # service has the gateway's name rather than `unknown_service`.
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    # As the OTLP spec has it for the signal-independent variable: traces go to /v1/traces.
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


# --- GraphQL operations -----------------------------------------------------------------------


async def operation(execution: Awaitable[T], node: OperationDefinitionNode | None) -> T:
    """`execution` (the operation's run, not started yet) awaited inside a span named by the
    operation's type and name (`query ListSessions`, an anonymous one `query`). The caller checks
    `operation_tracer` first, so that while tracing is off it pays only that check.

    `node` is the operation the request runs (`QueryLimiter.operation`, from the parse the
    execution uses too; None when there is none): the name comes from the document, never from
    the request's `operationName` alone; the document and the variables are not recorded.
    """
    tracer = operation_tracer
    if tracer is None:
        return await execution
    with _operation_span(tracer, node):
        return await execution


def _operation_span(
    tracer: Tracer, node: OperationDefinitionNode | None
) -> AbstractContextManager[object]:
    if node is None:
        return _span(tracer, "GraphQL Operation", {})
    kind = node.operation.value
    attributes = {"graphql.operation.type": kind}
    name = kind
    if node.name is not None:
        attributes["graphql.operation.name"] = node.name.value[:_MAX_NAME]
        name = f"{kind} {attributes['graphql.operation.name']}"
    return _span(tracer, name, attributes)


@contextmanager
def _span(
    tracer: Tracer, name: str, attributes: Mapping[str, Any], *, kind: SpanKind | None = None
) -> Iterator[Span]:
    """A span that, on an exception, is marked failed with the exception's type only: its
    message (and a traceback) may quote what a span must not show."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    with tracer.start_as_current_span(
        name,
        kind=kind or SpanKind.INTERNAL,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


# --- database statements ----------------------------------------------------------------------


def _in_trace() -> bool:
    from opentelemetry import trace

    return trace.get_current_span().get_span_context().is_valid


def _statement_spans(
    tracer: Tracer, engine: AsyncEngine
) -> Callable[[str], AbstractContextManager[object]]:
    """`span(sql)` for the Reader: the attributes SQLAlchemy's instrumentation gives its own
    statements (system, database, the SQL text, never its parameters), named alike."""
    from opentelemetry.trace import SpanKind

    url = engine.url
    system = engine.dialect.name  # `sqlite` or `postgresql`, as the instrumentation says
    common: dict[str, Any] = {"db.system": system}
    if url.database:
        common["db.name"] = url.database
    if url.host:
        common["net.peer.name"] = url.host
    if url.port:
        common["net.peer.port"] = url.port
    suffix = f" {url.database}" if url.database else ""

    def span(sql: str) -> AbstractContextManager[object]:
        if not _in_trace():
            return _OFF
        verb = sql.split(None, 1)[0] if sql else system
        return _span(
            tracer,
            f"{verb}{suffix}",
            {**common, "db.statement": sql, "db.operation": verb},
            kind=SpanKind.CLIENT,
        )

    return span


def _engine_tracer(tracer: Tracer, engine: AsyncEngine) -> None:
    """SQLAlchemy's instrumentation on this engine alone.

    Its `SQLAlchemyInstrumentor().instrument()` would also patch `create_engine` and
    `Engine.connect` process-wide and instrument one engine per process (it is a singleton);
    its `EngineTracer` is what that attaches to the engine given. The Reader announces its
    statements to the engine's listeners without a connection (see `app.db.Reader`): those it
    traces itself, and the subclass leaves them alone, as it does statements outside a trace.
    A failed statement's span says the error's type only: the instrumentation's own handler
    writes the driver's message, which on Postgres quotes the row's values (`DETAIL: Key
    (…)=(…) already exists`).
    """
    from opentelemetry.instrumentation.sqlalchemy import engine as instrumentation
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter
    from opentelemetry.trace import Status, StatusCode
    from sqlalchemy import event

    class _EngineTracer(EngineTracer):
        def _before_cur_exec(
            self,
            conn: Any,
            cursor: Any,
            statement: str,
            params: Any,
            context: Any,
            executemany: bool,
        ) -> tuple[str, Any]:
            if conn is None or not _in_trace():
                return statement, params
            result: tuple[str, Any] = super()._before_cur_exec(  # type: ignore[no-untyped-call]
                conn, cursor, statement, params, context, executemany
            )
            return result

    # Traces only: the connection-usage metric goes to a meter that records nothing.
    usage = NoOpMeter("app").create_up_down_counter("db.client.connections.usage")
    _EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]

    def failed(context: Any) -> None:
        span = getattr(context.execution_context, "_otel_span", None)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(context.original_exception).__name__))
            span.end()

    event.remove(engine.sync_engine, "handle_error", instrumentation._handle_error)
    event.listen(engine.sync_engine, "handle_error", failed)


# --- HTTP requests ----------------------------------------------------------------------------

# Where the real scope travels inside the copy OpenTelemetry's middleware is shown.
_REAL_SCOPE = "gateway.real_scope"


class _MaskedTracing:
    """OpenTelemetry's ASGI middleware, shown a copy of each request's scope without what a span
    must not record: no query string, and the hosted-page token masked in the path. The app
    itself runs on the real scope. Its spans for each message sent and received are left out
    (a WebSocket would make one per frame)."""

    def __init__(self, app: ASGIApp, provider: TracerProvider) -> None:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.metrics import NoOpMeter
        from opentelemetry.util.http import (
            OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS,
            get_custom_headers,
            get_excluded_urls,
        )

        self.app = app
        self.traced = OpenTelemetryMiddleware(
            self._real,
            tracer_provider=provider,
            # Traces only: the HTTP metrics go to a meter that records nothing.
            meter=NoOpMeter("app"),
            exclude_spans=["receive", "send"],
            # OTEL_PYTHON_ASGI_EXCLUDED_URLS (or OTEL_PYTHON_EXCLUDED_URLS): e.g. `healthz,readyz`.
            excluded_urls=get_excluded_urls("ASGI"),
            http_capture_headers_sanitize_fields=[
                *_SECRET_HEADERS,
                *get_custom_headers(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS),
            ],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        shown = {
            key: value for key, value in scope.items() if key not in ("raw_path", "query_string")
        }
        shown["path"] = loggable_path(scope["path"])
        shown[_REAL_SCOPE] = scope
        await self.traced(shown, receive, send)

    async def _real(self, shown: Scope, receive: Receive, send: Send) -> None:
        from opentelemetry import trace

        span = trace.get_current_span()

        async def send_noting_the_request_id(message: Message) -> None:
            # The Request-Id a client quotes, and the log lines carry, finds the trace too.
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", ()):
                    if name == b"request-id":
                        span.set_attribute("gateway.request_id", value.decode("latin-1"))
            await send(message)

        await self.app(shown[_REAL_SCOPE], receive, send_noting_the_request_id)
