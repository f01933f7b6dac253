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
