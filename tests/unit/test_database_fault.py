"""Which driver errors `database_fault` calls a database fault, from real SQLite and sockets."""

from __future__ import annotations

import socket
import sqlite3

from app.db import FULL, READ_ONLY, UNAVAILABLE, database_fault


def test_full_sqlite_is_database_full(tmp_path) -> None:
    connection = sqlite3.connect(tmp_path / "small.db")
    connection.execute("CREATE TABLE t (x BLOB)")
    connection.execute("PRAGMA max_page_count=3")
    try:
        connection.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    except sqlite3.Error as error:
        assert database_fault(error) == FULL
    else:
        raise AssertionError("the insert should not fit")


def test_query_only_sqlite_is_read_only(tmp_path) -> None:
    connection = sqlite3.connect(tmp_path / "ro.db")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("PRAGMA query_only=ON")
    try:
        connection.execute("INSERT INTO t VALUES (1)")
    except sqlite3.Error as error:
        assert database_fault(error) == READ_ONLY
    else:
        raise AssertionError("the insert should be refused")


def test_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError as error:
        assert database_fault(error) == UNAVAILABLE


def test_other_errors_are_not_faults(tmp_path) -> None:
    connection = sqlite3.connect(tmp_path / "x.db")
    try:
        connection.execute("SELECT * FROM missing")
    except sqlite3.Error as error:
        assert database_fault(error) is None
    assert database_fault(ValueError("x")) is None
