"""The JSON log line: the standard fields, every `extra=` field, values JSON cannot hold as
their `str()`, the exception's traceback."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from openmailer.adapters.http.json_logs import JsonFormatter

pytestmark = pytest.mark.unit


def record(**extra: object) -> logging.LogRecord:
    entry = logging.LogRecord(
        "openmailer.http.access", logging.INFO, __file__, 1, "request", None, None
    )
    entry.__dict__.update(extra)
    return entry


def test_an_access_line_has_the_standard_and_extra_fields() -> None:
    extra = {
        "request_id": "a" * 32,
        "method": "GET",
        "path": "/t/o/x.gif",
        "status": 200,
        "client_ip": "10.1.2.7",
        "duration_ms": 1.25,
        "user_id": None,
    }
    line = JsonFormatter().format(record(**extra))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed.pop("level") == "INFO" and parsed.pop("logger") == "openmailer.http.access"
    assert parsed.pop("message") == "request"
    assert datetime.fromisoformat(parsed.pop("time")).tzinfo == UTC
    assert parsed == extra


def test_values_json_cannot_hold_are_written_as_text_and_exceptions_whole() -> None:
    when = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    entry = record(amount=Decimal("1.10"), at=when, big=2**80, reader='caf\u00e9 "q"')
    try:
        raise ValueError("boom")
    except ValueError:
        entry.exc_info = sys.exc_info()
    parsed = json.loads(JsonFormatter().format(entry))
    assert parsed["amount"] == "1.10"
    assert datetime.fromisoformat(parsed["at"]) == when  # RFC 3339, as msgspec writes it
    assert parsed["big"] == 2**80 and parsed["reader"] == 'caf\u00e9 "q"'
    assert "ValueError: boom" in parsed["exception"]
