"""HTML of the recipient pages: autoescaped Jinja templates shipped in the package, the security
headers every page carries, the CSRF cookie, and the error pages.

No page has a script: the CSP allows none, styles only from /pages.css, forms only to this
origin, and no framing. `Referrer-Policy: no-referrer` keeps the token in the URL from leaking
to any link a page offers. Pages are never cached (they show one recipient's data).
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from openmailer.adapters.http.errors import handle_domain_error, handle_unexpected
from openmailer.core.errors import DomainError, NotFound, RateLimited, ValidationError
from openmailer.core.recipients import csrf

PathText = Annotated[str, Parameter()]  # a token or public id, read by the service
TEMPLATES = files("openmailer.adapters.http.recipients") / "templates"
CSRF_COOKIE = "om_csrf"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Litestar adds "; charset=utf-8" to a text/ media type itself (given one, it said it twice).
HTML_MEDIA_TYPE = "text/html"
HTML = "text/html; charset=utf-8"  # the header as sent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_STYLESHEET = (TEMPLATES / "pages.css").read_bytes()


def page_html(template: str, **context: Any) -> bytes:
    context.setdefault("owner_name", None)
    return _environment.get_template(template).render(**context).encode()


def message_html(heading: str, *paragraphs: str, **context: Any) -> bytes:
    """The message page's HTML alone (for an answer sent without Litestar)."""
    return page_html(
        "message.html",
        heading=heading,
        paragraphs=paragraphs,
        link=context.pop("link", None),
        **context,
    )


def html_page(
    template: str,
    *,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[bytes]:
    return Response(
        page_html(template, **context),
        status_code=status,
        media_type=HTML_MEDIA_TYPE,
        headers={**SECURITY_HEADERS, **(headers or {})},
        cookies=cookies or [],
    )


def message_page(
    heading: str,
    *paragraphs: str,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[bytes]:
    return Response(
        message_html(heading, *paragraphs, **context),
        status_code=status,
        media_type=HTML_MEDIA_TYPE,
        headers={**SECURITY_HEADERS, **(headers or {})},
        cookies=cookies or [],
    )


def nonce_of(request: Request[Any, Any, Any]) -> str | None:
    """The browser's CSRF nonce, if it sent one of ours."""
    value = request.cookies.get(CSRF_COOKIE)
    return value if value and _NONCE.fullmatch(value) else None


def csrf_cookie(nonce: str, *, secure: bool) -> Cookie:
    """One cookie for every page (path /): the MAC binds each form's token to its page."""
    return Cookie(
        key=CSRF_COOKIE,
        value=nonce,
        path="/",
        httponly=True,
        secure=secure,
        samesite="strict",
        max_age=csrf.MAX_AGE_SECONDS,
    )


def page_nonce(request: Request[Any, Any, Any]) -> str:
    return nonce_of(request) or csrf.new_nonce()


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


@get("/pages.css", include_in_schema=False, cache=False)
async def stylesheet() -> Response[bytes]:
    return Response(
        _STYLESHEET,
        media_type="text/css",
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )


# --- errors, as pages -----------------------------------------------------------------------


NOT_FOUND_TEXT = (
    "This link does not work",
    "The link is not valid, or it has already been used. Nothing was changed.",
)
TOO_MANY_REQUESTS_TEXT = ("Too many requests", "Please wait a minute, then try again.")


def _not_found() -> Response[bytes]:
    return message_page(*NOT_FOUND_TEXT, status=404)


def page_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """Every failure of a page's handler as a page (the API's problem JSON is for the API)."""
    if isinstance(error, NotFound):
        return _not_found()
    if isinstance(error, RateLimited):
        return message_page(
            *TOO_MANY_REQUESTS_TEXT,
            status=HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(error.retry_after_seconds)},
        )
    if isinstance(error, ValidationError):
        return message_page("That did not work", error.detail, status=422)
    if isinstance(error, HTTPException) and error.status_code < 500:
        if error.status_code == 404:
            return _not_found()
        if error.status_code == 413:
            return message_page("Too much data", "The form sent too much data.", status=413)
        return message_page(
            "That did not work", "The request was not understood.", status=error.status_code
        )
    if isinstance(error, DomainError):
        return handle_domain_error(request, error)
    return handle_unexpected(request, error)  # logged; a 503 when a service is down


# The same keys as the app's handlers: Litestar picks the most specific class over all layers.
PAGE_EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: page_error,
    HTTPException: page_error,
    Exception: page_error,
}
