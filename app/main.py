"""`create_app(settings)`: the Starlette application, its routes, middleware and lifespan (which
runs the background worker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app import tracing
from app.db import Reader, create_engine, on_commit
from app.metrics import Metrics
from app.migrations import head_revision
from app.rest import rest_routes
from app.schema import build_schema
from app.services import notices
from app.services.live import LiveFeed
from app.settings import Settings
from app.verifiers import load_verifier
from app.web.graphql import GraphQLEndpoint
from app.web.health import health_endpoint, readiness_endpoint
from app.web.hosted import hosted_routes
from app.web.idempotency import CLAIM_LEASE, Idempotency
from app.web.metrics import metrics_endpoint
from app.web.playground import Playground
from app.web.ratelimit import RateLimiter
from app.web.requests import RequestIdMiddleware
from app.web.subscriptions import SubscriptionEndpoint
from app.web.trusted_documents import TrustedDocuments
from app.worker import Worker

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


class Gateway(Starlette):
    """The Starlette application, with `GET` and `POST /graphql` over HTTP handed straight to the
    GraphQL endpoint inside the same middleware (`Request-Id` and the access log, CORS when
    configured): without the router, Starlette's exception middleware and its per-route
    wrappers, which every request would otherwise pass through and every message they send
    back. Everything else (other methods on /graphql, WebSockets, other paths) goes through
    Starlette as routed."""

    def __init__(self, *, graphql: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._graphql = graphql
        # What the router would have put in the scope (the access log's metrics read it).
        self._graphql_route = next(
            route for route in self.routes if isinstance(route, Route) and route.path == "/graphql"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and scope["method"] in _GRAPHQL_METHODS
        ):
            scope["app"] = self
            scope["route"] = self._graphql_route
            await self._graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_GRAPHQL_METHODS = frozenset({"GET", "POST"})


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    run_worker: bool = True,
    tracer_provider: TracerProvider | None = None,
) -> Gateway:
    """The application; the database must already be migrated (`python -m app migrate`).

    Traces go to `tracer_provider` when given (tests), else to OTEL_EXPORTER_OTLP_ENDPOINT when
    set and the `otel` extra is installed (see `app.tracing`).

    Raises:
        VerifierError: the VERIFIER setting names nothing usable (checked at start, not later).
        SettingsError: a PERSISTED_DOCUMENTS_FILE (or a saved operation) cannot be read as
            trusted documents.
    """
    trusted_documents = TrustedDocuments.load(settings.persisted_documents_files)
    engine = engine or create_engine(settings.database_url)
    reader = Reader(engine)
    live_verifier = load_verifier(settings.verifier)
    metrics = Metrics.create(settings.metrics_directory)
    metrics.watch_pool(engine)
    metrics.watch_reader(reader)
    rate_limiter = RateLimiter.from_settings(settings, metrics=metrics)
    playground = Playground()
    graphql = GraphQLEndpoint(
        schema=build_schema(settings),
        settings=settings,
        engine=engine,
        reader=reader,
        live_verifier_available=live_verifier is not None,
        rate_limiter=rate_limiter,
        idempotency=Idempotency(
            engine=engine, lifetime=settings.retention.key_lifetime, metrics=metrics
        ),
        playground=playground,
        trusted_documents=trusted_documents,
        metrics=metrics,
    )
    # One poller per process for every subscriber (app.services.live).
    feed = LiveFeed(
        graphql.database,
        poll_seconds=settings.subscription_poll_seconds,
        queue_size=settings.subscription_queue_size,
    )
    redis_notices = (
        notices.RedisNotices(settings.redis_url, key_prefix=settings.redis_key_prefix)
        if settings.redis_url is not None
        else None
    )
    if redis_notices is not None:
        on_commit(engine, redis_notices.publish_soon)
    subscriptions = SubscriptionEndpoint(graphql=graphql, feed=feed, settings=settings)
    worker = Worker(
        database=graphql.database,
        live_verifier=live_verifier,
        poll_seconds=settings.worker_poll_seconds,
        retry_seconds=settings.job_retry_seconds,
        lease_seconds=settings.job_lease_seconds,
        webhook_timeout_seconds=settings.webhook_timeout_seconds,
        webhook_retry_seconds=settings.webhook_retry_seconds,
        webhook_test_retry_seconds=settings.webhook_test_retry_seconds,
        retention=settings.retention,
        claim_lease=CLAIM_LEASE,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
    )
    # Last, once nothing above can raise: tracing, once on, is stopped by the lifespan.
    traces = tracing.start(settings, tracer_provider)
    if traces is not None:
        traces.instrument(engine, reader)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop)) if run_worker else None
        feed_task = asyncio.create_task(feed.run(stop))
        metrics_task = asyncio.create_task(metrics.run(stop))
        releases_task = asyncio.create_task(graphql.idempotency.run(stop))
        # Other processes' changes wake the feed at once (app.services.notices): Postgres's
        # NOTIFY, and Redis pub/sub when REDIS_URL is set.
        notices_task = asyncio.create_task(
            notices.listen(settings.database_url, wake=feed.wake, stop=stop)
        )
        redis_task = (
            asyncio.create_task(redis_notices.listen(wake=feed.wake, stop=stop))
            if redis_notices is not None
            else None
        )
        try:
            yield
        finally:
            app.state.shutting_down = True
            stop.set()
            await feed_task
            await metrics_task
            await releases_task
            await notices_task
            if redis_notices is not None and redis_task is not None:
                await redis_task
                await redis_notices.close()
            if task is not None:
                await worker.shut_down(task)
            await rate_limiter.close()
            await graphql.documents.close()
            await reader.close()
            await engine.dispose()
            if traces is not None:
                traces.shutdown()

    middleware = [Middleware(RequestIdMiddleware, metrics=metrics)]
    if traces is not None:
        # Outermost, so that the request's span holds everything done for it.
        middleware.insert(0, Middleware(traces.middleware))
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["Request-Id", "Retry-After", "Idempotent-Replayed"],
                max_age=600,
            )
        )
    # The same middleware around the endpoint alone, innermost last (as Starlette stacks it).
    graphql_app: ASGIApp = graphql.asgi
    for cls, args, kwargs in reversed(middleware):
        graphql_app = cls(graphql_app, *args, **kwargs)
    app = Gateway(
        graphql=graphql_app,
        routes=[
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", subscriptions.handle),
            Route("/healthz", health_endpoint(engine), methods=["GET"]),
            Route(
                "/readyz",
                readiness_endpoint(
                    engine, head=head_revision(), shutting_down=lambda: app.state.shutting_down
                ),
                methods=["GET"],
            ),
            Route(
                "/metrics",
                metrics_endpoint(metrics, database=graphql.database, token=settings.metrics_token),
                methods=["GET"],
            ),
            *hosted_routes(database=graphql.database, settings=settings, rate_limiter=rate_limiter),
            *rest_routes(
                database=graphql.database,
                settings=settings,
                rate_limiter=rate_limiter,
                idempotency=graphql.idempotency,
            ),
            *playground.routes(),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    # For operators and tests: how often compiled plans answered (app.schema.compiler).
    app.state.compiler = graphql.schema.compiler
    # Set when the process starts to stop (by `serve` on SIGTERM/SIGINT, by the lifespan at the
    # latest): /readyz answers 503 from then on.
    app.state.shutting_down = False
    # And the process's view of the APQ store (its cache, its clock).
    app.state.persisted_queries = graphql.documents.persisted_queries
    # And the live feed its subscribers share (app.services.live).
    app.state.live_feed = feed
    # And the open WebSockets, which `serve` closes with 1001 when the process stops.
    app.state.subscriptions = subscriptions
    return app
