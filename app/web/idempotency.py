"""`Idempotency-Key` on mutations, as Stripe does it.

    no key, a query, GET, no credentials  the header is ignored and the request runs as usual
    empty, over 255 characters, or not printable ASCII
                                          400 IDEMPOTENCY_KEY_INVALID; nothing runs
    a new key                             claimed, run, and its response stored for 24 h
                                          (IDEMPOTENCY_RETENTION_HOURS)
    the same key and request, finished    the stored response, byte for byte (status, content
                                          type, body), with `Idempotent-Replayed: true`
    the same key and request, running     409 IDEMPOTENCY_REQUEST_IN_PROGRESS; nothing runs
    the same key and request, which wrote and lost its response, past the claim's lease
                                          409 IDEMPOTENCY_RESPONSE_LOST; nothing runs
    the same key, another request         400 IDEMPOTENCY_KEY_REUSED; nothing runs

Keys are scoped to the caller's account and mode: another account, or the other mode of the same
account, may use the same string for its own request. A request is identified by a SHA-256 of its
document, variables and operation name plus the kind of caller (secret key, restricted key, or one
session's client secret), so a stored response is never handed to a caller who could not have
asked for it: such a caller gets IDEMPOTENCY_KEY_REUSED.

What is stored: every response the request produced once it held the key. An unexpected failure
inside a resolver is answered as a masked INTERNAL_SERVER_ERROR, stored and replayed like any other
answer (Stripe replays its 500s): the mutation's own transaction rolled back, but the gateway does
not guess whether running it again is wise. An exception that escapes before any response exists
releases the claim, so a retry runs the request afresh. A claim whose process died mid-request is
abandoned after `CLAIM_LEASE`; the next retry then takes the key over. Both only when the request
wrote nothing: every write transaction of a keyed request marks its claim (`store.mark_wrote`,
through `app.db.before_commit`) in the transaction itself, so the mark commits exactly when the
request's work does, even a COMMIT whose reply never came back. A marked claim is kept until it
expires, and its request is never run twice. Expired records are purged by the background worker
(`app.services.retention`), never a claim still within its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from graphql import OperationDefinitionNode, OperationType
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.db import before_commit, database_fault, read_session, write_session
from app.domain.access import Principal, Scope
from app.domain.retention import DEFAULT_KEY_LIFETIME
from app.metrics import Metrics
from app.models import IdempotencyKey, utcnow
from app.store import idempotency as store
from app.web.errors import error_response

logger = logging.getLogger("app.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
LIFETIME = DEFAULT_KEY_LIFETIME
# Far longer than any mutation runs (a write waits at most 30 s for a database lock), so a claim
# this old belongs to a process that died.
CLAIM_LEASE = timedelta(minutes=5)
# How often a process retries the releases it could not make while the database was down.
RELEASE_RETRY_SECONDS = 1.0
_CLAIM_ATTEMPTS = 3


class Idempotency:
    """Claims, replays and stores keyed mutation requests over one database."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        lifetime: timedelta = LIFETIME,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.lifetime = lifetime
        self.metrics = metrics
        self.clock = clock
        # Claims this process failed to release (the database was down): released before the
        # key's next use, so a retry after an outage runs instead of waiting out the lease.
        self._unreleased: dict[tuple[str, bool, str], datetime] = {}

    async def respond(
        self,
        request: Request,
        *,
        principal: Principal | None,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        operation: OperationDefinitionNode | None,
        media_type: str,
        run: Callable[[], Awaitable[Response]],
    ) -> Response:
        """The response to a GraphQL request: `run()`'s, or a stored one, or a refusal. Only a
        mutation is keyed: `operation` is the one the request runs (None for a document that
        does not parse or has no such operation, which execution reports)."""
        key = request.headers.get(HEADER)
        if (
            key is None
            or principal is None
            or request.method != "POST"
            or operation is None
            or operation.operation != OperationType.MUTATION
        ):
            return await run()

        def refuse(refusal: Refusal, message: str) -> Response:
            return error_response(
                status=refusal.status,
                code=_GRAPHQL_CODES[refusal],
                message=message,
                media_type=media_type,
            )

        return await self.respond_keyed(
            principal=principal,
            key=key,
            request_hash=fingerprint(principal, query, variables, operation_name),
            run=run,
            refuse=refuse,
            media_type=media_type,
        )

    async def respond_keyed(
        self,
        *,
        principal: Principal,
        key: str,
        request_hash: str,
        run: Callable[[], Awaitable[Response]],
        refuse: Callable[[Refusal, str], Response],
        media_type: str,
    ) -> Response:
        """A keyed request of any surface (GraphQL or REST: one store, keys shared): `run()`'s
        response, stored; the stored one; or `refuse(why, message)` in the surface's shape."""
        if (problem := key_problem(key)) is not None:
            return refuse(Refusal.INVALID, problem)
        stale = self._unreleased.get(_slot(principal.scope, key))
        if stale is not None:
            await self._release(principal.scope, key, stale)
        claimed_at = self.clock()
        holder = await self._claim(principal, key, request_hash, claimed_at)
        if holder is not None:
            answer = _answer_for(
                holder, request_hash, media_type, refuse, self.lifetime, now=claimed_at
            )
            if self.metrics is not None and REPLAYED_HEADER in answer.headers:
                self.metrics.replayed()
            return answer

        async def mark_wrote(db: AsyncSession) -> None:
            await store.mark_wrote(db, scope=principal.scope, key=key, claimed_at=claimed_at)

        # Every write transaction of the request marks the claim as it commits (and so only if it
        # commits): whether the request wrote is then known even when its COMMIT was cut off.
        try:
            marking = before_commit.set(mark_wrote)
            try:
                response = await run()
            finally:
                before_commit.reset(marking)
        except Exception:
            await self._release(principal.scope, key, claimed_at)
            raise
        if response.status_code in (503, 507):
            # The database failed the request: a retry runs it again, unless it wrote (the
            # release then keeps the claim).
            await self._release(principal.scope, key, claimed_at)
            return response
        await self._store(principal, key, claimed_at, response)
        return response

    async def _claim(
        self, principal: Principal, key: str, request_hash: str, claimed_at: datetime
    ) -> IdempotencyKey | None:
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                async with write_session(self.engine) as db:
                    return await store.claim(
                        db,
                        scope=principal.scope,
                        key=key,
                        fingerprint=request_hash,
                        now=claimed_at,
                        expires_at=claimed_at + self.lifetime,
                        abandoned_before=claimed_at - CLAIM_LEASE,
                    )
            except store.ClaimRaced:
                continue
        # Released and reclaimed by others three times over: whoever holds it now is running.
        async with read_session(self.engine) as db:
            holder = await store.get_record(db, scope=principal.scope, key=key)
        return holder or IdempotencyKey(
            account_id=principal.scope.account_id,
            livemode=principal.scope.livemode,
            key=key,
            fingerprint=request_hash,
            created=claimed_at,
            expires_at=claimed_at + self.lifetime,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Every RELEASE_RETRY_SECONDS until `stop`, and once more then: release the claims
        this process could not release while the database was down, so that once it is back a
        retry runs whichever process it reaches, without waiting out the claim's lease."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RELEASE_RETRY_SECONDS)
            for slot, claimed_at in list(self._unreleased.items()):
                account_id, livemode, key = slot
                scope = Scope(account_id=account_id, livemode=livemode)
                await self._release(scope, key, claimed_at)
                if slot in self._unreleased:
                    break  # the database is still down: the rest wait for the next round

    async def _release(self, scope: Scope, key: str, claimed_at: datetime) -> None:
        slot = _slot(scope, key)
        try:
            async with write_session(self.engine) as db:
                await store.release(db, scope=scope, key=key, claimed_at=claimed_at)
        except Exception as error:
            # The request's own failure is the one to report; the release is retried by `run`
            # and at the key's next use here, and otherwise the claim runs out with its lease.
            if database_fault(error) is None:
                logger.warning("could not release an idempotency key", exc_info=True)
            if len(self._unreleased) < _UNRELEASED_KEPT:
                self._unreleased[slot] = claimed_at
        else:
            self._unreleased.pop(slot, None)

    async def _store(
        self, principal: Principal, key: str, claimed_at: datetime, response: Response
    ) -> None:
        try:
            async with write_session(self.engine) as db:
                stored = await store.finish(
                    db,
                    scope=principal.scope,
                    key=key,
                    claimed_at=claimed_at,
                    status_code=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                    body=bytes(response.body),
                )
        except Exception as error:
            # The mutation ran: its answer still goes to the client. Retries get 409 until the
            # claim's lease runs out.
            if (code := database_fault(error)) is not None:
                logger.warning("could not store the response of an idempotent request: %s", code)
            else:
                logger.exception("could not store the response of an idempotent request")
            return
        if not stored:
            logger.warning("an idempotent request outlived its claim; its response was not stored")


class Refusal(Enum):
    """Why a keyed request is not run, and its HTTP status on every surface; each surface
    names it in its own error vocabulary (`_GRAPHQL_CODES`, REST's `_REFUSAL_TYPES`)."""

    INVALID = ("invalid", 400)  # the key itself breaks the rules
    REUSED = ("reused", 400)  # the key was used for another request
    IN_PROGRESS = ("in_progress", 409)  # the first request with the key is still running
    RESPONSE_LOST = ("response_lost", 409)  # the first request wrote, then its response was lost

    @property
    def status(self) -> int:
        return self.value[1]


_GRAPHQL_CODES = {
    Refusal.INVALID: "IDEMPOTENCY_KEY_INVALID",
    Refusal.REUSED: "IDEMPOTENCY_KEY_REUSED",
    Refusal.IN_PROGRESS: "IDEMPOTENCY_REQUEST_IN_PROGRESS",
    Refusal.RESPONSE_LOST: "IDEMPOTENCY_RESPONSE_LOST",
}


def _answer_for(
    holder: IdempotencyKey,
    request_hash: str,
    media_type: str,
    refuse: Callable[[Refusal, str], Response],
    lifetime: timedelta,
    *,
    now: datetime,
) -> Response:
    if holder.fingerprint != request_hash:
        return refuse(
            Refusal.REUSED,
            "This Idempotency-Key was already used for a different request within the last "
            f"{_hours(lifetime)}; send a new key for a new request.",
        )
    if holder.status_code is None or holder.body is None:
        if holder.wrote and holder.created <= now - CLAIM_LEASE:
            return refuse(
                Refusal.RESPONSE_LOST,
                "The request first sent with this Idempotency-Key changed data, but its response "
                "was lost (the database connection or the process failed as it finished); it is "
                "not run again. Read the objects it would have changed to see their state.",
            )
        return refuse(
            Refusal.IN_PROGRESS,
            "A request with this Idempotency-Key is still running; retry once it has "
            "finished to get its response.",
        )
    return Response(
        content=holder.body,
        status_code=holder.status_code,
        headers={"content-type": holder.content_type or media_type, REPLAYED_HEADER: "true"},
    )


def key_problem(key: str) -> str | None:
    """Why `key` cannot be an idempotency key, or None when it can."""
    if len(key) > MAX_KEY_LENGTH:
        return (
            f"The Idempotency-Key header may be at most {MAX_KEY_LENGTH} characters long; "
            f"this one has {len(key)}."
        )
    if not key or not all(" " <= char <= "~" for char in key):
        return "The Idempotency-Key header must be 1 to 255 printable ASCII characters."
    return None


def fingerprint(
    principal: Principal, query: str, variables: dict[str, Any] | None, operation_name: str | None
) -> str:
    """SHA-256 of what makes two requests the same request."""
    if principal.session_id is not None:
        caller = f"client_secret:{principal.session_id}"
    else:
        caller = "restricted_key" if principal.restricted else "secret_key"
    canonical = json.dumps(
        {
            "caller": caller,
            "query": query,
            "variables": variables or {},
            "operationName": operation_name,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


_UNRELEASED_KEPT = 10_000  # beyond that, a claim waits out its lease


def _hours(lifetime: timedelta) -> str:
    hours = round(lifetime.total_seconds() / 3600)
    return "hour" if hours == 1 else f"{hours} hours"


def _slot(scope: Scope, key: str) -> tuple[str, bool, str]:
    return (scope.account_id, scope.livemode, key)
