"""Exceptions raised by sender_rs, defined in the Rust extension and re-exported here.

All subclass `SenderError`, itself a `ValueError`: they report input that cannot be used.
`InternalError` is a bug in sender_rs (a Rust panic) that some input triggered.
"""

from __future__ import annotations

from sender_rs._sender_rs import (
    HeaderError,
    InternalError,
    RecipientError,
    SenderError,
    SigningKeyError,
    TemplateError,
)

__all__ = [
    "HeaderError",
    "InternalError",
    "RecipientError",
    "SenderError",
    "SigningKeyError",
    "TemplateError",
]
