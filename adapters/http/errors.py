"""The one error format: RFC 9457 problem details, from one mapping of domain errors.

Every error body is `application/problem+json` with `type`, `title`, `status`, `detail`, plus
`code` (stable, machine-readable), `request_id`, and for validation failures `errors`.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from openmailer.adapters.http.outages import (
    RETRY_AFTER_SECONDS,
    outage_log_of,
    outage_of,
    service_address,
)
from openmailer.adapters.http.request_context import (
    rate_decision_of,
    rate_limit_headers,
    request_id_of,
)
from openmailer.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    SecretUnavailable,
    Unauthorized,
    ValidationError,
)
from openmailer.core.imports.service import PayloadTooLarge
from openmailer.core.templates.model import TemplateSyntaxError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://openmailer.dev/problems/"
log = logging.getLogger("openmailer.http")

# Domain error class -> HTTP status. The only place that decides it.
STATUS_OF: dict[type[DomainError], int] = {
    ValidationError: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    PayloadTooLarge: 413,
    SecretUnavailable: 500,
}
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(msgspec.Struct):
    message: str
    field: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[FieldError] | None = None
    # A template part sender_rs cannot compile: which part, and where (1-based; 0 if unknown).
    part: str | None = None
    line: int | None = None
    column: int | None = None


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    where: TemplateSyntaxError | None = None,
) -> Response[Problem]:
    problem = problem_of(request.scope, status, code, detail, errors=errors, where=where)
    return Response(problem, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_of(
    scope: Any,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    where: TemplateSyntaxError | None = None,
) -> Problem:
    """The problem body of one request's error; the fast routes encode it themselves."""
    return Problem(
        type=PROBLEM_TYPE_BASE + code.replace("_", "-"),
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        request_id=request_id_of(scope),
        errors=errors,
        part=None if where is None else where.field,
        line=None if where is None else where.line,
        column=None if where is None else where.column,
    )


def handle_domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[Problem]:
    status = next(code for kind, code in STATUS_OF.items() if isinstance(error, kind))
    if status >= 500:
        log.error("domain error %s: %s", error.code, error.detail)
        return problem_response(request, status, "internal_error", "the server could not do this")
    errors = None
    headers = None
    if isinstance(error, ValidationError):
        errors = [FieldError(message=error.detail, field=error.field)]
    if isinstance(error, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="openmailer"'}
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
        decision = rate_decision_of(request.scope)
        if decision is not None:
            headers |= rate_limit_headers(decision)
    where = error if isinstance(error, TemplateSyntaxError) else None
    return problem_response(
        request, status, error.code, error.detail, errors=errors, headers=headers, where=where
    )


def handle_http_exception(
    request: Request[Any, Any, Any], error: HTTPException
) -> Response[Problem]:
    """Litestar's own errors (bad JSON, unknown route, wrong method) in the same format."""
    status = error.status_code
    errors = None
    if isinstance(error, ValidationException):
        errors = [
            FieldError(message=str(item.get("message", "invalid")), field=item.get("key"))
            for item in (error.extra if isinstance(error.extra, list) else [])
            if isinstance(item, dict)
        ]
        code, detail = "invalid_request", "the request is malformed or fails validation"
    else:
        code = TITLES.get(status, "error").lower().replace(" ", "_")
        detail = error.detail if status < 500 else "the server could not do this"
    return problem_response(
        request, status, code, detail, errors=errors or None, headers=dict(error.headers or {})
    )


def handle_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    outage = outage_of(error)
    if outage is not None:
        address = service_address(request.app.state.resources, outage.service)
        outage_log_of(request.app.state).record(outage, address)
        return problem_response(
            request,
            503,
            "service_unavailable",
            "a service the API depends on is unavailable; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.exception("unhandled error", exc_info=error)
    return problem_response(request, 500, "internal_error", "the server could not do this")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


def problem_specs(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses an operation can give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=TITLES[status],
        )
        for status in statuses
    }


__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "Problem", "problem_specs"]
