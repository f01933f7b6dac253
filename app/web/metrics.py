"""`GET /metrics`: the Prometheus exposition text (see `app.metrics` for what is in it and how the
processes' values are added up).

With METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>`; anything else gets a
bare 401 (no body saying why). Without it the endpoint is open: keep it off the public network.
The database figures are read by the scraping process; when the database cannot answer they are
left out and the rest is still served.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from app.metrics import CONTENT_TYPE, Metrics
from app.services import Database, database_fault
from app.services.backlog import Backlog, backlog

logger = logging.getLogger("app.metrics")


def metrics_endpoint(
    metrics: Metrics, *, database: Database, token: str | None
) -> Callable[[Request], Awaitable[Response]]:
    expected = None if token is None else token.encode()

    async def endpoint(request: Request) -> Response:
        if expected is not None and not _authorized(request, expected):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(metrics.render(await _backlog(database)), media_type=CONTENT_TYPE)

    return endpoint


def _authorized(request: Request, expected: bytes) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Compared in constant time, so the answer's timing tells nothing of the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


async def _backlog(database: Database) -> Backlog | None:
    try:
        return await backlog(database)
    except Exception as error:
        if database_fault(error) is None:
            raise
        logger.warning("metrics: the database figures are left out: %s", database_fault(error))
        return None
