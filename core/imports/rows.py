"""Reading an uploaded CSV as it streams in: lines, records, checked rows, batches.

The file arrives in chunks of bytes. Lines are cut at LF (a CRLF line keeps its CR, which the
csv module reads as part of the terminator) and fed to `csv.reader` one at a time; a record
spanning lines (a quoted newline) pulls the next line, and when a chunk ends inside one the
record is re-read once the next chunk is there. Every record therefore ends at a known byte
offset, which is what a resumed run starts after. Nothing but one chunk and one batch is held.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import functools
import re
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from openmailer.core.audience import policies
from openmailer.core.errors import DomainError, ValidationError
from openmailer.core.imports.model import (
    CUSTOM_FIELD_PREFIX,
    TARGET_FIELDS,
    Batch,
    Rejection,
    StagedContact,
)
from openmailer.core.ports.audience import EmailAddresses

BOM = codecs.BOM_UTF8
DELIMITERS = ",;\t"
SNIFF_BYTES = 64 * 1024
EXCERPT_CHARS = 200
MAX_FIELD_CHARS = 1024 * 1024  # a longer field is a rejected row, not a reader that gives up
TAG_SEPARATORS = re.compile(r"[,;|]")
MAX_FLAT_CHARS = policies.MAX_CUSTOM_FIELDS_BYTES
# The reader lets the batches being committed send their next statement this often: it runs
# while they wait on the database, and would otherwise hold the event loop for a whole chunk.
ROWS_BETWEEN_YIELDS = 500
ADDRESS_HEADERS = {"email", "e-mail", "email address", "email_address", "mail"}


class UnreadableFile(DomainError):
    """A problem with the whole file (not text, no email column): nothing is imported."""

    code = "unreadable_file"


class _NeedMore(Exception):
    """The lines read so far end inside a record; the next chunk is needed."""


@dataclass
class _LineFeed:
    """The iterator `csv.reader` reads: lines of the current chunks, and the ones the current
    record took (put back when the record is cut by the end of a chunk)."""

    pending: deque[tuple[str, int]] = field(default_factory=deque)
    taken: list[tuple[str, int]] = field(default_factory=list)
    finished: bool = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self.pending:
            if self.finished:
                raise StopIteration
            raise _NeedMore
        line = self.pending.popleft()
        self.taken.append(line)
        return line[0]

    def record_done(self) -> list[tuple[str, int]]:
        """The lines of the record just read (see `size_of` and `excerpt_of`)."""
        taken, self.taken = self.taken, []
        return taken

    def put_back(self) -> None:
        self.pending.extendleft(reversed(self.taken))
        self.taken.clear()


def size_of(taken: list[tuple[str, int]]) -> int:
    """The bytes of a record's lines."""
    return taken[0][1] if len(taken) == 1 else sum(nbytes for _, nbytes in taken)


def excerpt_of(taken: list[tuple[str, int]]) -> str:
    """A record's raw text, cut short, for a rejection (made only for those)."""
    excerpt = "".join(text for text, _ in taken[:3])[:EXCERPT_CHARS]
    return excerpt.rstrip("\r\n")


async def check_text(chunks: AsyncIterator[bytes]) -> None:
    """The whole file is UTF-8 text without NUL bytes, or UnreadableFile before anything is
    imported (a fatal problem must import nothing, so it is looked for first)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    async for chunk in chunks:
        if b"\x00" in chunk:
            raise UnreadableFile(
                f"the file is binary, not CSV text (a NUL byte near byte {offset + chunk.index(0)})"
            )
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise UnreadableFile(
                f"the file is not UTF-8 text (byte {offset + error.start} cannot be decoded)"
            ) from None
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UnreadableFile("the file is not UTF-8 text (it ends inside a character)") from None
    if offset == 0:
        raise UnreadableFile("the file is empty")


def detect_delimiter(sample: bytes) -> str:
    text = sample.removeprefix(BOM).decode("utf-8", errors="ignore")
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


@dataclass(frozen=True, slots=True)
class Columns:
    """Which field of a record goes where."""

    email: int
    first_name: int | None
    last_name: int | None
    tags: int | None
    custom: tuple[tuple[str, int], ...]
    width: int
    custom_overhead: int = 0  # what the custom fields' JSON adds: keys, quotes, separators


def columns_of(header: list[str], mapping: dict[str, str]) -> Columns:
    names = [name.strip() for name in header]
    if not mapping:
        mapping = {}
        for name in names:
            lowered = name.lower()
            if lowered in ADDRESS_HEADERS:
                mapping[name] = "email"
            elif lowered in TARGET_FIELDS:
                mapping[name] = lowered
    position = {name: index for index, name in enumerate(names)}
    missing = [column for column in mapping if column not in position]
    if missing:
        raise UnreadableFile(
            f"the header has no column {', '.join(map(repr, missing))} (it has "
            f"{', '.join(map(repr, names))})"
        )
    by_target = {target: position[column] for column, target in mapping.items()}
    if "email" not in by_target:
        raise UnreadableFile(
            "no column holds the email address: map one to `email` (the header is "
            f"{', '.join(map(repr, names))})"
        )
    custom = tuple(
        (target.removeprefix(CUSTOM_FIELD_PREFIX), index)
        for target, index in by_target.items()
        if target.startswith(CUSTOM_FIELD_PREFIX)
    )
    return Columns(
        email=by_target["email"],
        first_name=by_target.get("first_name"),
        last_name=by_target.get("last_name"),
        tags=by_target.get("tags"),
        custom=custom,
        width=len(names),
        custom_overhead=sum(len(key) + 6 for key, _ in custom),
    )


def check_mapping(mapping: dict[str, str]) -> dict[str, str]:
    """Targets are known and each is named once (422 otherwise)."""
    seen: set[str] = set()
    for column, target in mapping.items():
        custom = target.startswith(CUSTOM_FIELD_PREFIX) and len(target) > len(CUSTOM_FIELD_PREFIX)
        if not column or (target not in TARGET_FIELDS and not custom):
            raise ValidationError(
                f"column {column!r} maps to {target!r}: a target is one of "
                f"{', '.join(TARGET_FIELDS)} or custom_fields.<key>",
                field="mapping",
                code="invalid_mapping",
            )
        if target in seen:
            raise ValidationError(
                f"two columns map to {target!r}", field="mapping", code="invalid_mapping"
            )
        seen.add(target)
    custom_count = sum(1 for target in seen if target.startswith(CUSTOM_FIELD_PREFIX))
    if custom_count > policies.MAX_CUSTOM_FIELD_KEYS:
        raise ValidationError(
            f"at most {policies.MAX_CUSTOM_FIELD_KEYS} custom fields",
            field="mapping",
            code="invalid_mapping",
        )
    if mapping and "email" not in seen:
        raise ValidationError(
            "the mapping names no email column", field="mapping", code="invalid_mapping"
        )
    return mapping


def _name(record: list[str], index: int | None, label: str) -> str | None:
    if index is None:
        return None
    value = record[index].strip()
    if len(value) > policies.MAX_NAME_CHARS:
        raise ValidationError(f"{label} is longer than {policies.MAX_NAME_CHARS} characters")
    return value or None


@functools.lru_cache(maxsize=4096)
def _tags_of(field: str) -> tuple[str, ...]:
    """A tags field's tags (ValidationError when one is not a tag). Files repeat the same few
    combinations on most rows, so each is split and checked once."""
    parts = (part.strip() for part in TAG_SEPARATORS.split(field))
    return policies.clean_tags([part for part in parts if part])


def stage(
    record: list[str], line: int, columns: Columns, addresses: EmailAddresses
) -> StagedContact:
    """The record as a contact, or ValidationError saying what is wrong with it."""
    if len(record) != columns.width:
        raise ValidationError(f"expected {columns.width} fields, found {len(record)}")
    raw_email = record[columns.email]
    if len(raw_email) > 320:
        raise ValidationError("the email address is longer than 320 characters")
    email = addresses.normalize(raw_email)
    custom: dict[str, Any] = {}
    for key, index in columns.custom:
        if value := record[index].strip():
            custom[key] = value
    # Flat strings: their JSON is at most six bytes a character (\uXXXX escapes) plus quotes
    # and separators, and no longer than the whole record's fields with the keys, so only a
    # long row needs the full check.
    if (sum(map(len, record)) + columns.custom_overhead) * 6 > MAX_FLAT_CHARS:
        policies.check_custom_fields(custom)
    tags: list[str] = []
    if columns.tags is not None and record[columns.tags]:
        tags = list(_tags_of(record[columns.tags]))
    return StagedContact(
        line,
        email,
        _name(record, columns.first_name, "first_name"),
        _name(record, columns.last_name, "last_name"),
        custom,
        tags,
    )


async def read_batches(
    chunks: AsyncIterator[bytes],
    *,
    delimiter: str,
    mapping: dict[str, str],
    addresses: EmailAddresses,
    batch_size: int,
    skip_to_offset: int = 0,
) -> AsyncGenerator[Batch, None]:
    """The file's data rows in batches of up to `batch_size` rows; rows ending at or before
    `skip_to_offset` (a resumed run's committed work) are read but not yielded again."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    feed = _LineFeed()
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    offset = line = 0
    rest = b""
    first = True
    columns: Columns | None = None
    contacts: list[StagedContact] = []
    rejections: list[Rejection] = []
    rows = 0
    start = skip_to_offset

    def add_lines(data: bytes) -> bytes:
        *complete, tail = data.split(b"\n")
        if data.isascii():  # a character a byte: the chunk is decoded once
            feed.pending.extend(
                (line + "\n", len(line) + 1) for line in data.decode().split("\n")[:-1]
            )
            return tail
        for raw in complete:
            feed.pending.append((raw.decode() + "\n", len(raw) + 1))
        return tail

    async def more() -> bool:
        nonlocal rest, first, offset
        async for chunk in chunks:
            if first:
                first = False
                if chunk.startswith(BOM):
                    offset, chunk = len(BOM), chunk[len(BOM) :]
            rest = add_lines(rest + chunk)
            if feed.pending:
                return True
        if rest:
            feed.pending.append((rest.decode(), len(rest)))
            rest = b""
        feed.finished = True
        return False

    await more()
    while True:
        try:
            record = next(reader)
        except _NeedMore:
            feed.put_back()
            await more()
            continue
        except StopIteration:
            break
        except csv.Error as error:
            taken = feed.record_done()
            record_line, offset, line = line + 1, offset + size_of(taken), line + len(taken)
            if columns is None:
                raise UnreadableFile(f"the header cannot be read: {error}") from None
            if offset > skip_to_offset:
                rows += 1
                reason = f"malformed CSV: {error}"
                rejections.append(Rejection(record_line, reason, excerpt_of(taken)))
            continue
        taken = feed.record_done()
        record_line, offset, line = line + 1, offset + size_of(taken), line + len(taken)
        if columns is None:
            if not record:
                continue
            columns = columns_of(record, mapping)
            continue
        if not record or offset <= skip_to_offset:
            continue
        rows += 1
        if not rows % ROWS_BETWEEN_YIELDS:
            await asyncio.sleep(0)
        try:
            contacts.append(stage(record, record_line, columns, addresses))
        except ValidationError as error:
            rejections.append(Rejection(record_line, error.detail, excerpt_of(taken)))
        if len(contacts) + len(rejections) >= batch_size:
            yield Batch(contacts, rejections, rows, offset, line, start_offset=start)
            contacts, rejections, rows, start = [], [], 0, offset
    if columns is None:
        raise UnreadableFile("the file has no header row")
    # Only what follows the last full batch: an empty batch ending where that one ends would
    # take its place (the lock keyed by the end offset) while that one still holds it.
    if rows or offset > start:
        yield Batch(contacts, rejections, rows, offset, line, last=True, start_offset=start)
