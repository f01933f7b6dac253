"""What every REST handler shares: the caller's key, the parameters, Stripe's headers, and
errors as Stripe's envelope."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.domain.access import Principal, Scope
from app.domain.errors import DomainError
from app.logs import request_id
from app.origin import ApiRequest, api_request
from app.rest import params
from app.rest.errors import StripeError
from app.services import Database, accounts, database_fault
from app.settings import Settings
from app.web.errors import DATABASE_MESSAGES, database_status
from app.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.web.idempotency import Idempotency, Refusal
from app.web.ratelimit import RateLimiter
from app.web.requests import BodyTooLarge, read_body

logger = logging.getLogger("app.rest")

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
)
_BAD_KEY = "Invalid API Key provided."


@dataclass(frozen=True)
class Call:
    """One authenticated request: who calls, with which parameters."""

    principal: Principal
    params: dict[str, Any]

    @property
    def reader(self) -> Scope:
        return self.principal.scope

    @property
    def writer(self) -> Scope:
        if self.principal.restricted:
            raise StripeError(
                403,
                "invalid_request_error",
                "The provided key is a restricted key, which may only read; use a secret key "
                "(sk_…) to make changes.",
            )
        return self.principal.scope

    @property
    def may_see_secrets(self) -> bool:
        return not self.principal.restricted


Handler = Callable[[Request, Call], Awaitable[Any]]


_REFUSAL_TYPES = {
    Refusal.INVALID: "invalid_request_error",
    Refusal.REUSED: "idempotency_error",
    Refusal.IN_PROGRESS: "idempotency_error",
    Refusal.RESPONSE_LOST: "idempotency_error",
}


@dataclass(frozen=True)
class Rest:
    """The REST surface's shared state; `route(handler)` makes a Starlette endpoint of a
    handler that returns a JSON-ready object or raises StripeError or DomainError. Every request
    counts against its key's rate limit (the budget GraphQL requests count against too), and a
    POST with an `Idempotency-Key` is claimed, stored and replayed in the store GraphQL
    mutations use (`app.web.idempotency`). A request without a valid key counts against its
    address's anonymous limit instead, and over it gets a 429 rather than the 401."""

    database: Database
    settings: Settings
    rate_limiter: RateLimiter
    idempotency: Idempotency

    def route(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            headers = {}
            version = request.headers.get("stripe-version")
            if version is not None and len(version) <= 64:
                headers["Stripe-Version"] = version
            try:
                call = Call(
                    principal=await self._principal(request), params=await self._params(request)
                )
                if (
                    limited := await self.rate_limiter.over_limit(call.principal, surface="rest")
                ) is not None:
                    raise StripeError(429, "invalid_request_error", limited, code="rate_limit")
            except StripeError as error:
                if error.status == 401:
                    # No key, or a refused one: the caller counts by its address instead.
                    error = await self._anonymous(request) or error
                if error.status == 429:
                    headers["Retry-After"] = "1"
                return error.response(headers)

            async def run() -> Response:
                try:
                    body = await handler(request, call)
                except StripeError as error:
                    return error.response()
                except DomainError as error:
                    return StripeError.from_domain(error).response()
                except Exception as error:
                    if (code := database_fault(error)) is not None:
                        return _database_error(code)
                    # Details in the log only, under the response's Request-Id.
                    logger.exception("unexpected error in %s %s", request.method, request.url.path)
                    return StripeError(
                        500, "api_error", "An unexpected error occurred; retry later."
                    ).response()
                return Response(orjson.dumps(body), media_type="application/json")

            key = request.headers.get(IDEMPOTENCY_HEADER)
            api_request.set(ApiRequest(id=request_id.get(), idempotency_key=key))
            if request.method == "POST" and key is not None:
                response = await self.idempotency.respond_keyed(
                    principal=call.principal,
                    key=key,
                    request_hash=fingerprint(call, request),
                    run=run,
                    refuse=lambda refusal, message: StripeError(
                        refusal.status, _REFUSAL_TYPES[refusal], message
                    ).response(),
                    media_type="application/json",
                )
            else:
                response = await run()
            response.headers.update(headers)
            return response

        async def guarded(request: Request) -> Response:
            # A database fault before the handler runs (the key's lookup, the idempotency claim).
            try:
                return await endpoint(request)
            except Exception as error:
                if (code := database_fault(error)) is None:
                    raise
                return _database_error(code)

        return guarded

    async def _anonymous(self, request: Request) -> StripeError | None:
        """Stripe's 429 for a request without a valid key over its address's limit."""
        limited = await self.rate_limiter.over_anonymous_limit(request.scope, surface="rest")
        if limited is None:
            return None
        return StripeError(429, "invalid_request_error", limited, code="rate_limit")

    async def _principal(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if not header:
            raise StripeError(401, "invalid_request_error", _NO_KEY)
        scheme, _, credentials = header.partition(" ")
        key = credentials.strip()
        if scheme.lower() == "basic":
            # Stripe takes the key as the user name of HTTP Basic, with an empty password.
            try:
                key = base64.b64decode(key, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                raise StripeError(401, "invalid_request_error", _BAD_KEY) from None
        elif scheme.lower() != "bearer":
            raise StripeError(401, "invalid_request_error", _NO_KEY)
        # The REST API takes API keys only: a client secret is for a browser's GraphQL calls.
        principal = (
            None if "_secret_" in key else await accounts.authenticate(self.database, key=key)
        )
        if principal is None:
            raise StripeError(401, "invalid_request_error", _BAD_KEY)
        return principal

    async def _params(self, request: Request) -> dict[str, Any]:
        pairs = _pairs(request.url.query, "The query string")
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            limit = self.settings.max_body_bytes
            try:
                body = await read_body(request, limit)
            except BodyTooLarge:
                raise StripeError(
                    413,
                    "invalid_request_error",
                    f"The request body is larger than {limit} bytes (MAX_BODY_BYTES).",
                ) from None
            if body and content_type != "application/x-www-form-urlencoded":
                raise StripeError(
                    415,
                    "invalid_request_error",
                    "Send parameters as application/x-www-form-urlencoded, as Stripe's API takes them.",
                )
            try:
                text = body.decode()
            except UnicodeDecodeError:
                raise StripeError(400, "invalid_request_error", "The body is not UTF-8.") from None
            pairs += _pairs(text, "The body")
        return params.parse(pairs)


def _pairs(text: str, where: str) -> list[tuple[str, str]]:
    """Form-encoded pairs, their percent-escapes read as strict UTF-8: parse_qsl's default
    would store U+FFFD in place of bytes that are not text, and a client would never learn."""
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise StripeError(
            400,
            "invalid_request_error",
            f"{where} has percent-encoded bytes that are not UTF-8.",
        ) from None


def fingerprint(call: Call, request: Request) -> str:
    """SHA-256 of what makes two REST requests the same request: the kind of key, the method,
    the path and the parameters."""
    canonical = json.dumps(
        {
            "caller": "restricted_key" if call.principal.restricted else "secret_key",
            "method": request.method,
            "path": request.url.path,
            "params": call.params,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _database_error(code: str) -> Response:
    """Stripe's `api_error` for a database that cannot serve the request; nothing was written."""
    logger.warning("REST request refused: %s", code)
    status, headers = database_status(code)
    return StripeError(status, "api_error", DATABASE_MESSAGES[code], code=code.lower()).response(
        headers
    )
