"""A multipart/form-data body read as it streams in, part by part, never held whole.

Litestar's own form parsing reads the whole body first, which a 100 MB CSV must not need: the
`multipart` package's push parser (the one Litestar uses) is fed the request's chunks instead,
and the file part's bytes go on as they arrive. Other parts are small fields, bounded here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from multipart import MultipartError, MultipartSegment, PushMultipartParser

from openmailer.core.errors import ValidationError
from openmailer.core.imports.service import FileData, FormField, FormPart, PayloadTooLarge

FORM_MEDIA_TYPE = "multipart/form-data"
FILE_PART = "file"
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 16
# What a form adds around the file (boundaries, part headers, the small fields).
FORM_OVERHEAD_BYTES = MAX_PARTS * MAX_FIELD_BYTES


def boundary_of(request: Request[Any, Any, Any]) -> str:
    media_type, options = request.content_type
    boundary = options.get("boundary")
    if not media_type:  # no body at all: what is missing is the file
        raise ValidationError(
            f"send the CSV as the `file` part of a {FORM_MEDIA_TYPE} body", field="file"
        )
    if media_type != FORM_MEDIA_TYPE or not boundary:
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"send the CSV as {FORM_MEDIA_TYPE} (curl -F file=@contacts.csv ...)",
        )
    return boundary


def check_announced_size(request: Request[Any, Any, Any], max_file_bytes: int) -> None:
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > max_file_bytes + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"the file is larger than the limit of {max_file_bytes} bytes")


async def form_parts(request: Request[Any, Any, Any], boundary: str) -> AsyncIterator[FormPart]:
    segment: MultipartSegment | None = None
    value = bytearray()
    try:
        with PushMultipartParser(
            boundary, max_header_count=8, max_segment_count=MAX_PARTS
        ) as parser:
            async for chunk in request.stream():
                if not chunk:
                    continue
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment, value = event, bytearray()
                        if segment.name == FILE_PART:  # an empty file is still a file
                            yield FileData(b"", segment.filename)
                    elif event is None:
                        if segment is not None and segment.name != FILE_PART:
                            yield FormField(segment.name or "", _text(value, segment.name))
                        segment = None
                    elif segment is not None and segment.name == FILE_PART:
                        yield FileData(bytes(event), segment.filename)
                    else:
                        value += event
                        if len(value) > MAX_FIELD_BYTES:
                            raise ClientException(
                                detail=f"a form field is limited to {MAX_FIELD_BYTES} bytes"
                            )
            for event in parser.parse(b""):
                if event is None and segment is not None and segment.name != FILE_PART:
                    yield FormField(segment.name or "", _text(value, segment.name))
    except MultipartError as error:
        raise ClientException(
            detail=f"the body is not valid multipart/form-data: {error}"
        ) from None


def _text(value: bytearray, name: str | None) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ClientException(detail=f"the form field {name!r} is not UTF-8 text") from None


@dataclass
class UploadOperation(Operation):
    """The OpenAPI operation of the upload: its body is a form the handler reads itself.
    (A dataclass itself, or its `__post_init__` would never be called.)"""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                FORM_MEDIA_TYPE: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["file", "list_id"],
                        properties={
                            "file": Schema(
                                type=OpenAPIType.STRING,
                                format=OpenAPIFormat.BINARY,
                                description="the CSV (UTF-8, with or without BOM; a header row)",
                            ),
                            "list_id": Schema(
                                type=OpenAPIType.STRING,
                                pattern="^[0-9]+$",
                                description="the list the contacts join (or leave)",
                            ),
                            "mode": Schema(
                                type=OpenAPIType.STRING,
                                enum=["subscribe", "update_only", "unsubscribe"],
                                default="subscribe",
                            ),
                            "mapping": Schema(
                                type=OpenAPIType.STRING,
                                description=(
                                    "JSON object: CSV column -> email, first_name, last_name, "
                                    "tags or custom_fields.<key>; default: columns named so"
                                ),
                            ),
                            "delimiter": Schema(
                                type=OpenAPIType.STRING,
                                description="',', ';' or '\\t'; detected when omitted",
                            ),
                        },
                    )
                )
            },
        )
