"""`/u/{token}` (unsubscribe) and `/p/{token}` (preferences), the URLs in every campaign mail.

`POST /u/{token}` with the body `List-Unsubscribe=One-Click` (RFC 8058; form-urlencoded or
multipart) is a mail client's one-click unsubscribe: no cookie, no page, no CSRF token — the
signed token in the URL is the authority — answered 200 with no redirect. The form-urlencoded
one as mail clients send it is answered before Litestar routes it (`one_click`), the same way;
this handler answers the rest (multipart, a one-click form with more fields). Any other POST is
the page's own form and needs its CSRF token. GET shows a page and changes nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import FormMultiDict

from openmailer.adapters.http.recipients.dependencies import PAGES_DEPENDENCIES, PagesApi
from openmailer.adapters.http.recipients.forms import MAX_FORM_BYTES, expired_form, read_form
from openmailer.adapters.http.recipients.rendering import (
    PAGE_EXCEPTION_HANDLERS,
    PathText,
    client_ip,
    csrf_cookie,
    html_page,
    message_page,
    nonce_of,
    page_nonce,
)
from openmailer.core.audience.model import ContactStatus
from openmailer.core.campaigns.tokens import TokenPurpose
from openmailer.core.recipients.model import Recipient
from openmailer.core.recipients.service import RecipientPagesService, Traffic

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
MAX_LISTS_CHOSEN = 1000
STATUS_TEXT = {
    ContactStatus.SUBSCRIBED: "subscribed",
    ContactStatus.PENDING: "waiting for you to confirm your address",
    ContactStatus.UNSUBSCRIBED: "unsubscribed: you receive no mail",
    ContactStatus.BOUNCED: "no mail is sent: mail to this address bounced",
    ContactStatus.COMPLAINED: "no mail is sent: a mail was reported as spam",
}


def _is_one_click(data: FormMultiDict) -> bool:
    return data.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE


def _field(data: FormMultiDict, name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


async def _csrf_ok(
    request: Request[Any, Any, Any], pages: RecipientPagesService, data: FormMultiDict
) -> bool:
    return await pages.csrf_valid(request.url.path, _field(data, "csrf_token"), nonce_of(request))


def _mailto(address: str, subject: str, body: str) -> str:
    return f"mailto:{quote(address, safe='@')}?subject={quote(subject)}&body={quote(body)}"


class UnsubscribeController(Controller):
    path = "/u"
    dependencies = PAGES_DEPENDENCIES
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    include_in_schema = False

    @get("/{token:str}", cache=False)
    async def show(
        self, request: Request[Any, Any, Any], pages: PagesApi, token: PathText
    ) -> Response[bytes]:
        await pages.admit(Traffic.PAGE, client_ip(request))
        recipient = await pages.recipient(TokenPurpose.UNSUBSCRIBE, token)
        nonce = page_nonce(request)
        return html_page(
            "unsubscribe.html",
            cookies=[csrf_cookie(nonce, secure=pages.secure_cookies)],
            recipient=recipient,
            owner_name=recipient.owner_name,
            action=request.url.path,
            csrf_token=await pages.csrf_token(request.url.path, nonce),
            preferences_url=await pages.preferences_url(token),
        )

    @post("/{token:str}", status_code=200, request_max_body_size=MAX_FORM_BYTES)
    async def unsubscribe(
        self, request: Request[Any, Any, Any], pages: PagesApi, token: PathText
    ) -> Response[Any]:
        data = await read_form(request)
        if _is_one_click(data):
            await pages.admit(Traffic.ONE_CLICK, client_ip(request))
            done = await pages.unsubscribe(TokenPurpose.UNSUBSCRIBE, token, None)
            return Response(
                b"Unsubscribed.\n",
                media_type="text/plain",  # Litestar adds the charset
                headers={"Cache-Control": "no-store"},
                background=BackgroundTask(pages.move_counts, done),
            )
        await pages.admit(Traffic.PAGE, client_ip(request))
        recipient = await pages.recipient(TokenPurpose.UNSUBSCRIBE, token)
        if not await _csrf_ok(request, pages, data):
            return expired_form()
        done = await pages.unsubscribe(TokenPurpose.UNSUBSCRIBE, token, _field(data, "reason"))
        return _unsubscribed_page(recipient, BackgroundTask(pages.move_counts, done))


def _unsubscribed_page(recipient: Recipient, counting: BackgroundTask) -> Response[bytes]:
    page = message_page(
        "You are unsubscribed",
        f"{recipient.email} will receive no more mail from {recipient.owner_name}.",
        owner_name=recipient.owner_name,
    )
    page.background = counting  # the shared counters move after the answer has gone
    return page


class PreferencesController(Controller):
    path = "/p"
    dependencies = PAGES_DEPENDENCIES
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    include_in_schema = False

    @get("/{token:str}", cache=False)
    async def show(
        self, request: Request[Any, Any, Any], pages: PagesApi, token: PathText
    ) -> Response[bytes]:
        await pages.admit(Traffic.PAGE, client_ip(request))
        recipient = await pages.recipient(TokenPurpose.PREFERENCES, token)
        return await self._page(request, pages, recipient, saved=None)

    @post("/{token:str}", status_code=200, request_max_body_size=MAX_FORM_BYTES)
    async def save(
        self, request: Request[Any, Any, Any], pages: PagesApi, token: PathText
    ) -> Response[bytes]:
        await pages.admit(Traffic.PAGE, client_ip(request))
        recipient = await pages.recipient(TokenPurpose.PREFERENCES, token)
        data = await read_form(request)
        if not await _csrf_ok(request, pages, data):
            return expired_form()
        if _field(data, "action") == "unsubscribe_all":
            done = await pages.unsubscribe(TokenPurpose.PREFERENCES, token, None)
            return _unsubscribed_page(recipient, BackgroundTask(pages.move_counts, done))
        chosen = {
            int(value)
            for value in data.getall("list", [])[:MAX_LISTS_CHOSEN]
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19
        }
        updated = await pages.choose_lists(token, chosen)
        return await self._page(request, pages, updated, saved="Your choices are saved.")

    async def _page(
        self,
        request: Request[Any, Any, Any],
        pages: RecipientPagesService,
        recipient: Recipient,
        *,
        saved: str | None,
    ) -> Response[bytes]:
        nonce = page_nonce(request)
        owner = recipient.owner_name
        return html_page(
            "preferences.html",
            cookies=[csrf_cookie(nonce, secure=pages.secure_cookies)],
            recipient=recipient,
            owner_name=owner,
            saved=saved,
            locked=recipient.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED),
            status_text=STATUS_TEXT[recipient.status],
            fields=sorted((str(k), str(v)) for k, v in recipient.custom_fields.items()),
            action=request.url.path,
            csrf_token=await pages.csrf_token(request.url.path, nonce),
            export_link=_mailto(
                recipient.owner_email,
                "Request for a copy of my data",
                f"Please send me a copy of all the data you hold about {recipient.email}.",
            ),
            erasure_link=_mailto(
                recipient.owner_email,
                "Request to erase my data",
                f"Please erase all the data you hold about {recipient.email}.",
            ),
        )
