"""Top-level errors answered before a GraphQL request executes (rate limits, idempotency)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


def error_response(
    *,
    status: int,
    code: str,
    message: str,
    media_type: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A GraphQL response with one top-level error and no `data`: nothing was executed."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, media_type=media_type, headers=headers)


DATABASE_MESSAGES = {
    "DATABASE_UNAVAILABLE": "The database is unavailable; retry after the Retry-After delay.",
    "DATABASE_READ_ONLY": "The database is read-only; nothing was written.",
    "DATABASE_FULL": "The database's disk is full; nothing was written.",
}


def database_status(code: str) -> tuple[int, dict[str, str]]:
    """The HTTP status and headers of a database fault (see `app.db.database_fault`): 503 with
    Retry-After while the database is unreachable, which Stripe's SDKs retry; 503 read-only and
    507 full need the operator, so clients are told not to retry."""
    from app.db import RETRY_AFTER_SECONDS, UNAVAILABLE

    if code == UNAVAILABLE:
        return 503, {"Retry-After": str(RETRY_AFTER_SECONDS), "Stripe-Should-Retry": "true"}
    return (507 if code == "DATABASE_FULL" else 503), {"Stripe-Should-Retry": "false"}


class DatabaseFault(Exception):
    """Raised out of a request's work when the database cannot serve it: nothing was written."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
