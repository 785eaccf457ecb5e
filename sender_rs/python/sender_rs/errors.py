"""Exceptions raised by sender_rs. All subclass ValueError: they report bad input."""

from __future__ import annotations


class TemplateError(ValueError):
    """A template tag is malformed or names an unknown variable (position is 1-based)."""

    def __init__(self, message: str, part: str, line: int, column: int) -> None:
        super().__init__(f"{part}, line {line}, column {column}: {message}")
        self.message = message
        self.part = part
        self.line = line
        self.column = column


class HeaderError(ValueError):
    """A header input is invalid (CR, LF or NUL, a bad address, a reserved extra header...)."""


class SigningKeyError(ValueError):
    """A DKIM key cannot be parsed or is not an accepted type or size."""
