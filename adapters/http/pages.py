"""The page schemas every list endpoint answers with, one generic shape per kind of page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from openmailer.core.pages import KeysetPage, Page

T = TypeVar("T")
Item = TypeVar("Item")


class OffsetPage(msgspec.Struct, Generic[T]):
    """`total` items in all; this page holds up to `limit` of them, after skipping `offset`."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[Item], read: Callable[[Item], T]) -> OffsetPage[T]:
        return cls(
            items=[read(item) for item in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


class CursorPage(msgspec.Struct, Generic[T]):
    """Pass `next_cursor` as `?cursor=` for the next page; it is null on the last one."""

    items: list[T]
    limit: int
    next_cursor: str | None

    @classmethod
    def of(cls, page: KeysetPage[Item], read: Callable[[Item], T]) -> CursorPage[T]:
        return cls(
            items=[read(item) for item in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )
