"""Domain errors every area raises. They carry no transport detail: the HTTP adapter maps each
class to one RFC 9457 problem type and status, a CLI prints `detail`."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure; `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class ValidationError(DomainError):
    code = "validation_failed"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.field = field


class Unauthorized(DomainError):
    """No credential, or one that is unknown, expired, revoked or blocked."""

    code = "unauthorized"


class Forbidden(DomainError):
    """A valid credential that lacks the scope or role the operation requires."""

    code = "forbidden"


class NotFound(DomainError):
    """Absent, or owned by someone else: both answer the same, so ids leak nothing."""

    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after_seconds: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after_seconds = retry_after_seconds


class SecretUnavailable(DomainError):
    """A ciphertext names a key id that is not configured, or fails authentication: fail closed."""

    code = "secret_unavailable"
