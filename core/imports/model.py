"""What an import is: its job (mode, mapping, progress) and the rows it reads, judged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class ImportMode(StrEnum):
    """`subscribe`: new addresses become SUBSCRIBED contacts, known ones are updated; both join
    the list. `update_only`: known contacts are updated and join the list, unknown ones are
    skipped. `unsubscribe`: known contacts become UNSUBSCRIBED and leave the list, unknown
    addresses are recorded as UNSUBSCRIBED contacts (a blocklist) without joining it."""

    SUBSCRIBE = "subscribe"
    UPDATE_ONLY = "update_only"
    UNSUBSCRIBE = "unsubscribe"


class ImportStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


# Targets a CSV column can be mapped to, besides `custom_fields.<key>`.
TARGET_FIELDS = ("email", "first_name", "last_name", "tags")
CUSTOM_FIELD_PREFIX = "custom_fields."


@dataclass(frozen=True, slots=True)
class Counters:
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.rows_read + other.rows_read,
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.skipped + other.skipped,
            self.rejected + other.rejected,
        )


@dataclass(frozen=True, slots=True)
class NewImportJob:
    list_id: int
    mode: ImportMode
    mapping: dict[str, str]  # CSV column -> target; empty: columns named like the targets
    delimiter: str | None  # None: detected
    file_name: str | None


@dataclass(frozen=True, slots=True)
class ImportJob:
    id: int
    user_id: int
    list_id: int
    status: ImportStatus
    mode: ImportMode
    mapping: dict[str, str]
    delimiter: str | None
    file_name: str | None
    upload_bytes: int
    counters: Counters
    error: str | None
    committed_offset: int
    committed_line: int
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class StagedContact(NamedTuple):
    """A row that passed every check, ready to be merged (a tuple: a large import makes
    millions of them, and a frozen dataclass's __init__ costs several times a tuple's)."""

    line: int
    email: str
    first_name: str | None
    last_name: str | None
    custom_fields: dict[str, Any]
    tags: list[str]


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str
    excerpt: str


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows read after `start_offset` (the resume point this batch follows) up to `end_offset`
    (the byte after the batch's last row) and `end_line`."""

    contacts: list[StagedContact]
    rejections: list[Rejection]
    rows_read: int
    end_offset: int
    end_line: int
    # no row of the file follows: its addresses need not be remembered for later batches
    last: bool = False
    start_offset: int = 0
    # the run's committed batches were all new to the account (`RunMemory.likely_new`): the
    # store may write these contacts as new without first asking which ones the account holds,
    # asking only if that fails
    likely_new: bool = False


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    inserted: int
    updated: int
    skipped: int
    duplicates: list[Rejection]


@dataclass(frozen=True, slots=True)
class BatchOrder:
    """Where a batch stands among those of a run committing at once, which commit in file order.

    `placed` is set once the batch holds its place (a lock the next batch waits on where the
    database sees it, so a concurrent edit caught between the two is found a deadlock);
    `follows` is the previous batch's `placed`; `turn` is set when the previous batch has
    committed and been reported. An error set on either rolls the batch back."""

    placed: asyncio.Future[None]
    follows: asyncio.Future[None] | None = None
    turn: asyncio.Future[None] | None = None
