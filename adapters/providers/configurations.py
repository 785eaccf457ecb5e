"""`MsgspecProviderConfigurations`: configurations validated by their type's msgspec Struct.

A wrong field is a ValidationError naming it under `configuration` (`configuration.port`), which
the API answers with 422. Stored configurations are the Struct's JSON, sealed by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from openmailer.core.errors import ValidationError
from openmailer.core.sending.contract import ProviderType

# msgspec names the failing location as `$.port` or `$.auth.user` or `$[0]`.
_PATH = re.compile(r"at `\$([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


def _field_of(message: str) -> str:
    for pattern in (_MISSING, _UNKNOWN):
        found = pattern.search(message)
        if found:
            inner = _PATH.search(message)
            prefix = inner.group(1) if inner else ""
            return f"configuration{prefix}.{found.group(1)}"
    found = _PATH.search(message)
    return f"configuration{found.group(1)}" if found else "configuration"


class MsgspecProviderConfigurations:
    def validate(self, provider_type: ProviderType, raw: Mapping[str, Any]) -> Any:
        try:
            return msgspec.convert(dict(raw), provider_type.configuration, strict=True)
        except msgspec.ValidationError as error:
            message = str(error)
            raise ValidationError(
                f"{provider_type.name} configuration: {message}",
                field=_field_of(message),
                code="invalid_configuration",
            ) from None

    def encode(self, configuration: Any) -> bytes:
        return msgspec.json.encode(configuration)

    def decode(self, provider_type: ProviderType, data: bytes) -> Any:
        return msgspec.json.decode(data, type=provider_type.configuration)

    def as_dict(self, configuration: Any) -> dict[str, Any]:
        values: dict[str, Any] = msgspec.to_builtins(configuration)
        return values


# An endpoint a provider's configuration may name (an API base URL, a VPC endpoint, a test peer):
# http or https, a host, an optional path; no whitespace, no userinfo.
HTTP_URL_PATTERN = r"^https?://[A-Za-z0-9.\[\]:-]+(/[^\s]*)?$"
