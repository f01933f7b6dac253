"""A webhook receiver for tests: a real HTTP server on loopback that records every request and
answers as the test scripts it (a status, or a delay past the gateway's timeout)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed

    @property
    def signature(self) -> str:
        return self.headers["stripe-signature"]


@dataclass
class Receiver:
    """`answers`: what the next requests get, in order (an int status, or `("sleep", seconds)`
    to answer 200 only after that long); once spent, every request gets `otherwise`."""

    url: str
    answers: list[Any] = field(default_factory=list)
    otherwise: int = 200
    received: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, *, timeout: float = 20.0) -> list[Delivery]:
        """The first `count` requests, once that many have come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            time.sleep(0.02)
        raise AssertionError(f"{count} deliveries expected, {len(self.received)} came")

    def quiet_for(self, seconds: float) -> list[Delivery]:
        """Everything received, after `seconds` in which nothing more came."""
        seen = -1
        while True:
            with self.lock:
                now = len(self.received)
            if now == seen:
                return list(self.received)
            seen = now
            time.sleep(seconds)

    def _next_answer(self) -> Any:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.otherwise


@contextmanager
def receiving(path: str = "/hooks") -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver = holder["receiver"]
            with receiver.lock:
                receiver.received.append(
                    Delivery(
                        path=self.path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=body,
                    )
                )
            answer = receiver._next_answer()
            status = 200
            if isinstance(answer, tuple):
                time.sleep(answer[1])
            else:
                status = answer
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"received" if status < 300 else b"receiver failed on purpose")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the gateway gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["receiver"]
    finally:
        server.shutdown()
        server.server_close()
