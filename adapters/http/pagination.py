"""Limit/offset pagination, the same on every list endpoint: `?limit=` (1..100, default 50)
and `?offset=` (0..1,000,000); the body carries `items`, `total`, `limit`, `offset`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import Parameter

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000
# Path ids are BIGINT; the bound is JSON's exact-integer limit so the OpenAPI document states it
# exactly. Anything above is a 4xx, never a database error.
MAX_ID = 2**53 - 1


@dataclass(frozen=True, slots=True)
class Pagination:
    limit: int
    offset: int


async def provide_pagination(
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="page size")] = DEFAULT_LIMIT,
    offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> Pagination:
    return Pagination(limit=limit, offset=offset)


PageParameters = NamedDependency[Pagination]
ResourceId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
