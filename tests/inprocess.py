"""An httpx transport that hands a synchronous client's requests to the ASGI app in-process, on
the event loop of the real server that runs it (so the app's background worker, lifespan and
connections are the server's own), without the socket, HTTP parsing and uvicorn in between.

`make check` (the fast tier) sets TEST_TRANSPORT=asgi, and the API tests' clients (`client_of` in
tests/conftest.py) then use it. The server still listens: what needs a real connection (WebSockets,
raw sockets, other processes, browsers, other people's clients) connects to it as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop, verify: Any = True) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._loop = loop
        self._http = httpx.HTTPTransport(verify=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            # A body streamed from a generator (chunked): over the socket, as a client sends it.
            return self._http.handle_request(request)

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._asgi.handle_async_request(request)
            return response.status_code, response.headers.raw, await response.aread()

        status, headers, body = asyncio.run_coroutine_threadsafe(send(), self._loop).result()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        self._http.close()
