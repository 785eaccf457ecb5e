"""Saving, reading, versioning and previewing templates; always the caller's own."""

from __future__ import annotations

from openmailer.core.accounts.model import Principal
from openmailer.core.errors import Conflict, NotFound, ValidationError
from openmailer.core.pages import Page
from openmailer.core.ports.audience import ContactRepository
from openmailer.core.ports.rendering import MessageRenderer
from openmailer.core.ports.templates import TemplateDeletion, TemplateRepository
from openmailer.core.templates.model import (
    NewTemplate,
    RenderedPreview,
    SampleRecipient,
    Template,
    TemplateChanges,
    TemplateContent,
    TemplateRevision,
    TemplateSettings,
    TemplateVersion,
    check_content,
    check_settings,
)
from openmailer.core.templates.services.compiling import compile_content, render_preview

SAMPLE_EMAIL = "preview@example.com"


def template_not_found(template_id: int) -> NotFound:
    return NotFound(f"template {template_id} not found", code="template_not_found")


def _checked(
    settings: TemplateSettings,
    content: TemplateContent,
    *,
    renderer: MessageRenderer,
    base_url: str,
) -> None:
    check_settings(settings)
    check_content(content, is_html=settings.is_html)
    compile_content(content, renderer=renderer, base_url=base_url)


async def create_template(
    principal: Principal,
    settings: TemplateSettings,
    content: TemplateContent,
    *,
    templates: TemplateRepository,
    renderer: MessageRenderer,
    base_url: str,
) -> Template:
    _checked(settings, content, renderer=renderer, base_url=base_url)
    named = TemplateSettings(
        name=settings.name.strip(),
        description=settings.description,
        template_type=settings.template_type,
        is_html=settings.is_html,
        is_active=settings.is_active,
    )
    return await templates.add(NewTemplate(principal.user.id, named, content))


async def get_template(
    principal: Principal, template_id: int, *, templates: TemplateRepository
) -> Template:
    template = await templates.get(principal.user.id, template_id)
    if template is None:
        raise template_not_found(template_id)
    return template


async def list_templates(
    principal: Principal, *, limit: int, offset: int, templates: TemplateRepository
) -> Page[Template]:
    return await templates.list_for_user(principal.user.id, limit=limit, offset=offset)


async def update_template(
    principal: Principal,
    template_id: int,
    changes: TemplateChanges,
    *,
    templates: TemplateRepository,
    renderer: MessageRenderer,
    base_url: str,
) -> Template:
    """Content that differs from the current version is version N+1; settings alone (name,
    description, type, is_html, is_active) change the row and make no version."""

    def revision_of(current: Template) -> TemplateRevision:
        settings, content = changes.applied_to(current)
        settings = TemplateSettings(
            name=settings.name.strip(),
            description=settings.description,
            template_type=settings.template_type,
            is_html=settings.is_html,
            is_active=settings.is_active,
        )
        _checked(settings, content, renderer=renderer, base_url=base_url)
        return TemplateRevision(
            settings=settings, content=None if content == current.content else content
        )

    revised = await templates.revise(
        principal.user.id, template_id, revision_of, edited_by=principal.user.id
    )
    if revised is None:
        raise template_not_found(template_id)
    return revised


async def delete_template(
    principal: Principal, template_id: int, *, templates: TemplateRepository
) -> None:
    outcome = await templates.delete(principal.user.id, template_id)
    if outcome is TemplateDeletion.ABSENT:
        raise template_not_found(template_id)
    if outcome is TemplateDeletion.IN_USE:
        raise Conflict(
            f"template {template_id} is used by a campaign; delete the campaign first",
            code="template_in_use",
        )


async def list_versions(
    principal: Principal,
    template_id: int,
    *,
    limit: int,
    offset: int,
    templates: TemplateRepository,
) -> Page[TemplateVersion]:
    page = await templates.versions(principal.user.id, template_id, limit=limit, offset=offset)
    if page is None:
        raise template_not_found(template_id)
    return page


async def get_version(
    principal: Principal, template_id: int, version: int, *, templates: TemplateRepository
) -> TemplateVersion:
    found = await templates.version(principal.user.id, template_id, version)
    if found is None:
        await get_template(principal, template_id, templates=templates)
        raise NotFound(
            f"template {template_id} has no version {version}", code="template_version_not_found"
        )
    return found


async def content_for_send(
    principal: Principal,
    template_id: int,
    version: int | None,
    *,
    templates: TemplateRepository,
) -> TemplateContent:
    """The content a message sends: the current version, or the one asked for. Another user's
    template is absent (404); an inactive one, or a version it never had, is the caller's 422."""
    template = await get_template(principal, template_id, templates=templates)
    if not template.is_active:
        raise ValidationError(
            f"template {template_id} is not active", field="template_id", code="template_inactive"
        )
    if version is None or version == template.version:
        return template.content
    found = await templates.version(principal.user.id, template_id, version)
    if found is None:
        raise ValidationError(
            f"template {template_id} has no version {version}",
            field="template_version",
            code="template_version_not_found",
        )
    return found.content


async def preview_template(
    principal: Principal,
    template_id: int,
    *,
    version: int | None,
    contact_id: int | None,
    sample: SampleRecipient | None,
    templates: TemplateRepository,
    contacts: ContactRepository,
    renderer: MessageRenderer,
    base_url: str,
) -> RenderedPreview:
    """Renders for one of the caller's contacts (its fields, its custom fields as `custom.*`)
    or for sample data; nothing is sent or stored."""
    user_id = principal.user.id
    template = await get_template(principal, template_id, templates=templates)
    content = template.content
    if version is not None and version != template.version:
        content = (await get_version(principal, template_id, version, templates=templates)).content
    if (contact_id is None) == (sample is None):
        raise ValidationError(
            "give contact_id or variables, not both", field="contact_id", code="one_recipient"
        )
    recipient = sample
    if contact_id is not None:
        contact = await contacts.get(user_id, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
        recipient = SampleRecipient(
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            custom=dict(contact.custom_fields),
        )
    compiled = compile_content(content, renderer=renderer, base_url=base_url)
    return render_preview(compiled, recipient or SampleRecipient(SAMPLE_EMAIL), renderer=renderer)
