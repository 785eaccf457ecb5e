"""`/api/v1/templates`: the caller's templates, their immutable versions, and previews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from openmailer.adapters.http.pages import OffsetPage
from openmailer.adapters.http.pagination import MAX_ID, PageParameters, ResourceId
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.adapters.http.services import service_dependency
from openmailer.core.accounts.scopes import Scope
from openmailer.core.templates.model import (
    MAX_BODY_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_PREVIEW_TEXT_CHARS,
    MAX_SUBJECT_CHARS,
    SampleRecipient,
    Template,
    TemplateChanges,
    TemplateContent,
    TemplateSettings,
    TemplateType,
    TemplateVersion,
)
from openmailer.core.templates.service import TemplatesService

# Lengths are bounded here (400 beyond them, as every body), except html and text: their limit
# is the core's 422, since a request far beyond it is the app's 413 before any schema is read.
# CR/LF in a subject, an empty subject or a part sender_rs cannot compile are 422s naming it.
Name = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"\S", examples=["Welcome"])
]
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION_CHARS)]
Subject = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_SUBJECT_CHARS, examples=["Welcome, {{ first_name | default: 'friend' }}"]
    ),
]
Body = Annotated[str, msgspec.Meta(description=f"at most {MAX_BODY_CHARS:,} characters")]
PreviewText = Annotated[str, msgspec.Meta(max_length=MAX_PREVIEW_TEXT_CHARS)]
# email_template_versions.version is INT.
VERSION_MAX = 2**31 - 1
VersionNumber = Annotated[int, Parameter(ge=1, le=VERSION_MAX)]
TemplatesApi = NamedDependency[TemplatesService]


class TemplateCreate(msgspec.Struct):
    """`html` (with optional `text`; derived from the HTML when absent) for an HTML template;
    `text` alone with `is_html: false`. Variables: `first_name`, `last_name`, `email`,
    `custom.<path>`, `unsubscribe_url`, `preferences_url`, each with `| default: "..."`."""

    name: Name
    subject: Subject
    html: Body | None = None
    text: Body | None = None
    preview_text: PreviewText | None = None
    description: Description | None = None
    template_type: TemplateType = TemplateType.CUSTOM
    is_html: bool = True
    is_active: bool = True


class TemplateUpdate(msgspec.Struct):
    """Only the fields sent change; `null` clears html, text, preview_text or description. New
    content makes version N+1; name, description, type, is_html and is_active alone do not."""

    name: Name | None = None
    subject: Subject | None = None
    html: Body | msgspec.UnsetType | None = msgspec.UNSET
    text: Body | msgspec.UnsetType | None = msgspec.UNSET
    preview_text: PreviewText | msgspec.UnsetType | None = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    template_type: TemplateType | None = None
    is_html: bool | None = None
    is_active: bool | None = None

    def changes(self) -> TemplateChanges:
        nullable = ("html", "text", "preview_text", "description")
        given = {name: getattr(self, name) for name in nullable}
        return TemplateChanges(
            name=self.name,
            subject=self.subject,
            template_type=None if self.template_type is None else self.template_type.value,
            is_html=self.is_html,
            is_active=self.is_active,
            cleared=frozenset(name for name, value in given.items() if value is None),
            **{
                name: None if isinstance(value, msgspec.UnsetType) else value
                for name, value in given.items()
            },
        )


class ContentRead(msgspec.Struct):
    subject: str
    html: str | None
    text: str | None
    preview_text: str | None

    @classmethod
    def of(cls, content: TemplateContent) -> ContentRead:
        return cls(
            subject=content.subject,
            html=content.html,
            text=content.text,
            preview_text=content.preview_text,
        )


class TemplateRead(msgspec.Struct):
    """`version` is the current one; `subject`, `html`, `text`, `preview_text` are its."""

    id: int
    name: str
    description: str | None
    template_type: str
    is_html: bool
    is_active: bool
    version: int
    subject: str
    html: str | None
    text: str | None
    preview_text: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, template: Template) -> TemplateRead:
        content = template.content
        return cls(
            id=template.id,
            name=template.name,
            description=template.description,
            template_type=template.template_type,
            is_html=template.is_html,
            is_active=template.is_active,
            version=template.version,
            subject=content.subject,
            html=content.html,
            text=content.text,
            preview_text=content.preview_text,
            created_at=template.created_at,
            updated_at=template.updated_at,
        )


class VersionRead(msgspec.Struct):
    template_id: int
    version: int
    subject: str
    html: str | None
    text: str | None
    preview_text: str | None
    created_at: datetime
    created_by: int | None

    @classmethod
    def of(cls, version: TemplateVersion) -> VersionRead:
        content = version.content
        return cls(
            template_id=version.template_id,
            version=version.version,
            subject=content.subject,
            html=content.html,
            text=content.text,
            preview_text=content.preview_text,
            created_at=version.created_at,
            created_by=version.created_by,
        )


class PreviewRequest(msgspec.Struct):
    """Exactly one of `contact_id` (one of the caller's contacts: its first_name, last_name,
    email, and custom fields as `custom.*`) or `variables` (sample `custom.*` values, with the
    optional sample `email`, `first_name`, `last_name`)."""

    contact_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)] | None = None
    variables: dict[str, Any] | None = None
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=255)] | None = None
    first_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    last_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None

    def sample(self) -> SampleRecipient | None:
        if self.variables is None:
            return None
        return SampleRecipient(
            email=self.email or "preview@example.com",
            first_name=self.first_name,
            last_name=self.last_name,
            custom=self.variables,
        )


class PreviewRead(msgspec.Struct):
    subject: str
    html: str
    text: str


class TemplateController(Controller):
    path = "/templates"
    tags = ["templates"]
    dependencies = {"templates": service_dependency("templates")}

    @post(
        "",
        operation_id="createTemplate",
        status_code=HTTP_201_CREATED,
        **access(Scope.WRITE_TEMPLATES),
    )
    async def create(
        self, principal: CurrentPrincipal, templates: TemplatesApi, data: JSONBody[TemplateCreate]
    ) -> TemplateRead:
        """Version 1 of a new template, compiled by sender_rs first: an unknown variable or a
        malformed tag is a 422 naming the part, line and column. A name the caller already
        uses is a 409 naming that template's id."""
        settings = TemplateSettings(
            name=data.name,
            description=data.description,
            template_type=data.template_type.value,
            is_html=data.is_html,
            is_active=data.is_active,
        )
        content = TemplateContent(
            subject=data.subject, html=data.html, text=data.text, preview_text=data.preview_text
        )
        return TemplateRead.of(await templates.create_template(principal, settings, content))

    @get("", operation_id="listTemplates", **access(Scope.READ_TEMPLATES))
    async def list_templates(
        self, principal: CurrentPrincipal, templates: TemplatesApi, pagination: PageParameters
    ) -> OffsetPage[TemplateRead]:
        """The caller's templates, oldest first, each with its current version's content."""
        page = await templates.list_templates(
            principal, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, TemplateRead.of)

    @get("/{template_id:int}", operation_id="getTemplate", **access(Scope.READ_TEMPLATES))
    async def get_template(
        self, principal: CurrentPrincipal, templates: TemplatesApi, template_id: ResourceId
    ) -> TemplateRead:
        """One of the caller's templates."""
        return TemplateRead.of(await templates.get_template(principal, template_id))

    @patch("/{template_id:int}", operation_id="updateTemplate", **access(Scope.WRITE_TEMPLATES))
    async def update(
        self,
        principal: CurrentPrincipal,
        templates: TemplatesApi,
        template_id: ResourceId,
        data: JSONBody[TemplateUpdate],
    ) -> TemplateRead:
        """Change the fields sent. Content that differs from the current version is compiled
        and stored as version N+1 (concurrent edits get consecutive numbers)."""
        return TemplateRead.of(
            await templates.update_template(principal, template_id, data.changes())
        )

    @delete(
        "/{template_id:int}",
        operation_id="deleteTemplate",
        status_code=HTTP_204_NO_CONTENT,
        **access(Scope.WRITE_TEMPLATES),
    )
    async def delete_template(
        self, principal: CurrentPrincipal, templates: TemplatesApi, template_id: ResourceId
    ) -> None:
        """Delete a template and its versions; 409 while a campaign uses it."""
        await templates.delete_template(principal, template_id)

    @get(
        "/{template_id:int}/versions",
        operation_id="listTemplateVersions",
        **access(Scope.READ_TEMPLATES),
    )
    async def list_versions(
        self,
        principal: CurrentPrincipal,
        templates: TemplatesApi,
        template_id: ResourceId,
        pagination: PageParameters,
    ) -> OffsetPage[VersionRead]:
        """Every version of the template, newest first."""
        page = await templates.list_versions(
            principal, template_id, limit=pagination.limit, offset=pagination.offset
        )
        return OffsetPage.of(page, VersionRead.of)

    @get(
        "/{template_id:int}/versions/{version:int}",
        operation_id="getTemplateVersion",
        **access(Scope.READ_TEMPLATES),
    )
    async def get_version(
        self,
        principal: CurrentPrincipal,
        templates: TemplatesApi,
        template_id: ResourceId,
        version: VersionNumber,
    ) -> VersionRead:
        """One version of the template, as it was saved."""
        return VersionRead.of(await templates.get_version(principal, template_id, version))

    @post(
        "/{template_id:int}/preview",
        operation_id="previewTemplate",
        status_code=HTTP_200_OK,
        **access(Scope.READ_TEMPLATES),
    )
    async def preview(
        self,
        principal: CurrentPrincipal,
        templates: TemplatesApi,
        template_id: ResourceId,
        data: JSONBody[PreviewRequest],
        version: Annotated[
            int | None, Parameter(ge=1, le=VERSION_MAX, description="this version, not the current")
        ] = None,
    ) -> PreviewRead:
        """The subject, HTML and text rendered by sender_rs for a contact or sample data;
        nothing is sent or stored."""
        rendered = await templates.preview(
            principal,
            template_id,
            version=version,
            contact_id=data.contact_id,
            sample=data.sample(),
        )
        return PreviewRead(subject=rendered.subject, html=rendered.html, text=rendered.text)
