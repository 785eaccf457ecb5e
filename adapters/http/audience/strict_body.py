"""JSON bodies decoded as strictly as the OpenAPI document states them.

Litestar converts a handler's `data` in msgspec's lax mode, which takes `0` for `false` and a
number for a date-time: values the document calls invalid would be accepted. This hook decodes
the body again, strictly, against the handler's own body type before the handler runs; a body
that does not match is 400 like any malformed request. (The same gap is open for other areas'
bodies; `adapters/http/strict_input.py` is where a project-wide fix would go.)

Litestar runs only the nearest layer's `before_request`, so this controller-level hook runs the
app's own (the strict input rules: integers, media type, undecodable bodies) first.
"""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


async def decode_body_strictly(request: Request[Any, Any, Any]) -> Any:
    app_wide = request.app.before_request
    if app_wide is not None:
        answer = app_wide(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is not None:
            return answer
    body_type = getattr(
        request.route_handler.parsed_fn_signature.parameters.get("data"), "annotation", None
    )
    if body_type is None:
        return None
    body = await request.body()
    if not body:
        return None
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as error:
        raise ValidationException(
            detail="the request body does not match its schema", extra=[{"message": str(error)}]
        ) from None
    except (msgspec.DecodeError, RecursionError):
        return None  # malformed JSON: the app's rules and Litestar's decoding answer it
    return None
