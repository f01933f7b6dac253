"""What the fuzzers compare before and after a refused request: an account's stored rows, read
from the database itself (not through the API under test), so that a refused request that still
wrote something is caught. Each snapshot is one connection running a few statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.db import create_engine
from tests.conftest import Api, run

# Every column of a session a request could change.
_SESSIONS = (
    "SELECT id, status, client_reference_id, related_customer, return_url, metadata, options,"
    " provided_details, related_person, last_error, verified_outputs, redaction_status"
    " FROM verification_sessions WHERE {where} ORDER BY id"
)
_ACCOUNT = (
    _SESSIONS.format(where="account_id = :key"),
    "SELECT count(*) FROM events WHERE account_id = :key",
    "SELECT count(*) FROM verification_reports WHERE account_id = :key",
    "SELECT count(*) FROM webhook_endpoints WHERE account_id = :key",
)
_SESSION = (
    _SESSIONS.format(where="id = :key"),
    "SELECT token, spent_at FROM verification_links WHERE session_id = :key ORDER BY token",
    "SELECT count(*) FROM events WHERE session_id = :key",
)


def account_state(api: Api) -> list[Any]:
    """The account's sessions and how many events, reports and webhook endpoints it has, as
    plain values that compare equal when nothing changed."""
    return _rows(api, _ACCOUNT, api.account_id)


def session_state(api: Api, session_id: str) -> list[Any]:
    """One session's row, its links (a hosted page's token spent or not) and its events."""
    return _rows(api, _SESSION, session_id)


def _rows(api: Api, statements: tuple[str, ...], key: str) -> list[Any]:
    async def read() -> list[Any]:
        engine = create_engine(api.server.database.url)
        try:
            async with engine.connect() as connection:
                return [
                    [
                        tuple(str(value) for value in row)
                        for row in (await connection.execute(text(statement), {"key": key}))
                    ]
                    for statement in statements
                ]
        finally:
            await engine.dispose()

    rows: list[Any] = run(read())
    return rows
