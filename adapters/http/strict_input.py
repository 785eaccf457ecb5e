"""Input Litestar would read too loosely, refused before any handler runs.

The rules come from the app's own OpenAPI document, so a route follows them as soon as it is
declared:

- A path or query parameter declared `integer` is ASCII digits, without sign, leading zero,
  underscore, exponent or blank. Python's `int()` reads `٣`, `+1`, `0001`, `1_0` and ` 1`, and
  msgspec's lax conversion reads `1e2`: each would be one more spelling of the same id or value,
  for caches, logs and clients to disagree on. In a path that is 404, as for any id that is not a
  number (the URL names no resource); in a query, 400, as for any malformed value.
- An operation that takes a JSON body takes it as `application/json` (UTF-8 if a charset is
  named): a body of any other or no Content-Type is 415, never parsed as JSON anyway. The 415
  is added to those operations' documented responses.
- That body is decoded here, so that what the JSON decoder cannot take — invalid UTF-8, nesting
  deeper than the interpreter's recursion limit — is a 400 like any malformed JSON, not an
  unexpected error. The handler reuses the decoded value.
- No string in it (value or key) holds NUL: PostgreSQL text cannot store one, so every route
  would fail on it at the database; it is a 422 `invalid_text` naming the field (a nested one
  by JSON pointer) instead.
- And it is checked against the handler's body type as strictly as the document states it:
  Litestar converts `data` in msgspec's lax mode, which takes `0` for `false`, `"1"` for `1` and
  a number for a date-time. JSON Schema counts `5.0` as an integer, so integral floats are read
  as integers first.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from litestar import Litestar, Request
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.openapi.spec import OpenAPIResponse, Operation, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

from openmailer.core.errors import ValidationError

T = TypeVar("T")
JSON_MEDIA_TYPE = "application/json"
_CANONICAL_INTEGER = re.compile(r"0|[1-9][0-9]*")
_CANONICAL_FORM = "written in ASCII digits, without sign, leading zeros or separators"
_METHODS = ("get", "put", "post", "delete", "patch")
_PATH_PARAMETER = re.compile(r"\{([^}:]+)\}")


@dataclass(frozen=True, slots=True)
class OperationInput:
    path_integers: tuple[tuple[int, str], ...]  # (index of the path segment, parameter name)
    query_integers: tuple[str, ...]
    json_body: bool


class StrictInput:
    """`learn(app)` once the app is built; `check` is its `before_request` hook."""

    def __init__(self) -> None:
        self._operations: dict[tuple[str, str], OperationInput] = {}

    def learn(self, app: Litestar) -> None:
        for path, item in (app.openapi_schema.paths or {}).items():
            for method in _METHODS:
                operation: Operation | None = getattr(item, method)
                if operation is not None:
                    self._operations[method.upper(), path] = _input_of(path, operation)
                    if self._operations[method.upper(), path].json_body:
                        _document_unsupported_media_type(operation)

    async def check(self, request: Request[Any, Any, Any]) -> None:
        expected = self._operations.get((request.method, request.scope.get("path_template", "")))
        if expected is None:
            return
        segments = request.scope["path"].split("/")
        for index, name in expected.path_integers:
            if index >= len(segments) or not _CANONICAL_INTEGER.fullmatch(segments[index]):
                raise NotFoundException(detail=f"no such resource: {name} {_CANONICAL_FORM}")
        errors = []
        for name in expected.query_integers:
            if any(
                not _CANONICAL_INTEGER.fullmatch(value)
                for value in request.query_params.getall(name, [])
            ):
                errors.append(_not_canonical(name))
        if errors:
            raise ValidationException(extra=errors)
        if expected.json_body and await request.body():
            if not _is_json(request):
                raise HTTPException(
                    status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail=f"send the body as {JSON_MEDIA_TYPE} (UTF-8)",
                )
            try:
                decoded = await request.json()
            except (SerializationException, UnicodeDecodeError, RecursionError):
                raise ClientException(
                    detail="the body is not JSON in UTF-8 (or is nested too deeply)"
                ) from None
            # JSON spells NUL only as an escape: most bodies skip the walk.
            if b"\\u0000" in await request.body():
                refuse_nul(decoded)
            body_type = _body_type(request)
            if body_type is not None:
                convert_strictly(decoded, body_type)


def refuse_nul(decoded: Any) -> None:
    """ValidationError `invalid_text` at the first string (or key) of `decoded` holding NUL."""
    pointer = _nul_at(decoded, "")
    if pointer is not None:
        # A top-level field by its name, as every other error names it; a nested one by pointer.
        field = pointer[1:] if pointer.count("/") == 1 else pointer or "/"
        raise ValidationError(
            "text may not contain NUL characters", field=field, code="invalid_text"
        )


def _nul_at(value: Any, pointer: str) -> str | None:
    if isinstance(value, str):
        return pointer if "\x00" in value else None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            if "\x00" in key:
                return f"{pointer}/{escaped}"
            items.append((escaped, item))
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    for name, item in items:
        found = _nul_at(item, f"{pointer}/{name}")
        if found is not None:
            return found
    return None


def convert_strictly(decoded: Any, body_type: Any) -> Any:
    """`decoded` JSON as `body_type`, by msgspec's strict rules (a 400 naming what is wrong)."""
    try:
        return msgspec.convert(_integral_floats(decoded), body_type, strict=True)
    except msgspec.ValidationError as error:
        raise ValidationException(
            detail="the request body does not match its schema",
            extra=[{"message": str(error)}],
        ) from None


async def strict_body(request: Request[Any, Any, Any], body_type: type[T]) -> T:
    """The handler's body as `convert_strictly` reads it (for a handler that needs the exact
    values, such as integral floats as integers, rather than Litestar's lax `data`)."""
    converted: T = convert_strictly(await request.json(), body_type)
    return converted


def _body_type(request: Request[Any, Any, Any]) -> Any:
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    return None if parameter is None else parameter.annotation


def _integral_floats(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {name: _integral_floats(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats(item) for item in value]
    return value


def _input_of(path: str, operation: Operation) -> OperationInput:
    segments = {name: index for index, name in _segment_parameters(path)}
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    integers = [p for p in parameters if _is_integer(p.schema)]
    body = operation.request_body
    content = getattr(body, "content", None) or {}
    return OperationInput(
        path_integers=tuple((segments[p.name], p.name) for p in integers if p.param_in == "path"),
        query_integers=tuple(p.name for p in integers if p.param_in == "query"),
        json_body=JSON_MEDIA_TYPE in content,
    )


def _segment_parameters(path: str) -> list[tuple[int, str]]:
    return [
        (index, match.group(1))
        for index, segment in enumerate(path.split("/"))
        if (match := _PATH_PARAMETER.fullmatch(segment))
    ]


def _is_integer(schema: Any) -> bool:
    if not isinstance(schema, Schema):
        return False
    types = schema.type if isinstance(schema.type, list | tuple) else [schema.type]
    alternatives = [*(schema.one_of or []), *(schema.any_of or [])]
    return OpenAPIType.INTEGER in types or any(_is_integer(item) for item in alternatives)


def _is_json(request: Request[Any, Any, Any]) -> bool:
    media_type, options = request.content_type
    charset = options.get("charset", "utf-8").lower()
    return media_type.lower() == JSON_MEDIA_TYPE and charset in {"utf-8", "utf8"}


def _not_canonical(name: str) -> dict[str, str]:
    return {"key": name, "message": f"must be {_CANONICAL_FORM}"}


def _document_unsupported_media_type(operation: Operation) -> None:
    """Every problem response of an operation has the same body; 400 is always among them."""
    responses = operation.responses or {}
    problem = responses.get("400")
    if isinstance(problem, OpenAPIResponse) and "415" not in responses:
        responses["415"] = dataclasses.replace(problem, description="Unsupported media type")
