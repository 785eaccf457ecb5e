"""RFC 8058 one-click unsubscribe answered at the ASGI layer (`core.areas.FastRoute`).

Mail clients send it for every "Unsubscribe" button pressed, so it skips Litestar's routing,
dependency injection and form parsing: a `POST /u/{token}` whose `Content-Type` is
`application/x-www-form-urlencoded` with a `Content-Length` of at most `MAX_ONE_CLICK_BYTES`
has its body read here; if the body is exactly the one-click form (`List-Unsubscribe=One-Click`)
it is answered here, exactly as `UnsubscribeController.unsubscribe` answers it (200
`Unsubscribed.`, or the pages' 404 and 429), the shared counters moved after the answer has
gone. Anything else — another body (the page's own form), another encoding (multipart), no or a
larger length, a path Litestar would not route, an unexpected failure (Litestar's handler then
tries again and answers the 503 of an outage) — goes on to Litestar with the body replayed.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Send

from openmailer.adapters.http.fast_routes import replaying
from openmailer.adapters.http.recipients.rendering import (
    HTML,
    NOT_FOUND_TEXT,
    SECURITY_HEADERS,
    TOO_MANY_REQUESTS_TEXT,
    message_html,
)
from openmailer.core.areas import FastRoute
from openmailer.core.campaigns.tokens import TokenPurpose
from openmailer.core.errors import NotFound, RateLimited
from openmailer.core.recipients.service import RecipientPagesService, Traffic

log = logging.getLogger("openmailer.recipients")

PATH_PREFIX = "/u/"
ONE_CLICK_FORM = [("List-Unsubscribe", "One-Click")]
FORM_URLENCODED = b"application/x-www-form-urlencoded"
MAX_ONE_CLICK_BYTES = 256  # the form is 26 bytes; a longer body is not one this path answers

_Headers = list[tuple[bytes, bytes]]


def _headers(content_type: str, extra: dict[str, str]) -> _Headers:
    return [(b"content-type", content_type.encode())] + [
        (name.lower().encode(), value.encode()) for name, value in extra.items()
    ]


_UNSUBSCRIBED = b"Unsubscribed.\n"
_UNSUBSCRIBED_HEADERS = _headers("text/plain; charset=utf-8", {"Cache-Control": "no-store"})
_NOT_FOUND = message_html(*NOT_FOUND_TEXT)
_TOO_MANY_REQUESTS = message_html(*TOO_MANY_REQUESTS_TEXT)
_PAGE_HEADERS = _headers(HTML, SECURITY_HEADERS)


async def _send(send: Send, status: int, headers: _Headers, body: bytes) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    content: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": body,
        "more_body": False,
    }
    await send(start)
    await send(content)


def _length_if_one_click_sized(headers: _Headers) -> int | None:
    """The body's length when the headers allow a one-click form: urlencoded, a small length."""
    content_type = length = None
    for name, value in headers:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return None
    if content_type is None or length is None or not length.isdigit() or len(length) > 4:
        return None
    if content_type.split(b";", 1)[0].strip().lower() != FORM_URLENCODED:
        return None
    size = int(length)
    return size if size <= MAX_ONE_CLICK_BYTES else None


def _is_one_click_form(body: bytes) -> bool:
    try:
        fields = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        return False
    return fields == ONE_CLICK_FORM


async def _read_body(receive: Receive, size: int) -> bytes | None:
    """The body (at most `size` bytes, as its length said), or None if the client left."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        if len(body) > size or not message.get("more_body", False):
            return body


async def answer_one_click(
    pages: RecipientPagesService, scope: Any, receive: Receive, send: Send
) -> bool | Receive:
    token = scope["path"][len(PATH_PREFIX) :]
    size = _length_if_one_click_sized(scope["headers"])
    if size is None or not token or "/" in token:
        return False  # Litestar routes it (or answers the 404 of a path it has no route for)
    body = await _read_body(receive, size)
    if body is None:
        return True  # the client went away: there is no one to answer
    if not _is_one_click_form(body):
        return replaying(body, receive)
    client = scope.get("client")
    try:
        await pages.admit(Traffic.ONE_CLICK, client[0] if client else "unknown")
        done = await pages.unsubscribe(TokenPurpose.UNSUBSCRIBE, token, None)
    except NotFound:
        await _send(send, 404, _PAGE_HEADERS, _NOT_FOUND)
        return True
    except RateLimited as limited:
        retry = [(b"retry-after", str(limited.retry_after_seconds).encode())]
        await _send(send, 429, [*_PAGE_HEADERS, *retry], _TOO_MANY_REQUESTS)
        return True
    except Exception:  # answered as Litestar's handler answers it, once that has tried too
        log.warning("one_click_handed_to_litestar", exc_info=True)
        return replaying(body, receive)
    await _send(send, 200, _UNSUBSCRIBED_HEADERS, _UNSUBSCRIBED)
    await pages.move_counts(done)  # after the answer, as the Litestar route's background task
    return True


# Labelled as Litestar labels its route for the same path (the latency histogram's template).
ONE_CLICK_ROUTE = FastRoute("POST", PATH_PREFIX, "/u/{token}", "pages", answer_one_click)
