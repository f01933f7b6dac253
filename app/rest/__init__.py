"""The Stripe-compatible REST surface (`/v1/…`): Stripe's paths, form parameters, JSON objects and
error envelope, over the same use cases as GraphQL (`app.services`). Handlers parse, call a
service and map; no rule lives here.

    POST /v1/identity/verification_sessions                 create
    GET  /v1/identity/verification_sessions                 list
    GET  /v1/identity/verification_sessions/{id}            retrieve
    POST /v1/identity/verification_sessions/{id}            update
    POST /v1/identity/verification_sessions/{id}/cancel     cancel
    POST /v1/identity/verification_sessions/{id}/redact     redact
    GET  /v1/identity/verification_reports[/{id}]           list, retrieve
    GET  /v1/events[/{id}]                                  list, retrieve
    POST|GET /v1/webhook_endpoints                          create, list
    GET|POST|DELETE /v1/webhook_endpoints/{id}              retrieve, update, delete
    POST /v1/test_helpers/identity/verification_sessions/{id}/verify|require_input|process
"""

from __future__ import annotations

from starlette.routing import Route

from app.rest import events, reports, sessions, webhooks
from app.rest.http import Rest
from app.services import Database
from app.settings import Settings
from app.web.idempotency import Idempotency
from app.web.ratelimit import RateLimiter


def rest_routes(
    *,
    database: Database,
    settings: Settings,
    rate_limiter: RateLimiter,
    idempotency: Idempotency,
) -> list[Route]:
    rest = Rest(
        database=database, settings=settings, rate_limiter=rate_limiter, idempotency=idempotency
    )
    return [
        *sessions.routes(rest),
        *reports.routes(rest),
        *events.routes(rest),
        *webhooks.routes(rest),
    ]
