"""`/f/{public_id}`: a list's subscribe form; `/confirm/{token}`: the double opt-in page.

GET never changes anything (link scanners prefetch every URL in a mail); each POST needs the
page's CSRF token. A filled honeypot field gets the same answer as a real sign-up and changes
nothing. The page after a sign-up depends on the list only.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict

from openmailer.adapters.http.recipients.dependencies import PAGES_DEPENDENCIES, PagesApi
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
from openmailer.core.errors import ValidationError
from openmailer.core.recipients.model import PublicForm, SignUp, SignUpOutcome
from openmailer.core.recipients.service import RecipientPagesService, Traffic

MAX_FORM_BYTES = 16_384
HONEYPOT = "website"


async def render_form(
    request: Request[Any, Any, Any],
    pages: RecipientPagesService,
    form: PublicForm,
    *,
    values: dict[str, str],
    error: ValidationError | None = None,
) -> Response[bytes]:
    nonce = page_nonce(request)
    return html_page(
        "subscribe.html",
        status=200 if error is None else 422,
        cookies=[csrf_cookie(nonce, secure=pages.secure_cookies)],
        form=form,
        owner_name=form.owner_name,
        action=request.url.path,
        csrf_token=await pages.csrf_token(request.url.path, nonce),
        values={"email": "", "first_name": "", "last_name": "", **values},
        error=None if error is None else error.detail,
        error_field=None if error is None else error.field,
    )


def expired_form() -> Response[bytes]:
    return message_page(
        "This form has expired",
        "For your safety the form only works for a few hours after it is opened, in the "
        "browser that opened it. Please open the page again and resend it.",
        status=403,
    )


def _text(data: FormMultiDict, name: str, limit: int = 500) -> str:
    value = data.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    return await request.form()


class SubscribeController(Controller):
    path = "/f"
    dependencies = PAGES_DEPENDENCIES
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    include_in_schema = False

    @get("/{public_id:str}", cache=False)
    async def show(
        self, request: Request[Any, Any, Any], pages: PagesApi, public_id: PathText
    ) -> Response[bytes]:
        """`?email=` pre-fills the address (the embeddable snippet opens the form this way)."""
        await pages.admit(Traffic.PAGE, client_ip(request))
        form = await pages.form(public_id)
        email = request.query_params.get("email", "")
        return await render_form(request, pages, form, values={"email": email[:254]})

    @post("/{public_id:str}", status_code=200, request_max_body_size=MAX_FORM_BYTES)
    async def submit(
        self, request: Request[Any, Any, Any], pages: PagesApi, public_id: PathText
    ) -> Response[bytes]:
        ip = client_ip(request)
        await pages.admit(Traffic.SIGN_UP, ip)
        form = await pages.form(public_id)
        data = await read_form(request)
        if not await pages.csrf_valid(
            request.url.path, _text(data, "csrf_token"), nonce_of(request)
        ):
            return expired_form()
        values = {
            "email": _text(data, "email", 254),
            "first_name": _text(data, "first_name", 255),
            "last_name": _text(data, "last_name", 255),
            **{name: _text(data, name) for name in form.fields},
        }
        outcome = form.sign_up_outcome  # a bot in the honeypot is told what a person would be
        if not _text(data, HONEYPOT):
            sign_up = SignUp(
                email=values["email"],
                first_name=values["first_name"] or None,
                last_name=values["last_name"] or None,
                fields={name: values[name] for name in form.fields},
                consent=_text(data, "consent") == "yes",
                client_ip=ip,
            )
            try:
                outcome = await pages.sign_up(public_id, sign_up)
            except ValidationError as error:
                return await render_form(request, pages, form, values=values, error=error)
        return signed_up_page(form, outcome)


def signed_up_page(form: PublicForm, outcome: SignUpOutcome) -> Response[bytes]:
    if outcome is SignUpOutcome.CONFIRM_BY_MAIL:
        return message_page(
            "Check your inbox",
            f"If the address can receive {form.list_name}, a mail is on its way to it. Open the "
            "link in that mail to confirm your subscription.",
            owner_name=form.owner_name,
        )
    return message_page(
        "Thank you",
        f"The address is subscribed to {form.list_name}. Every mail has a link to unsubscribe.",
        owner_name=form.owner_name,
    )


class ConfirmController(Controller):
    path = "/confirm"
    dependencies = PAGES_DEPENDENCIES
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    include_in_schema = False

    @get("/{token:str}", cache=False)
    async def show(
        self, request: Request[Any, Any, Any], pages: PagesApi, token: PathText
    ) -> Response[bytes]:
        await pages.admit(Traffic.PAGE, client_ip(request))
        pending = await pages.pending_confirmation(token)
        nonce = page_nonce(request)
        return html_page(
            "confirm.html",
            cookies=[csrf_cookie(nonce, secure=pages.secure_cookies)],
            owner_name=pending.owner_name,
            email=pending.email,
            action=request.url.path,
            csrf_token=await pages.csrf_token(request.url.path, nonce),
        )

    @post("/{token:str}", status_code=200, request_max_body_size=MAX_FORM_BYTES)
    async def confirm(
        self, request: Request[Any, Any, Any], pages: PagesApi, token: PathText
    ) -> Response[bytes]:
        await pages.admit(Traffic.SIGN_UP, client_ip(request))
        await pages.pending_confirmation(token)  # an unknown token is a 404, CSRF or not
        data = await read_form(request)
        if not await pages.csrf_valid(
            request.url.path, _text(data, "csrf_token"), nonce_of(request)
        ):
            return expired_form()
        confirmed = await pages.confirm(token)
        return message_page(
            "You are subscribed",
            f"Thank you: {confirmed.email} is confirmed. Every mail has a link to unsubscribe.",
            owner_name=confirmed.owner_name,
        )
