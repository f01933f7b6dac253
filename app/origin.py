"""Which API request a change comes from, for Stripe's `event.request {id, idempotency_key}`.

The GraphQL endpoint and the REST surface set it for the request they serve; recording an event
reads it. Changes the gateway makes on its own (a processing job finishing, a redaction
completing, in the background worker's task) come from no request, and so do those of the
hosted page, which is the end user's page rather than an API request.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiRequest:
    id: str
    idempotency_key: str | None


api_request: ContextVar[ApiRequest | None] = ContextVar("api_request", default=None)
