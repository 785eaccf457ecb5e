"""`sending`: the sending area's service (bound once in the app's lifespan, through
`register_services`), and the strict reading of request bodies its controllers use."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException

from openmailer.adapters.http.services import service_dependency
from openmailer.core.sending.service import SendingService

T = TypeVar("T")


SendingApi = NamedDependency[SendingService]
SENDING_DEPENDENCIES = {"sending": service_dependency("sending")}


async def strict_body(request: Request[Any, Any, Any], schema: type[T]) -> T:
    """The body read by msgspec's strict rules. Litestar converts bodies leniently (`0` for
    `false`, `"1"` for `1`), which the OpenAPI document does not allow; a provider's switches
    must mean what the client wrote. JSON Schema counts `5.0` as an integer, so integral floats
    at the top level and in `configuration` are read as integers."""
    try:
        body = msgspec.json.decode(await request.body())
        if isinstance(body, dict):
            body = {name: _integral(value) for name, value in body.items()}
            if isinstance(body.get("configuration"), dict):
                body["configuration"] = {
                    name: _integral(value) for name, value in body["configuration"].items()
                }
        return msgspec.convert(body, schema, strict=True)
    except msgspec.DecodeError as error:  # ValidationError is one
        raise ValidationException(detail=f"invalid request body: {error}") from None


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
