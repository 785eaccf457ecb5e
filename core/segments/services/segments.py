"""Saving, reading, counting and previewing segments; always within the caller's own contacts."""

from __future__ import annotations

from typing import Any

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import NotFound, ValidationError
from openmailer.core.pages import Page
from openmailer.core.ports.accounts import Clock
from openmailer.core.ports.segments import AudienceQuery, SegmentRepository
from openmailer.core.registry import Registry
from openmailer.core.segments.conditions import Group, parse_conditions
from openmailer.core.segments.model import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PREVIEW_CONTACTS,
    NewSegment,
    Preview,
    Segment,
    SegmentChanges,
    SegmentCount,
)
from openmailer.core.segments.operators import SegmentOperator

Operators = Registry[SegmentOperator]


def _not_found(segment_id: int) -> NotFound:
    return NotFound(f"segment {segment_id} not found", code="segment_not_found")


def _check_texts(name: str | None, description: str | None) -> None:
    if name is not None and not 1 <= len(name.strip()) <= MAX_NAME_LENGTH:
        raise ValidationError(f"a name has 1 to {MAX_NAME_LENGTH} characters", field="name")
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationError(
            f"a description has at most {MAX_DESCRIPTION_LENGTH} characters", field="description"
        )


async def _require_list(user_id: int, list_id: int | None, audience: AudienceQuery) -> None:
    """Another user's list answers like an absent one."""
    if list_id is not None and not await audience.list_exists(user_id, list_id):
        raise NotFound(f"list {list_id} not found", code="list_not_found")


async def create_segment(
    principal: Principal,
    *,
    name: str,
    description: str | None,
    list_id: int | None,
    conditions: dict[str, Any],
    is_dynamic: bool,
    segments: SegmentRepository,
    audience: AudienceQuery,
    operators: Operators,
) -> Segment:
    user_id = principal.user.id
    _check_texts(name, description)
    parse_conditions(conditions, operators)
    await _require_list(user_id, list_id, audience)
    return await segments.add(
        NewSegment(
            user_id=user_id,
            name=name.strip(),
            description=description,
            list_id=list_id,
            conditions=conditions,
            is_dynamic=is_dynamic,
        )
    )


async def get_segment(
    principal: Principal, segment_id: int, *, segments: SegmentRepository
) -> Segment:
    segment = await segments.get(principal.user.id, segment_id)
    if segment is None:
        raise _not_found(segment_id)
    return segment


async def list_segments(
    principal: Principal, *, limit: int, offset: int, segments: SegmentRepository
) -> Page[Segment]:
    return await segments.list_for_user(principal.user.id, limit=limit, offset=offset)


async def update_segment(
    principal: Principal,
    segment_id: int,
    changes: SegmentChanges,
    *,
    segments: SegmentRepository,
    audience: AudienceQuery,
    operators: Operators,
) -> Segment:
    user_id = principal.user.id
    # A foreign segment is 404 before anything about the body is judged.
    await get_segment(principal, segment_id, segments=segments)
    _check_texts(changes.name, changes.description)
    if changes.conditions is not None:
        parse_conditions(changes.conditions, operators)
    await _require_list(user_id, changes.list_id, audience)
    updated = await segments.update(user_id, segment_id, changes)
    if updated is None:
        raise _not_found(segment_id)
    return updated


async def delete_segment(
    principal: Principal, segment_id: int, *, segments: SegmentRepository
) -> None:
    if not await segments.delete(principal.user.id, segment_id):
        raise _not_found(segment_id)


async def count_segment(
    principal: Principal,
    segment_id: int,
    *,
    segments: SegmentRepository,
    audience: AudienceQuery,
    operators: Operators,
    clock: Clock,
) -> SegmentCount:
    """Recounts now and stores the count with its time (`cached_count`, `last_calculated_at`)."""
    user_id = principal.user.id
    segment = await get_segment(principal, segment_id, segments=segments)
    conditions = parse_conditions(segment.conditions, operators)
    count = await audience.count(user_id, conditions, list_id=segment.list_id)
    at = clock.now()
    if await segments.record_count(user_id, segment_id, count, at) is None:
        raise _not_found(segment_id)
    return SegmentCount(count=count, calculated_at=at)


async def preview_conditions(
    principal: Principal,
    conditions: dict[str, Any],
    *,
    list_id: int | None,
    limit: int,
    audience: AudienceQuery,
    operators: Operators,
) -> Preview:
    """How many contacts match and the first of them (by id); nothing is stored."""
    user_id = principal.user.id
    if not 1 <= limit <= MAX_PREVIEW_CONTACTS:
        raise ValidationError(f"limit is 1 to {MAX_PREVIEW_CONTACTS}", field="limit")
    parsed: Group = parse_conditions(conditions, operators)
    await _require_list(user_id, list_id, audience)
    count = await audience.count(user_id, parsed, list_id=list_id)
    contacts = await audience.first_contacts(user_id, parsed, list_id=list_id, limit=limit)
    return Preview(count=count, contacts=contacts)
