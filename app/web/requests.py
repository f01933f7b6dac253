"""ASGI middleware: a `Request-Id` for every response (an unhandled error's 500 included), and one
access-log line per request."""

from __future__ import annotations

import logging
import re
import time

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.ids import random_base62
from app.logs import request_id
from app.metrics import Metrics

logger = logging.getLogger("app.access")

# Hosted-page paths carry a bearer token: it must never reach a log.
_TOKEN_PATH = re.compile(r"^/verify/[^/]+")


class BodyTooLarge(Exception):
    """The request body is larger than the limit (MAX_BODY_BYTES)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes: past it (by Content-Length, or as a
    chunked body streams in) BodyTooLarge is raised and the rest is never read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    # The receive loop of Starlette's `Request.stream`, without an async generator per request;
    # a body sent in one message (most are) is not copied.
    receive = request.receive
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        if not more and not chunks:
            if len(chunk) > limit:
                raise BodyTooLarge
            return chunk
        chunks += chunk
        if len(chunks) > limit:
            raise BodyTooLarge
        if not more:
            return bytes(chunks)


def loggable_path(path: str) -> str:
    return _TOKEN_PATH.sub("/verify/[token]", path)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.observe = metrics.observe_request if metrics is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req_{random_base62(16)}"
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here, while the request id is still current, and answered here so that the
            # 500 carries the Request-Id the client can quote (Starlette's own 500 would not).
            logger.exception(
                "unhandled error in %s %s", scope["method"], loggable_path(scope["path"])
            )
            if response_started:
                raise
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send_with_id({"type": "http.response.body", "body": b"Internal Server Error"})
        finally:
            method, path = scope["method"], loggable_path(scope["path"])
            seconds = time.perf_counter() - started
            if self.observe is not None:
                # The matched route's template (Starlette's Router puts it in the scope).
                self.observe(scope.get("route"), method, status, seconds)
            duration_ms = round(seconds * 1000, 1)
            logger.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
            request_id.reset(token)
