"""Helpers of the templates tests: callers with the templates scopes, template bodies."""

from __future__ import annotations

import itertools
import os
from typing import Any

import httpx

from openmailer.adapters.db.templates import SqlAlchemyTemplateRepository
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.templates.model import NewTemplate, TemplateContent, TemplateSettings
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user

SCOPES = ["read:templates", "write:templates", "read:contacts", "write:contacts"]
_numbers = itertools.count(1)


async def designer(accounts: Accounts, *, user: User | None = None) -> Caller:
    owner = user if user is not None else await make_user(accounts)
    return await api_key_for(accounts, owner, SCOPES)


def unique_name(prefix: str = "welcome") -> str:
    return f"{prefix} {next(_numbers)}_{os.getpid()}"


def template_body(**extra: Any) -> dict[str, Any]:
    return {
        "name": unique_name(),
        "subject": "Welcome, {{ first_name | default: 'friend' }}",
        "html": "<p>Hello {{ first_name }} from {{ custom.city }}</p>",
        "text": "Hello {{ first_name }} from {{ custom.city }}",
        "preview_text": "Your first steps",
        **extra,
    }


async def create(client: httpx.AsyncClient, who: Caller, **extra: Any) -> httpx.Response:
    return await client.post("/api/v1/templates", headers=who.headers, json=template_body(**extra))


async def created(client: httpx.AsyncClient, who: Caller, **extra: Any) -> dict[str, Any]:
    response = await create(client, who, **extra)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def foreign_template(accounts: Accounts, owner: User) -> int:
    """A template of `owner` (for the every-route walk)."""
    from tests.integration.accounts.accounts_helpers import engine_of

    template = await SqlAlchemyTemplateRepository(engine_of(accounts)).add(
        NewTemplate(
            owner.id,
            TemplateSettings(
                name=unique_name("theirs"),
                description=None,
                template_type="CUSTOM",
                is_html=True,
                is_active=True,
            ),
            TemplateContent(subject="theirs", html="<p>theirs</p>"),
        )
    )
    return template.id


async def first_version(accounts: Accounts, owner: User) -> int:
    """Every template has version 1: the walk's `version` path parameter."""
    return 1
