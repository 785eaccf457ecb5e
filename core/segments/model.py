"""Segment values the use cases return and the repository stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 10_000
MAX_PREVIEW_CONTACTS = 100


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    user_id: int
    list_id: int | None
    name: str
    description: str | None
    conditions: dict[str, Any]  # as the client sent it (checked when saved)
    is_dynamic: bool
    cached_count: int
    last_calculated_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewSegment:
    user_id: int
    name: str
    description: str | None
    list_id: int | None
    conditions: dict[str, Any]
    is_dynamic: bool


@dataclass(frozen=True, slots=True)
class SegmentChanges:
    """Only the fields the client sent; `list_id` may be set to None (not limited to a list)."""

    name: str | None = None
    description: str | None = None
    list_id: int | None = None
    clear_list: bool = False
    conditions: dict[str, Any] | None = None
    is_dynamic: bool | None = None


@dataclass(frozen=True, slots=True)
class ContactSummary:
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    status: str


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    contacts: list[ContactSummary]


@dataclass(frozen=True, slots=True)
class SegmentCount:
    count: int
    calculated_at: datetime
