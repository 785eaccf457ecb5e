"""Ports of the templates area: where templates and their versions are stored."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Protocol

from openmailer.core.pages import Page
from openmailer.core.templates.model import (
    NewTemplate,
    Template,
    TemplateRevision,
    TemplateVersion,
)

__all__ = ["TemplateDeletion", "TemplateRepository"]


class TemplateDeletion(Enum):
    DELETED = "deleted"
    ABSENT = "absent"
    IN_USE = "in_use"  # a campaign refers to it (email_campaigns.template_id is RESTRICT)


class TemplateRepository(Protocol):
    async def add(self, template: NewTemplate) -> Template:
        """Also stores version 1; a name the user already has is a Conflict naming its id."""
        ...

    async def get(self, user_id: int, template_id: int) -> Template | None: ...

    async def list_for_user(self, user_id: int, *, limit: int, offset: int) -> Page[Template]: ...

    async def revise(
        self,
        user_id: int,
        template_id: int,
        revision_of: Callable[[Template], TemplateRevision],
        *,
        edited_by: int,
    ) -> Template | None:
        """Holds the row while `revision_of` decides the edit from its current state (it may
        raise to refuse), then writes it: new content is version N+1. Two concurrent edits are
        N+1 and N+2, never two N+1. None when the template is not the user's."""
        ...

    async def delete(self, user_id: int, template_id: int) -> TemplateDeletion: ...

    async def versions(
        self, user_id: int, template_id: int, *, limit: int, offset: int
    ) -> Page[TemplateVersion] | None:
        """Newest first; None when the template is not the user's."""
        ...

    async def version(
        self, user_id: int, template_id: int, version: int
    ) -> TemplateVersion | None: ...
