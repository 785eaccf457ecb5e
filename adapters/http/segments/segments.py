"""`/api/v1/segments`: the caller's segments, their counts, and previews of conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.audience.strict_body import decode_body_strictly
from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import MAX_ID, PageParameters, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Scope
from openmailer.core.segments.model import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PREVIEW_CONTACTS,
    ContactSummary,
    Segment,
    SegmentChanges,
)
from openmailer.core.segments.service import SegmentsService

Name = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"\S", examples=["VIPs"])
]
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION_LENGTH)]
ListId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Conditions = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="A group: {operator: AND|OR|NOT, rules: [rule or group, ...]}; a rule: "
        "{field, operator, value}. See docs/api.md, Segments.",
        examples=[
            {
                "operator": "AND",
                "rules": [
                    {"field": "tags", "operator": "contains", "value": "vip"},
                    {"field": "custom_fields.location", "operator": "equals", "value": "NY"},
                ],
            }
        ],
    ),
]
SegmentsApi = NamedDependency[SegmentsService]


class SegmentCreate(msgspec.Struct):
    name: Name
    conditions: Conditions
    description: Description | None = None
    list_id: ListId | None = None
    is_dynamic: bool = True


class SegmentUpdate(msgspec.Struct):
    """Only the fields sent change; `list_id: null` lifts the limit to a list."""

    name: Name | None = None
    description: Description | None = None
    conditions: Conditions | None = None
    list_id: ListId | msgspec.UnsetType | None = msgspec.UNSET
    is_dynamic: bool | None = None


class SegmentRead(msgspec.Struct):
    id: int
    name: str
    description: str | None
    list_id: int | None
    conditions: dict[str, Any]
    is_dynamic: bool
    cached_count: int
    last_calculated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, segment: Segment) -> SegmentRead:
        return cls(
            id=segment.id,
            name=segment.name,
            description=segment.description,
            list_id=segment.list_id,
            conditions=segment.conditions,
            is_dynamic=segment.is_dynamic,
            cached_count=segment.cached_count,
            last_calculated_at=segment.last_calculated_at,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )


class SegmentCountRead(msgspec.Struct):
    count: int
    last_calculated_at: datetime


class PreviewRequest(msgspec.Struct):
    conditions: Conditions
    list_id: ListId | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PREVIEW_CONTACTS)] = 10


class ContactRead(msgspec.Struct):
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    status: str

    @classmethod
    def of(cls, contact: ContactSummary) -> ContactRead:
        return cls(
            id=contact.id,
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            status=contact.status,
        )


class PreviewRead(msgspec.Struct):
    """`count` matching contacts; `contacts`: the first `limit` of them by id."""

    count: int
    contacts: list[ContactRead]


class SegmentController(Controller):
    path = "/segments"
    tags = ["segments"]
    dependencies = {"segments": service_dependency("segments")}
    # `is_dynamic: 0` was taken for false (schemathesis, negative_data_rejection).
    before_request = staticmethod(decode_body_strictly)

    @post(
        "",
        operation_id="createSegment",
        status_code=HTTP_201_CREATED,
        **access(Scope.WRITE_CONTACTS),
    )
    async def create(
        self, principal: CurrentPrincipal, segments: SegmentsApi, data: JSONBody[SegmentCreate]
    ) -> SegmentRead:
        """A segment over the caller's contacts (of one list's active members, with `list_id`).
        Invalid conditions are 422 naming the JSON pointer of the bad part."""
        segment = await segments.create_segment(
            principal,
            name=data.name,
            description=data.description,
            list_id=data.list_id,
            conditions=data.conditions,
            is_dynamic=data.is_dynamic,
        )
        return SegmentRead.of(segment)

    @get("", operation_id="listSegments", **access(Scope.READ_CONTACTS))
    async def list_segments(
        self, principal: CurrentPrincipal, segments: SegmentsApi, pagination: PageParameters
    ) -> OffsetPage[SegmentRead]:
        """The caller's segments, oldest first."""
        page = await segments.list_segments(
            principal, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, SegmentRead.of)

    @post(
        "/preview",
        operation_id="previewSegment",
        status_code=HTTP_200_OK,
        **access(Scope.READ_CONTACTS),
    )
    async def preview(
        self, principal: CurrentPrincipal, segments: SegmentsApi, data: JSONBody[PreviewRequest]
    ) -> PreviewRead:
        """How many contacts the conditions match, and the first of them; nothing is stored."""
        preview = await segments.preview(
            principal, data.conditions, list_id=data.list_id, limit=data.limit
        )
        return PreviewRead(
            count=preview.count, contacts=[ContactRead.of(c) for c in preview.contacts]
        )

    @get("/{segment_id:int}", operation_id="getSegment", **access(Scope.READ_CONTACTS))
    async def get_segment(
        self, principal: CurrentPrincipal, segments: SegmentsApi, segment_id: ResourceId
    ) -> SegmentRead:
        """One of the caller's segments."""
        return SegmentRead.of(await segments.get_segment(principal, segment_id))

    @patch("/{segment_id:int}", operation_id="updateSegment", **access(Scope.WRITE_CONTACTS))
    async def update(
        self,
        principal: CurrentPrincipal,
        segments: SegmentsApi,
        segment_id: ResourceId,
        data: JSONBody[SegmentUpdate],
    ) -> SegmentRead:
        """Change the fields sent; new conditions are checked like on create."""
        list_id = None if isinstance(data.list_id, msgspec.UnsetType) else data.list_id
        changes = SegmentChanges(
            name=data.name,
            description=data.description,
            conditions=data.conditions,
            list_id=list_id,
            clear_list=data.list_id is None,
            is_dynamic=data.is_dynamic,
        )
        return SegmentRead.of(await segments.update_segment(principal, segment_id, changes))

    @delete(
        "/{segment_id:int}",
        operation_id="deleteSegment",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_CONTACTS),
    )
    async def delete_segment(
        self, principal: CurrentPrincipal, segments: SegmentsApi, segment_id: ResourceId
    ) -> None:
        """Delete one of the caller's segments."""
        await segments.delete_segment(principal, segment_id)

    @get("/{segment_id:int}/count", operation_id="countSegment", **access(Scope.READ_CONTACTS))
    async def count(
        self, principal: CurrentPrincipal, segments: SegmentsApi, segment_id: ResourceId
    ) -> SegmentCountRead:
        """Recount now; the count and its time are stored (`cached_count`,
        `last_calculated_at`)."""
        counted = await segments.count_segment(principal, segment_id)
        return SegmentCountRead(count=counted.count, last_calculated_at=counted.calculated_at)
