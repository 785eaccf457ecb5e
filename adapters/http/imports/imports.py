"""`/api/v1/imports`: CSV imports of contacts into a list (`write:contacts` / `read:contacts`).

`POST` streams the upload into PostgreSQL and answers 202 with the QUEUED job; a worker runs it.
`GET /{import_id}` shows its progress, `GET /{import_id}/errors` the rejected rows by line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_202_ACCEPTED

from openmailer.adapters.http.audience.contacts import Limit
from openmailer.adapters.http.audience.fields import AfterCursor
from openmailer.adapters.http.errors import problem_specs
from openmailer.adapters.http.imports.uploads import (
    UploadOperation,
    boundary_of,
    check_announced_size,
    form_parts,
)
from openmailer.adapters.http.pages import CursorPage, OffsetPage
from openmailer.adapters.http.pagination import DEFAULT_LIMIT, PageParameters, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Scope
from openmailer.core.imports.model import ImportJob, ImportMode, ImportStatus, Rejection
from openmailer.core.imports.service import ImportsService

ImportsApi = NamedDependency[ImportsService]
# The upload also answers 413 (too large) and 415 (not a form).
UPLOAD_ACCESS = access(Scope.WRITE_CONTACTS)
UPLOAD_ACCESS["responses"] = {**UPLOAD_ACCESS["responses"], **problem_specs(413, 415)}


class ImportRead(msgspec.Struct):
    id: int
    list_id: int
    status: ImportStatus
    mode: ImportMode
    mapping: dict[str, str]
    delimiter: str | None
    file_name: str | None
    upload_bytes: int
    rows_read: int
    inserted: int
    updated: int
    skipped: int
    rejected: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJob) -> ImportRead:
        counters = job.counters
        return cls(
            id=job.id,
            list_id=job.list_id,
            status=job.status,
            mode=job.mode,
            mapping=job.mapping,
            delimiter=job.delimiter,
            file_name=job.file_name,
            upload_bytes=job.upload_bytes,
            rows_read=counters.rows_read,
            inserted=counters.inserted,
            updated=counters.updated,
            skipped=counters.skipped,
            rejected=counters.rejected,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class RejectionRead(msgspec.Struct):
    line_number: int
    reason: str
    excerpt: str

    @classmethod
    def of(cls, rejection: Rejection) -> RejectionRead:
        return cls(line_number=rejection.line, reason=rejection.reason, excerpt=rejection.excerpt)


class ImportController(Controller):
    path = "/imports"
    tags = ["imports"]
    dependencies = {"imports": service_dependency("imports")}

    @post(
        "",
        operation_id="createImport",
        status_code=HTTP_202_ACCEPTED,
        operation_class=UploadOperation,
        # the limit is the import's own (OPENMAILER_IMPORT_MAX_BYTES), checked as it streams
        request_max_body_size=None,
        **UPLOAD_ACCESS,
    )
    async def create(
        self, request: Request[Any, Any, Any], principal: CurrentPrincipal, imports: ImportsApi
    ) -> ImportRead:
        """Upload a CSV (multipart/form-data: `file`, `list_id`, optional `mode`, `mapping`,
        `delimiter`). 202 with the QUEUED job; 413 past the size limit (nothing is kept)."""
        boundary = boundary_of(request)
        check_announced_size(request, imports.ports.max_upload_bytes)
        job = await imports.receive(principal, form_parts(request, boundary))
        return ImportRead.of(job)

    @get("", operation_id="listImports", **access(Scope.READ_CONTACTS))
    async def list_imports(
        self, principal: CurrentPrincipal, imports: ImportsApi, pagination: PageParameters
    ) -> OffsetPage[ImportRead]:
        """The caller's imports, newest first."""
        page = await imports.page(principal, limit=pagination.limit, offset=pagination.offset)
        return OffsetPage.of(page, ImportRead.of)

    @get("/{import_id:int}", operation_id="getImport", **access(Scope.READ_CONTACTS))
    async def get_import(
        self, principal: CurrentPrincipal, imports: ImportsApi, import_id: ResourceId
    ) -> ImportRead:
        """Status and counters (rows read, inserted, updated, skipped, rejected)."""
        return ImportRead.of(await imports.get(principal, import_id))

    @get("/{import_id:int}/errors", operation_id="listImportErrors", **access(Scope.READ_CONTACTS))
    async def list_errors(
        self,
        principal: CurrentPrincipal,
        imports: ImportsApi,
        import_id: ResourceId,
        after: AfterCursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> CursorPage[RejectionRead]:
        """The rejected rows by line number, with the reason, in keyset pages (`after`)."""
        page = await imports.rejections(principal, import_id, cursor=after, limit=limit)
        return CursorPage.of(page, RejectionRead.of)
