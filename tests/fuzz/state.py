"""What the fuzzers compare before and after a refused request: an account's stored rows, read
from the database itself (not through the API under test), so that a refused request that still
wrote something is caught."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

# Every column a request could change, per table, for one account.
_STATEMENTS = (
    "SELECT id, status, client_reference_id, related_customer, return_url, metadata, options,"
    " provided_details, related_person, last_error, verified_outputs, redaction_status"
    " FROM verification_sessions WHERE account_id = :account ORDER BY id",
    "SELECT count(*) FROM events WHERE account_id = :account",
    "SELECT count(*) FROM verification_reports WHERE account_id = :account",
    "SELECT count(*) FROM webhook_endpoints WHERE account_id = :account",
)


def account_state(api: Api) -> list[Any]:
    """The account's rows, as plain values that compare equal when nothing changed."""
    return [
        [
            tuple(str(value) for value in row)
            for row in api.server.database.execute(statement, {"account": api.account_id})
        ]
        for statement in _STATEMENTS
    ]


def session_state(api: Api, session_id: str) -> list[Any]:
    """One session's row and its links' (a hosted page's token spent or not)."""
    return [
        [
            tuple(str(value) for value in row)
            for row in api.server.database.execute(statement, {"session": session_id})
        ]
        for statement in (
            _STATEMENTS[0].replace("account_id = :account", "id = :session"),
            "SELECT token, spent_at FROM verification_links WHERE session_id = :session"
            " ORDER BY token",
            "SELECT count(*) FROM events WHERE session_id = :session",
        )
    ]
