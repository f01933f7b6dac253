"""`/graphql` over WebSocket: the `graphql-transport-ws` protocol (enisdenjo/graphql-ws's
PROTOCOL.md), for subscriptions and for queries and mutations too.

    connect      the Origin must be the gateway's own or one of CORS_ORIGINS (else HTTP 403);
                 the client must offer the `graphql-transport-ws` subprotocol (else 4406)
    init         `connection_init` within WEBSOCKET_INIT_TIMEOUT_SECONDS (else 4408), its payload
                 an object whose `Authorization` (or `authorization`) is `Bearer <key or client
                 secret>`: missing, malformed, forged, spent or expired closes with 4403 before
                 any operation, and counts against the address's RATE_LIMIT_ANONYMOUS_PER_SECOND
                 (over it, 4429 instead: no unlimited guessing of keys; a handshake itself is not
                 counted, as it cannot carry the key and a keyed client's sockets must not be
                 limited by its address); a second init 4429; a subscribe before the ack 4401
    operations   `subscribe` runs a query or mutation as a POST to /graphql would (same document
                 resolution, limits, rate limit, compiled plans and errors) and answers `next` then
                 `complete`, or `error` when nothing executed; a subscription streams `next`s.
                 A duplicate id while running closes with 4409; past SUBSCRIPTIONS_PER_CONNECTION
                 the operation gets an `error` TOO_MANY_SUBSCRIPTIONS; `complete` stops one
    keep-alive   a `ping` every WEBSOCKET_PING_SECONDS; a client that has not answered the last
                 one (or stops reading, its subscriber queue full) is closed with 1013 (try again
                 later: it resumes with its last cursor)
    per key      at most WEBSOCKET_CONNECTIONS_PER_KEY connections per credential in one process;
                 one more is closed with 4429
    anything else a message that is not valid JSON of a known type closes with 4400
    shutdown     a stopping process closes every open socket with 1001 (going away) before it
                 stops serving; the client reconnects to another process and resumes

Credentials and documents never reach the log; an unexpected error is logged with its traceback
and the client sees INTERNAL_SERVER_ERROR, as over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.types.execution import PreExecutionError

from app.domain.access import Principal
from app.domain.ids import random_base62
from app.logs import request_id
from app.metrics import operation_type_of
from app.origin import ApiRequest, api_request
from app.schema.context import Context
from app.services import accounts
from app.services.live import Listener, LiveFeed
from app.settings import Settings
from app.web.documents import DocumentError
from app.web.graphql import MAX_JSON_DEPTH, GraphQLEndpoint, RequestError, nests_deeper_than

logger = logging.getLogger("app.subscriptions")

PROTOCOL = "graphql-transport-ws"
# What a query or mutation over the socket runs as: a POST to /graphql.
_POST = Request({"type": "http", "method": "POST", "headers": [], "path": "/graphql"})
_CLOSE_TIMEOUT_SECONDS = 5.0


# RFC 6455 5.5: a control frame's payload is at most 125 bytes, two of them the close code.
_MAX_REASON_BYTES = 123


class _Gone(Exception):
    """The socket closed under a send: the client went away, or uvicorn closed it itself (a
    text frame that is not UTF-8 gets its 1007). Nobody is left to tell."""


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = _fit_reason(reason)


def _fit_reason(reason: str) -> str:
    """`reason` cut to fit a close frame, on a character boundary: a longer one (a client's
    id or message type quoted in it, in four-byte characters) fails to send, and the client
    sees the socket drop without a close code."""
    encoded = reason.encode()
    if len(encoded) <= _MAX_REASON_BYTES:
        return reason
    return encoded[: _MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


class SubscriptionEndpoint:
    """The WebSocket route of /graphql; one `_Connection` per socket."""

    def __init__(self, *, graphql: GraphQLEndpoint, feed: LiveFeed, settings: Settings) -> None:
        self.graphql = graphql
        self.feed = feed
        self.settings = settings
        # Open connections per credential (an API key's digest or a client secret's session).
        self.connections: Counter[str] = Counter()
        # Every open socket, for `close_all`.
        self.open: set[_Connection] = set()

    async def close_all(self) -> None:
        """Close every open socket with 1001 (going away) and wait for the close frames (at
        most a few seconds): what `serve` does on SIGTERM before uvicorn closes the rest with
        1012 (service restart), which graphql-ws clients take for a fault."""
        connections = list(self.open)
        for connection in connections:
            connection.finish(_Close(1001, "Server shutting down"))
        done = [connection.done.wait() for connection in connections]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*done), _CLOSE_TIMEOUT_SECONDS)

    async def handle(self, websocket: WebSocket) -> None:
        if not self._origin_allowed(websocket):
            await websocket.close(code=1008)  # before accepting: the handshake gets HTTP 403
            return
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        connection = _Connection(self, websocket)
        self.open.add(connection)
        try:
            await connection.run()
        finally:
            self.open.discard(connection)
            connection.done.set()

    def _origin_allowed(self, websocket: WebSocket) -> bool:
        """No Origin (not a browser), the gateway's own origin, or one of CORS_ORIGINS."""
        origin = websocket.headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/")
        allowed = self.settings.cors_origins
        if "*" in allowed or origin in allowed or origin == self.settings.public_base_url:
            return True
        scheme = "https" if websocket.url.scheme == "wss" else "http"
        return origin == f"{scheme}://{websocket.headers.get('host', '')}"


class _Connection:
    def __init__(self, endpoint: SubscriptionEndpoint, websocket: WebSocket) -> None:
        self.endpoint = endpoint
        self.settings = endpoint.settings
        self.websocket = websocket
        self.principal: Principal | None = None
        self.counted: str | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()
        self.awaiting_pong = False
        # Set once, with the close code and reason (None: the client went away).
        self.finished: asyncio.Future[_Close | None] = asyncio.get_running_loop().create_future()
        # Set when `run` has returned (the close frame sent).
        self.done = asyncio.Event()

    def finish(self, close: _Close | None) -> None:
        if not self.finished.done():
            self.finished.set_result(close)

    def too_slow(self) -> None:
        self.finish(_Close(1013, "Client not reading: resume with the last cursor"))

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._keep_alive())]
        try:
            close = await self.finished
        finally:
            for task in [*tasks, *self.operations.values()]:
                task.cancel()
            await asyncio.gather(*tasks, *self.operations.values(), return_exceptions=True)
            if self.counted is not None:
                self.endpoint.connections[self.counted] -= 1
                if self.endpoint.connections[self.counted] <= 0:
                    del self.endpoint.connections[self.counted]
        if close is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.websocket.close(code=close.code, reason=close.reason),
                    _CLOSE_TIMEOUT_SECONDS,
                )

    async def _send(self, message: bytes) -> None:
        async with self.send_lock:
            try:
                await self.websocket.send_text(message.decode())
            except (WebSocketDisconnect, RuntimeError):
                # Starlette's disconnect (the client's close, a reset), or the ASGI server's
                # RuntimeError for a send after it closed the socket itself.
                self.finish(None)
                raise _Gone from None

    async def _keep_alive(self) -> None:
        interval = self.settings.websocket_ping_seconds
        while True:
            await asyncio.sleep(interval)
            if self.awaiting_pong:
                self.finish(_Close(1013, "No pong to the keep-alive ping"))
                return
            self.awaiting_pong = True
            try:
                await asyncio.wait_for(self._send(b'{"type":"ping"}'), interval)
            except TimeoutError:
                self.too_slow()
                return

    async def _receive(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _Close(4400, "Invalid message received") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            raise _Close(4400, "Invalid message received")
        # The limit of HTTP bodies (orjson alone stops at 1,024 levels); JSON cannot nest deeper
        # than it has brackets, so most messages need no walk.
        if isinstance(raw, bytes):
            brackets = raw.count(b"[") + raw.count(b"{")
        else:
            brackets = raw.count("[") + raw.count("{")
        if brackets > MAX_JSON_DEPTH and nests_deeper_than(parsed, MAX_JSON_DEPTH):
            raise _Close(4400, f"The message nests JSON more than {MAX_JSON_DEPTH} levels deep")
        return parsed

    async def _read(self) -> None:
        try:
            try:
                first = await asyncio.wait_for(
                    self._receive(), self.settings.websocket_init_timeout_seconds
                )
            except TimeoutError:
                raise _Close(4408, "Connection initialisation timeout") from None
            while first["type"] == "ping":
                await self._send(b'{"type":"pong"}')
                first = await self._receive()
            if first["type"] == "subscribe":
                raise _Close(4401, "Unauthorized")
            if first["type"] != "connection_init":
                raise _Close(4400, "Invalid message received")
            await self._init(first.get("payload"))
            while True:
                await self._handle(await self._receive())
        except _Close as close:
            self.finish(close)
        except (WebSocketDisconnect, _Gone):
            self.finish(None)

    async def _init(self, payload: object) -> None:
        if payload is not None and not isinstance(payload, dict):
            raise _Close(4400, "The connection_init payload must be an object")
        payload = payload or {}
        header = payload.get("Authorization", payload.get("authorization"))
        scheme, _, key = header.partition(" ") if isinstance(header, str) else ("", "", "")
        principal = None
        if scheme.lower() == "bearer" and key.strip():
            principal = await accounts.authenticate(self.endpoint.graphql.database, key=key.strip())
        if principal is None:
            # Without a valid credential: counted against the address, like any such request.
            limiter = self.endpoint.graphql.rate_limiter
            if await limiter.over_anonymous_limit(self.websocket.scope, surface="websocket"):
                raise _Close(4429, "Too many requests without a valid key from this address")
            if scheme.lower() != "bearer" or not key.strip():
                raise _Close(4403, "Forbidden: send Authorization: Bearer <key> in connection_init")
            # The key itself is never echoed or logged.
            raise _Close(4403, "Forbidden: invalid API key or client secret")
        counted = (
            f"key:{principal.key_hash}"
            if principal.key_hash is not None
            else f"session:{principal.session_id}"
        )
        connections = self.endpoint.connections
        if connections[counted] >= self.settings.websocket_connections_per_key:
            raise _Close(
                4429,
                f"Too many connections for this key (WEBSOCKET_CONNECTIONS_PER_KEY="
                f"{self.settings.websocket_connections_per_key})",
            )
        connections[counted] += 1
        self.counted = counted
        self.principal = principal
        await self._send(b'{"type":"connection_ack"}')

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            await self._send(b'{"type":"pong"}')
        elif kind == "pong":
            self.awaiting_pong = False
        elif kind == "connection_init":
            raise _Close(4429, "Too many initialisation requests")
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        elif kind == "subscribe":
            operation_id, payload = message.get("id"), message.get("payload")
            if not isinstance(operation_id, str) or not operation_id:
                raise _Close(4400, "A subscribe message needs an id")
            if not isinstance(payload, dict):
                raise _Close(4400, "A subscribe message needs a payload object")
            if operation_id in self.operations:
                raise _Close(4409, f"Subscriber for {operation_id[:64]} already exists")
            if len(self.operations) >= self.settings.subscriptions_per_connection:
                limit = self.settings.subscriptions_per_connection
                await self._error(
                    operation_id,
                    f"At most {limit} operations may run on one connection "
                    "(SUBSCRIPTIONS_PER_CONNECTION); complete one first.",
                    "TOO_MANY_SUBSCRIPTIONS",
                )
                return
            self.operations[operation_id] = asyncio.create_task(
                self._operation(operation_id, payload)
            )
        else:
            raise _Close(4400, f"Invalid message type {kind[:32]!r}")

    async def _error(self, operation_id: str, message: str, code: str) -> None:
        errors = [{"message": message, "extensions": {"code": code}}]
        await self._send(_message(operation_id, "error", errors))

    async def _operation(self, operation_id: str, payload: dict[str, Any]) -> None:
        request_id.set(f"req_{random_base62(16)}")
        api_request.set(ApiRequest(id=request_id.get(), idempotency_key=None))
        try:
            await self._run(operation_id, payload)
        except asyncio.CancelledError:
            raise
        except _Gone:
            pass
        except Exception:
            logger.exception("unexpected error running a WebSocket operation")
            with contextlib.suppress(Exception):
                await self._error(operation_id, "Internal server error.", "INTERNAL_SERVER_ERROR")
        finally:
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    async def _run(self, operation_id: str, payload: dict[str, Any]) -> None:
        graphql = self.endpoint.graphql
        principal = self.principal
        variables, operation_name = payload.get("variables"), payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            await self._error(operation_id, "`variables` must be a JSON object.", "BAD_REQUEST")
            return
        if operation_name is not None and not isinstance(operation_name, str):
            await self._error(operation_id, "`operationName` must be a string.", "BAD_REQUEST")
            return
        if (
            refused := await graphql.rate_limiter.over_limit(principal, surface="websocket")
        ) is not None:
            await self._error(operation_id, refused, "RATE_LIMITED")
            return
        extensions = payload.get("extensions")
        try:
            resolved = await graphql.documents.resolve(
                query=payload.get("query"),
                document_id=payload.get("documentId"),
                extensions=extensions if isinstance(extensions, dict) else None,
            )
        except DocumentError as error:
            await self._error(operation_id, error.message, error.code)
            return
        query = resolved.query
        if resolved.register is not None and graphql._admits(
            query, operation_name, variables, "POST"
        ):
            await graphql.documents.register(resolved.register, query)
        if _is_subscription(graphql, query, operation_name):
            await self._subscription(operation_id, query, variables, operation_name)
            return
        try:
            result = await graphql._execute(_POST, query, variables, operation_name, principal)
        except RequestError as error:
            await self._error(operation_id, error.message, error.code)
            return
        self._observe(query, operation_name, result.errors)
        body = orjson.loads(graphql._response(result, "application/json").body)
        if "data" not in body:  # nothing executed: a parse, validation or variable error
            await self._send(_message(operation_id, "error", body["errors"]))
            return
        await self._send(_message(operation_id, "next", body))
        await self._send(_message(operation_id, "complete"))

    async def _subscription(
        self,
        operation_id: str,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> None:
        graphql = self.endpoint.graphql
        context = Context(
            database=graphql.database,
            settings=self.settings,
            principal=self.principal,
            live_verifier_available=graphql.live_verifier_available,
            live=Listener(feed=self.endpoint.feed, disconnect=self.too_slow),
        )
        stream = await graphql.schema.subscribe(
            query, variable_values=variables, context_value=context, operation_name=operation_name
        )
        refused = False
        try:
            async with contextlib.aclosing(stream):
                async for result in stream:
                    errors = graphql._format_errors(result.errors) if result.errors else None
                    if isinstance(result, PreExecutionError):
                        refused = True
                        self._observe(query, operation_name, result.errors)
                        await self._send(_message(operation_id, "error", errors or []))
                        return
                    body: dict[str, Any] = {"data": result.data}
                    if errors:
                        body["errors"] = errors
                    await self._send(_message(operation_id, "next", body))
        finally:
            # A subscription that started counts once, when it ends (it may never yield).
            if not refused:
                self._observe(query, operation_name, None)
        await self._send(_message(operation_id, "complete"))

    def _observe(self, query: str, operation_name: str | None, errors: Any) -> None:
        graphql = self.endpoint.graphql
        if graphql.metrics is not None:
            operation = graphql.schema.limiter.operation(query, operation_name)
            graphql.metrics.observe_graphql(operation_type_of(operation), errors)


def _is_subscription(graphql: GraphQLEndpoint, query: str, operation_name: str | None) -> bool:
    # A document that does not parse goes the query path, which reports it as HTTP would.
    operation = graphql.schema.limiter.operation(query, operation_name)
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


def _message(operation_id: str, kind: str, payload: Any = None) -> bytes:
    message: dict[str, Any] = {"id": operation_id, "type": kind}
    if payload is not None:
        message["payload"] = payload
    return orjson.dumps(message)
