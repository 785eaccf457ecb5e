"""`/api/v1/lists/{list_id}/form`: a list's public form — its URL, the custom fields it asks
for, and an HTML snippet for the owner's own site (`read:contacts` / `write:contacts`).

The snippet is a plain GET form to the hosted page with the address pre-filled: a POST from
another site could not carry the page's CSRF token, and the hosted page is where the consent
is given and recorded.
"""

from __future__ import annotations

from html import escape

import msgspec
from litestar import Controller, get, patch
from litestar.params import JSONBody

from openmailer.adapters.http.pagination import ResourceId
from openmailer.adapters.http.recipients.dependencies import PAGES_DEPENDENCIES, PagesApi
from openmailer.adapters.http.security import CurrentPrincipal, access
from openmailer.core.accounts.scopes import Scope
from openmailer.core.recipients.model import PublicForm
from openmailer.core.recipients.service import RecipientPagesService


class FormRead(msgspec.Struct):
    list_id: int
    public_id: str
    url: str
    fields: list[str]
    double_opt_in_enabled: bool
    html: str

    @classmethod
    def of(cls, form: PublicForm, pages: RecipientPagesService) -> FormRead:
        url = pages.form_url(form)
        return cls(
            list_id=form.list_id,
            public_id=form.public_id,
            url=url,
            fields=list(form.fields),
            double_opt_in_enabled=form.double_opt_in,
            html=snippet(form, url),
        )


class FormUpdate(msgspec.Struct):
    """`fields`: the custom fields the form asks for, in order (stored in the contact's
    `custom_fields`): letters, digits and `_`, starting with a letter. Omitted, they stay."""

    # Checked by the service (422 `invalid_form_field`, `too_many_form_fields`): Litestar's
    # document would drop the item constraints of an optional list.
    fields: list[str] | None = None


def snippet(form: PublicForm, url: str) -> str:
    name = escape(form.list_name)
    return (
        f'<form method="get" action="{escape(url)}">\n'
        f'  <label for="om-email-{form.public_id}">Subscribe to {name}: your email</label>\n'
        f'  <input type="email" id="om-email-{form.public_id}" name="email" required>\n'
        '  <button type="submit">Subscribe</button>\n'
        "</form>\n"
    )


class FormController(Controller):
    path = "/lists/{list_id:int}/form"
    tags = ["lists"]
    dependencies = PAGES_DEPENDENCIES

    @get("", operation_id="getListForm", **access(Scope.READ_CONTACTS))
    async def get_form(
        self, principal: CurrentPrincipal, pages: PagesApi, list_id: ResourceId
    ) -> FormRead:
        """The list's public form: its URL and the snippet to embed."""
        return FormRead.of(await pages.form_of_list(principal, list_id), pages)

    @patch("", operation_id="updateListForm", **access(Scope.WRITE_CONTACTS))
    async def set_fields(
        self,
        principal: CurrentPrincipal,
        pages: PagesApi,
        list_id: ResourceId,
        data: JSONBody[FormUpdate],
    ) -> FormRead:
        """Which custom fields the form asks for (422 `invalid_form_field`)."""
        if data.fields is None:
            return FormRead.of(await pages.form_of_list(principal, list_id), pages)
        return FormRead.of(await pages.set_form_fields(principal, list_id, data.fields), pages)
