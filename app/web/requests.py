"""ASGI middleware: a `Request-Id` for every response, and one access-log line per request."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.ids import random_base62
from app.logs import request_id

logger = logging.getLogger("app.access")

# Hosted-page paths carry a bearer token: it must never reach a log.
_TOKEN_PATH = re.compile(r"^/verify/[^/]+")


def loggable_path(path: str) -> str:
    return _TOKEN_PATH.sub("/verify/[token]", path)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req_{random_base62(16)}"
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                loggable_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id.reset(token)
