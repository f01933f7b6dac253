"""Logging: one line per record, written as it happens, each tagged with its request id.

Nothing secret is logged, at any LOG_LEVEL: keys are never passed to a logger, SQL parameters are
hidden by the engine and kept from the SQLite driver's debug log, and the access log masks the
token in hosted-page paths.

LOG_FORMAT=json writes each record as one JSON object per line: time, level, logger, message,
request_id, the access fields (method, path, status, duration_ms) on access lines, and an
exception's traceback in `exc_info`. uvicorn's own records go through the same handler.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# Set by the access log (app.web.requests) as `extra`; copied into JSON lines when present.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def json_line(message: str, *, level: str = "INFO", logger: str = "app") -> str:
    """One JSON log line, for what is written before logging is configured."""
    record = logging.LogRecord(logger, logging.getLevelName(level), "", 0, message, None, None)
    return JsonFormatter().format(record)


class ClientTextFilter(logging.Filter):
    """Makes two records of uvicorn's WebSocket protocol (0.54, websockets-sansio) about a text
    frame that is not UTF-8 one-line warnings: they carry a traceback at ERROR, though the frame
    is the client's mistake, and a client can send as many as it likes.

    - uvicorn.error "Invalid UTF-8 sequence received from client.": answered rightly, 1007.
    - asyncio "Fatal error on transport" with websockets' InvalidState, from a
      WebSocketsSansIOProtocol: the frame came with the client's close frame, and uvicorn's
      1007 could not be sent on a closing connection; the transport is closed.
    """

    MESSAGE = "Invalid UTF-8 sequence received from client."

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.MESSAGE or _closing_websocket_fault(record):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = record.getMessage().partition("\n")[0], None
            record.exc_info = record.exc_text = None
        return True


def _closing_websocket_fault(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return (
        record.name == "asyncio"
        and type(error).__name__ == "InvalidState"
        and type(error).__module__.startswith("websockets")
        and "WebSocketsSansIOProtocol" in record.getMessage()
    )


def configure(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in ("uvicorn.error", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(item, ClientTextFilter) for item in logger.filters):
            logger.addFilter(ClientTextFilter())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # aiosqlite logs every driver call with its arguments at DEBUG (statements' parameters: key
    # hashes, client secrets, url tokens), outside any request's id: never below WARNING.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    # httpx logs each webhook delivery's whole URL (which may carry the receiver's own token)
    # and httpcore its headers (the signature) at DEBUG; app.worker logs deliveries by id.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Our own access log replaces uvicorn's, which would print hosted-page tokens.
    logging.getLogger("uvicorn.access").disabled = True
