"""Ports of the segments area: where segments are stored, and how conditions reach contacts.

`FieldSql` is the facade an operator's `sql` function receives (see
`openmailer.core.segments.operators`): the rule's field as SQLAlchemy expressions, built by the
db adapter. Its methods return SQLAlchemy `ColumnElement`s, typed `Any` because core imports no
third-party package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from openmailer.core.pages import Page
from openmailer.core.segments.conditions import Group
from openmailer.core.segments.model import (
    ContactSummary,
    NewSegment,
    Segment,
    SegmentChanges,
)
from openmailer.core.segments.operators import Engagement, FieldKind

__all__ = ["AudienceQuery", "FieldSql", "SegmentRepository"]


class FieldSql(Protocol):
    """The rule's field in SQL. Which methods apply depends on `kind`; others raise TypeError."""

    @property
    def kind(self) -> FieldKind: ...

    def value(self) -> Any:
        """TEXT, TIMESTAMP: the column; TAGS: the TEXT[] column; CUSTOM: the text at the path
        (`->>`: a JSON string's content, a number's or boolean's spelling)."""

    def number(self) -> Any:
        """CUSTOM: the value at the path as NUMERIC, NULL unless it is a JSON number."""

    def date_text(self) -> Any:
        """CUSTOM: the text at the path, NULL unless it starts like an ISO date (YYYY-MM-DD), in
        the "C" collation so that comparing it with an ISO string compares dates."""

    def json_type(self) -> Any:
        """CUSTOM: `jsonb_typeof` of the value at the path (NULL when absent)."""

    def contains(self, value: Any) -> Any:
        """GIN-served containment. TAGS: `tags @> ARRAY[value]`. CUSTOM: `custom_fields @>` the
        document holding `value` at the path (a list value: an array holding those items)."""

    def overlaps(self, values: list[Any]) -> Any:
        """TAGS: `tags && ARRAY[values]`. CUSTOM: the value at the path is one of `values`
        (containment of each, OR-ed: every branch is GIN-served)."""

    def present(self) -> Any:
        """Not empty: TEXT non-null and not ''; TAGS a non-empty array; TIMESTAMP non-null;
        CUSTOM present, not JSON null, not '' and not [] or {}; MEMBERSHIP in any active list;
        ENGAGEMENT opened/clicked any campaign."""

    def member_of(self, list_ids: list[int]) -> Any:
        """MEMBERSHIP: an ACTIVE member of one of these lists of the caller."""

    def engaged(self, engagement: Engagement) -> Any:
        """ENGAGEMENT: opened (or clicked) the campaign (any when None), in the last N days (ever
        when None), per `campaign_recipients`."""


class SegmentRepository(Protocol):
    async def add(self, segment: NewSegment) -> Segment: ...

    async def get(self, user_id: int, segment_id: int) -> Segment | None: ...

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Segment]: ...

    async def update(
        self, user_id: int, segment_id: int, changes: SegmentChanges
    ) -> Segment | None: ...

    async def delete(self, user_id: int, segment_id: int) -> bool: ...

    async def record_count(
        self, user_id: int, segment_id: int, count: int, at: datetime
    ) -> Segment | None: ...


class AudienceQuery(Protocol):
    """Conditions compiled to SQL over one user's contacts (and, if given, one list's active
    members)."""

    async def list_exists(self, user_id: int, list_id: int) -> bool: ...

    async def count(self, user_id: int, conditions: Group, *, list_id: int | None) -> int: ...

    async def first_contacts(
        self, user_id: int, conditions: Group, *, list_id: int | None, limit: int
    ) -> list[ContactSummary]: ...
