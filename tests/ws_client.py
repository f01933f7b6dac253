"""A `graphql-transport-ws` client over the `websockets` package, for tests: it connects, sends
`connection_init` with the credentials, answers the server's pings, and sorts the server's
messages by operation id."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"
WAIT_SECONDS = 20.0


class Closed(Exception):
    """The server closed the socket; `code` and `reason` are its close frame's."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Client:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.by_id: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed: asyncio.Future[Closed] = asyncio.get_running_loop().create_future()
        self.pings = 0
        self.answer_pings = True
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                kind = message["type"]
                if kind == "ping":
                    self.pings += 1
                    if self.answer_pings:
                        await self.socket.send(json.dumps({"type": "pong"}))
                elif kind in ("connection_ack", "pong"):
                    await self.acks.put(message)
                else:
                    await self.queue(message["id"]).put(message)
        except ConnectionClosed:
            pass
        frame = self.socket.protocol.close_rcvd
        self.closed.set_result(Closed(frame.code if frame else None, frame.reason if frame else ""))

    def queue(self, operation_id: str) -> asyncio.Queue[dict[str, Any]]:
        return self.by_id.setdefault(operation_id, asyncio.Queue())

    async def send(self, message: dict[str, Any]) -> None:
        # A socket the server closed first reports its close frame through `closed`.
        with contextlib.suppress(ConnectionClosed):
            await self.socket.send(json.dumps(message))

    async def init(self, payload: dict[str, Any] | None) -> dict[str, Any]:
        """Send `connection_init`; the ack, or Closed when the server closes instead."""
        await self.send({"type": "connection_init", **({"payload": payload} if payload else {})})
        return await self._first(self.acks.get())

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def complete(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete"})

    async def message(self, operation_id: str) -> dict[str, Any]:
        """The operation's next message (`next`, `error` or `complete`)."""
        return await self._first(self.queue(operation_id).get())

    async def payloads(self, operation_id: str, count: int) -> list[dict[str, Any]]:
        """The payloads of the operation's next `count` messages, each a `next`."""
        found = []
        for _ in range(count):
            message = await self.message(operation_id)
            assert message["type"] == "next", message
            found.append(message["payload"])
        return found

    async def wait_closed(self) -> Closed:
        return await asyncio.wait_for(asyncio.shield(self.closed), WAIT_SECONDS)

    async def _first(self, waiting: Any) -> dict[str, Any]:
        """What `waiting` gives, or Closed raised if the socket closes first."""
        task = asyncio.ensure_future(waiting)
        done, _ = await asyncio.wait(
            [task, self.closed], timeout=WAIT_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            result: dict[str, Any] = task.result()
            return result
        task.cancel()
        if self.closed.done():
            raise self.closed.result()
        raise TimeoutError("no message from the server")


@contextlib.asynccontextmanager
async def connected(
    base_url: str,
    *,
    origin: str | None = None,
    subprotocols: list[str] | None = None,
) -> AsyncIterator[Client]:
    """A socket to `base_url`'s /graphql, not yet initialised."""
    url = base_url.replace("http://", "ws://", 1) + "/graphql"
    async with connect(
        url,
        subprotocols=[PROTOCOL] if subprotocols is None else subprotocols,  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        open_timeout=WAIT_SECONDS,
    ) as socket:
        client = Client(socket)
        try:
            yield client
        finally:
            client._reader.cancel()


@contextlib.asynccontextmanager
async def session(base_url: str, key: str) -> AsyncIterator[Client]:
    """An initialised connection with `key`."""
    async with connected(base_url) as client:
        await client.init({"Authorization": f"Bearer {key}"})
        yield client
