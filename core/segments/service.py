"""The segments area bound to its ports once: what the controllers call.

The operator registry is the one the plugins filled at start-up (`register_segment_operators`);
saving a segment checks its conditions against it, counting compiles them with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.segments import AudienceQuery, SegmentRepository
from openmailer.core.registry import Registry
from openmailer.core.segments.model import Preview, Segment, SegmentChanges, SegmentCount
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.segments.services import segments as use_cases


@dataclass(frozen=True)
class SegmentsPorts:
    segments: SegmentRepository
    audience: AudienceQuery
    operators: Registry[SegmentOperator]
    clock: Clock


class SegmentsService:
    def __init__(self, ports: SegmentsPorts) -> None:
        self.ports = ports

    async def create_segment(
        self,
        principal: Principal,
        *,
        name: str,
        description: str | None,
        list_id: int | None,
        conditions: dict[str, Any],
        is_dynamic: bool,
    ) -> Segment:
        p = self.ports
        return await use_cases.create_segment(
            principal,
            name=name,
            description=description,
            list_id=list_id,
            conditions=conditions,
            is_dynamic=is_dynamic,
            segments=p.segments,
            audience=p.audience,
            operators=p.operators,
        )

    async def get_segment(self, principal: Principal, segment_id: int) -> Segment:
        return await use_cases.get_segment(principal, segment_id, segments=self.ports.segments)

    async def list_segments(
        self, principal: Principal, *, limit: int, offset: int
    ) -> Page[Segment]:
        return await use_cases.list_segments(
            principal, limit=limit, offset=offset, segments=self.ports.segments
        )

    async def update_segment(
        self, principal: Principal, segment_id: int, changes: SegmentChanges
    ) -> Segment:
        p = self.ports
        return await use_cases.update_segment(
            principal,
            segment_id,
            changes,
            segments=p.segments,
            audience=p.audience,
            operators=p.operators,
        )

    async def delete_segment(self, principal: Principal, segment_id: int) -> None:
        await use_cases.delete_segment(principal, segment_id, segments=self.ports.segments)

    async def count_segment(self, principal: Principal, segment_id: int) -> SegmentCount:
        p = self.ports
        return await use_cases.count_segment(
            principal,
            segment_id,
            segments=p.segments,
            audience=p.audience,
            operators=p.operators,
            clock=p.clock,
        )

    async def preview(
        self,
        principal: Principal,
        conditions: dict[str, Any],
        *,
        list_id: int | None,
        limit: int,
    ) -> Preview:
        p = self.ports
        return await use_cases.preview_conditions(
            principal,
            conditions,
            list_id=list_id,
            limit=limit,
            audience=p.audience,
            operators=p.operators,
        )
