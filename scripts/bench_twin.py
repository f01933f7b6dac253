"""The raw twin the gateway is measured against: the same page of the same rows, as fast as plain
Python serves it. Not part of the gateway; `scripts/bench.py` starts it beside a gateway.

    GET /sessions?first=50&after=<cursor>   a page, newest first, keyset seek on (created, id)
    GET /sessions/<id>                      one session by primary key
    GET /floor?first=50&after=<cursor>      SQLite: the gateway's list-50 answer, written by hand

Each request checks `Authorization: Bearer <key>` by looking the key's SHA-256 up in `api_keys`,
as the gateway does, then reads with the driver directly (stdlib `sqlite3` on the event loop, or
an asyncpg pool) on the gateway's own indexes, and answers with orjson. No GraphQL, no ORM, no
middleware: the floor a Python HTTP endpoint stands on.

    python scripts/bench_twin.py --database-url sqlite+aiosqlite:///bench.sqlite3 --port 8001
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gc
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = "id, status, type, created, livemode, client_reference_id, metadata"
SQLITE_PAGE = f"""
    SELECT {COLUMNS} FROM verification_sessions
    WHERE account_id = ? AND livemode = ? AND (created, id) < (?, ?)
    ORDER BY created DESC, id DESC LIMIT ?
"""
SQLITE_FIRST = f"""
    SELECT {COLUMNS} FROM verification_sessions
    WHERE account_id = ? AND livemode = ? ORDER BY created DESC, id DESC LIMIT ?
"""
SQLITE_ONE = (
    f"SELECT {COLUMNS} FROM verification_sessions WHERE id = ? AND account_id = ? AND livemode = ?"
)
POSTGRES_PAGE = f"""
    SELECT {COLUMNS} FROM verification_sessions
    WHERE account_id = $1 AND livemode = $2 AND (created, id) < ($3, $4)
    ORDER BY created DESC, id DESC LIMIT $5
"""
POSTGRES_FIRST = f"""
    SELECT {COLUMNS} FROM verification_sessions
    WHERE account_id = $1 AND livemode = $2 ORDER BY created DESC, id DESC LIMIT $3
"""
POSTGRES_ONE = f"SELECT {COLUMNS} FROM verification_sessions WHERE id = $1 AND account_id = $2 AND livemode = $3"


def cursor_of(created: str, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created}:{session_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, str]:
    created, _, session_id = (
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().rpartition(":")
    )
    return created, session_id


def session(row: Any, metadata: Any) -> dict[str, Any]:
    return {
        "id": row[0],
        "object": "identity.verification_session",
        "status": row[1],
        "type": row[2],
        "created": str(row[3]),
        "livemode": bool(row[4]),
        "client_reference_id": row[5],
        "metadata": metadata,
    }


# The floor: the bytes the gateway answers to the benchmark's list-50 query (`edges { cursor node
# { id object status type created livemode clientReferenceId metadata } } pageInfo { hasNextPage
# endCursor }`), written by hand for that one query over SQLite: the columns the gateway reads
# (with those its credentials check on read needs), a cursor per edge in the gateway's format,
# and nothing general. It is what plain Python needs to answer the GraphQL response itself, so
# `make bench` can say how much of the gap to the twin is the response and how much the gateway.
FLOOR_PAGE = """
    SELECT id, livemode, created, status, type, client_reference_id, metadata, redaction_status,
        client_secret_expires_at, url_expires_at
    FROM verification_sessions
    WHERE account_id = ? AND livemode = ? AND (created, id) < (?, ?)
    ORDER BY created DESC, id DESC LIMIT ?
"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
URLSAFE = bytes.maketrans(b"+/", b"-_")


def floor_page(db: sqlite3.Connection, scope: tuple[str, int], size: int, after: str) -> bytes:
    _, micros, after_id = (
        base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode().split(":")
    )
    after_created = (EPOCH + timedelta(microseconds=int(micros))).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = db.execute(FLOOR_PAGE, (*scope, after_created, after_id, size + 1)).fetchall()
    now = datetime.now(UTC)
    edges = []
    for row in rows[:size]:
        created = datetime.fromisoformat(row[2] + "+00:00")
        if row[3] == "requires_input" and row[7] is None:
            for expires in (row[8], row[9]):
                if expires is None or datetime.fromisoformat(expires + "+00:00") <= now:
                    raise ValueError(
                        f"{row[0]} needs new credentials, which the floor does not issue"
                    )
        since = created - EPOCH
        micros = (since.days * 86400 + since.seconds) * 1_000_000 + since.microseconds
        raw = f"v1:{micros}:{row[0]}".encode()
        cursor = binascii.b2a_base64(raw, newline=False).translate(URLSAFE).rstrip(b"=").decode()
        node = {
            "id": row[0],
            "object": "identity.verification_session",
            "status": row[3].upper(),
            "type": row[4].upper(),
            "created": f"{row[2][:10]}T{row[2][11:]}Z",
            "livemode": bool(row[1]),
            "clientReferenceId": row[5],
            "metadata": orjson.loads(row[6]),
        }
        edges.append({"cursor": cursor, "node": node})
    page_info = {
        "hasNextPage": len(rows) > size,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    return orjson.dumps({"data": {"verificationSessions": {"edges": edges, "pageInfo": page_info}}})


def unauthorized() -> Response:
    return Response(b'{"error":"unauthorized"}', 401, media_type="application/json")


def sqlite_app(path: str) -> Starlette:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")

    def scope(request: Request) -> tuple[str, int] | None:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        digest = hashlib.sha256(key.encode()).hexdigest()
        found = db.execute(
            "SELECT account_id, livemode FROM api_keys WHERE key_hash = ?", (digest,)
        ).fetchone()
        return (found[0], found[1]) if found else None

    async def page(request: Request) -> Response:
        found = scope(request)
        if found is None:
            return unauthorized()
        size = int(request.query_params.get("first", "10"))
        after = request.query_params.get("after")
        if after:
            rows = db.execute(SQLITE_PAGE, (*found, *decode(after), size + 1)).fetchall()
        else:
            rows = db.execute(SQLITE_FIRST, (*found, size + 1)).fetchall()
        items = [session(row, orjson.loads(row[6])) for row in rows[:size]]
        last = rows[size - 1] if len(rows) >= size and size else None
        body = {
            "data": items,
            "has_more": len(rows) > size,
            "end_cursor": cursor_of(last[3], last[0]) if last else None,
        }
        return Response(orjson.dumps(body), media_type="application/json")

    async def one(request: Request) -> Response:
        found = scope(request)
        if found is None:
            return unauthorized()
        row = db.execute(SQLITE_ONE, (request.path_params["id"], *found)).fetchone()
        if row is None:
            return Response(b'{"error":"not found"}', 404, media_type="application/json")
        return Response(
            orjson.dumps(session(row, orjson.loads(row[6]))), media_type="application/json"
        )

    async def floor(request: Request) -> Response:
        found = scope(request)
        if found is None:
            return unauthorized()
        size = int(request.query_params.get("first", "10"))
        body = floor_page(db, found, size, request.query_params["after"])
        return Response(body, media_type="application/json")

    return Starlette(
        routes=[Route("/sessions", page), Route("/sessions/{id}", one), Route("/floor", floor)]
    )


def postgres_app(url: str) -> Starlette:
    import asyncpg

    parts = make_url(url)
    pool: Any = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(
            user=parts.username,
            password=parts.password,
            host=parts.host,
            port=parts.port,
            database=parts.database,
            min_size=4,
            max_size=8,
        )
        yield
        await pool.close()

    async def scope(connection: Any, request: Request) -> tuple[str, bool] | None:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        digest = hashlib.sha256(key.encode()).hexdigest()
        found = await connection.fetchrow(
            "SELECT account_id, livemode FROM api_keys WHERE key_hash = $1", digest
        )
        return (found[0], found[1]) if found else None

    async def page(request: Request) -> Response:
        async with pool.acquire() as connection:
            found = await scope(connection, request)
            if found is None:
                return unauthorized()
            size = int(request.query_params.get("first", "10"))
            after = request.query_params.get("after")
            if after:
                created, session_id = decode(after)
                rows = await connection.fetch(
                    POSTGRES_PAGE, *found, datetime.fromisoformat(created), session_id, size + 1
                )
            else:
                rows = await connection.fetch(POSTGRES_FIRST, *found, size + 1)
        items = [session(row, orjson.loads(row[6])) for row in rows[:size]]
        last = rows[size - 1] if len(rows) >= size and size else None
        body = {
            "data": items,
            "has_more": len(rows) > size,
            "end_cursor": cursor_of(str(last[3]), last[0]) if last else None,
        }
        return Response(orjson.dumps(body), media_type="application/json")

    async def one(request: Request) -> Response:
        async with pool.acquire() as connection:
            found = await scope(connection, request)
            if found is None:
                return unauthorized()
            row = await connection.fetchrow(POSTGRES_ONE, request.path_params["id"], *found)
        if row is None:
            return Response(b'{"error":"not found"}', 404, media_type="application/json")
        return Response(
            orjson.dumps(session(row, orjson.loads(row[6]))), media_type="application/json"
        )

    return Starlette(
        routes=[Route("/sessions", page), Route("/sessions/{id}", one)], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    url = make_url(args.database_url)
    if url.get_backend_name() == "sqlite":
        app = sqlite_app(url.database or "")
    else:
        app = postgres_app(args.database_url)
    # As `python -m app serve` does: what is alive at start stays out of the collector's passes.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
