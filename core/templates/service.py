"""The templates area bound to its ports once: what the controllers (and the messages area,
for a message sent with a template) call."""

from __future__ import annotations

from dataclasses import dataclass

from openmailer.core.accounts.model import Principal
from openmailer.core.pages import Page
from openmailer.core.ports.audience import ContactRepository
from openmailer.core.ports.rendering import MessageRenderer
from openmailer.core.ports.templates import TemplateRepository
from openmailer.core.templates.model import (
    RenderedPreview,
    SampleRecipient,
    Template,
    TemplateChanges,
    TemplateContent,
    TemplateSettings,
    TemplateVersion,
)
from openmailer.core.templates.services import templates as use_cases


@dataclass(frozen=True)
class TemplatesPorts:
    templates: TemplateRepository
    contacts: ContactRepository
    renderer: MessageRenderer
    base_url: str


class TemplatesService:
    def __init__(self, ports: TemplatesPorts) -> None:
        self.ports = ports

    async def create_template(
        self, principal: Principal, settings: TemplateSettings, content: TemplateContent
    ) -> Template:
        p = self.ports
        return await use_cases.create_template(
            principal,
            settings,
            content,
            templates=p.templates,
            renderer=p.renderer,
            base_url=p.base_url,
        )

    async def get_template(self, principal: Principal, template_id: int) -> Template:
        return await use_cases.get_template(principal, template_id, templates=self.ports.templates)

    async def list_templates(
        self, principal: Principal, *, limit: int, offset: int
    ) -> Page[Template]:
        return await use_cases.list_templates(
            principal, limit=limit, offset=offset, templates=self.ports.templates
        )

    async def update_template(
        self, principal: Principal, template_id: int, changes: TemplateChanges
    ) -> Template:
        p = self.ports
        return await use_cases.update_template(
            principal,
            template_id,
            changes,
            templates=p.templates,
            renderer=p.renderer,
            base_url=p.base_url,
        )

    async def delete_template(self, principal: Principal, template_id: int) -> None:
        await use_cases.delete_template(principal, template_id, templates=self.ports.templates)

    async def list_versions(
        self, principal: Principal, template_id: int, *, limit: int, offset: int
    ) -> Page[TemplateVersion]:
        return await use_cases.list_versions(
            principal, template_id, limit=limit, offset=offset, templates=self.ports.templates
        )

    async def get_version(
        self, principal: Principal, template_id: int, version: int
    ) -> TemplateVersion:
        return await use_cases.get_version(
            principal, template_id, version, templates=self.ports.templates
        )

    async def preview(
        self,
        principal: Principal,
        template_id: int,
        *,
        version: int | None,
        contact_id: int | None,
        sample: SampleRecipient | None,
    ) -> RenderedPreview:
        p = self.ports
        return await use_cases.preview_template(
            principal,
            template_id,
            version=version,
            contact_id=contact_id,
            sample=sample,
            templates=p.templates,
            contacts=p.contacts,
            renderer=p.renderer,
            base_url=p.base_url,
        )
