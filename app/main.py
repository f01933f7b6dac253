"""`create_app(settings)`: the Starlette application, its routes and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from app.db import create_engine
from app.schema import build_schema
from app.settings import Settings
from app.web.graphql import GraphQLEndpoint
from app.web.health import health_endpoint
from app.web.hosted import hosted_page_endpoint
from app.web.requests import RequestIdMiddleware


def create_app(settings: Settings, *, engine: AsyncEngine | None = None) -> Starlette:
    """The application; the database must already be migrated (`python -m app migrate`)."""
    engine = engine or create_engine(settings.database_url)
    graphql = GraphQLEndpoint(schema=build_schema(), settings=settings, engine=engine)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    return Starlette(
        routes=[
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            Route("/healthz", health_endpoint(engine), methods=["GET"]),
            Route("/verify/{token}", hosted_page_endpoint(engine), methods=["GET"]),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
