"""`GET /healthz` (liveness): 200 when the database answers, 503 when it does not.

`GET /readyz` (readiness, for a load balancer): 200 only when the process should get traffic;
503 with a `reason` while it is shutting down, while the database is behind the code's newest
migration (a deploy that has not run `python -m app migrate` yet), or while the database does
not answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

logger = logging.getLogger("app.health")


def health_endpoint(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    async def healthz(request: Request) -> JSONResponse:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as error:
            logger.warning("health check failed: %s", type(error).__name__)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return healthz


def readiness_endpoint(  # type: ignore[no-untyped-def]
    engine: AsyncEngine, *, head: str, shutting_down: Callable[[], bool]
):
    def unavailable(reason: str) -> JSONResponse:
        return JSONResponse(
            {"status": "unavailable", "reason": reason},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    async def readyz(request: Request) -> JSONResponse:
        if shutting_down():
            return unavailable("shutting_down")
        try:
            async with engine.connect() as connection:
                found = await connection.execute(text("SELECT version_num FROM alembic_version"))
                revisions = {row[0] for row in found}
        except (SQLAlchemyError, OSError) as error:
            logger.warning("readiness check failed: %s", type(error).__name__)
            return unavailable("database_unreachable")
        if revisions != {head}:
            return unavailable("migrations_pending")
        return JSONResponse({"status": "ready"})

    return readyz
