"""Structured logs: one JSON object per line on stderr, with any `extra=` fields included.

Every API request writes one (the access log), so the line is encoded with msgspec (several
times cheaper than `json.dumps`): datetimes as RFC 3339, a value JSON has no type for as its
`str()`, and anything msgspec still refuses through `json.dumps` instead.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import msgspec

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_encoder = msgspec.json.Encoder(enc_hook=str)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return _encoder.encode(entry).decode()
        except (TypeError, OverflowError, msgspec.EncodeError):
            return json.dumps(entry, default=str)


def configure_json_logging(level: str) -> None:
    """Idempotent: replaces the openmailer loggers' handler rather than adding another."""
    logger = logging.getLogger("openmailer")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False
