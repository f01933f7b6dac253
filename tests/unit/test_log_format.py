"""The JSON log formatter: one object per record, a traceback kept in one field."""

from __future__ import annotations

import json
import logging
import sys

from app.logs import ClientTextFilter, JsonFormatter, request_id


def _record(message: str, *, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("app.test", logging.ERROR, __file__, 1, message, None, exc_info)  # type: ignore[arg-type]


def test_an_exception_is_one_line_with_its_traceback_in_a_field() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record("failed", exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed"
    assert parsed["level"] == "ERROR"
    assert "RuntimeError: boom" in parsed["exc_info"]
    assert "Traceback" in parsed["exc_info"]


def test_the_current_request_id_is_used_when_the_filter_did_not_run() -> None:
    token = request_id.set("req_abc")
    try:
        parsed = json.loads(JsonFormatter().format(_record("hello")))
    finally:
        request_id.reset(token)
    assert parsed["request_id"] == "req_abc"
    assert "method" not in parsed


def test_uvicorn_reading_a_client_frame_that_is_not_utf8_is_a_warning_without_traceback() -> None:
    # given: the record uvicorn's WebSocket protocol logs with `logger.exception`
    try:
        b"\xc3(".decode()
    except UnicodeDecodeError:
        record = _record(ClientTextFilter.MESSAGE, exc_info=sys.exc_info())
    record.levelno, record.levelname = logging.ERROR, "ERROR"
    # when
    kept = ClientTextFilter().filter(record)
    # then
    assert kept
    assert (record.levelno, record.levelname, record.exc_info) == (logging.WARNING, "WARNING", None)


def test_other_uvicorn_errors_keep_their_level_and_traceback() -> None:
    record = _record("Exception in ASGI application", exc_info=(ValueError, ValueError(), None))
    record.levelno = logging.ERROR
    assert ClientTextFilter().filter(record)
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_uvicorn_failing_to_answer_that_frame_on_a_closing_socket_is_a_warning() -> None:
    # given: what asyncio's exception handler logs when uvicorn's 1007 meets a closing socket
    from websockets.exceptions import InvalidState

    record = logging.LogRecord(
        "asyncio",
        logging.ERROR,
        __file__,
        1,
        "Fatal error on transport TCPTransport\nprotocol: <uvicorn.protocols.websockets."
        "websockets_sansio_impl.WebSocketsSansIOProtocol object at 0x1>\ntransport: <x>",
        None,
        (InvalidState, InvalidState("connection is closing"), None),
    )
    # when
    ClientTextFilter().filter(record)
    # then
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage() == "Fatal error on transport TCPTransport"


def test_other_fatal_transport_errors_keep_their_level_and_traceback() -> None:
    record = logging.LogRecord(
        "asyncio",
        logging.ERROR,
        __file__,
        1,
        "Fatal error on transport TCPTransport\nprotocol: <HttpToolsProtocol>",
        None,
        (RuntimeError, RuntimeError("boom"), None),
    )
    ClientTextFilter().filter(record)
    assert record.levelno == logging.ERROR and record.exc_info is not None
