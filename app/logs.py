"""Logging: one line per record, written as it happens, each tagged with its request id.

Nothing secret is logged, at any LOG_LEVEL: keys are never passed to a logger, SQL parameters are
hidden by the engine and kept from the SQLite driver's debug log, and the access log masks the
token in hosted-page paths.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
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
