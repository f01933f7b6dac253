"""The JSON log formatter: one object per record, a traceback kept in one field."""

from __future__ import annotations

import json
import logging
import sys

from app.logs import JsonFormatter, request_id


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
