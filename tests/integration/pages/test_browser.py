"""The recipient pages in headless Chromium (Debian's, driven by Playwright; it never downloads a
browser) against the real app under uvicorn on loopback: a sign-up by keyboard, the confirmation
followed from the mail in the outbox, unsubscribe through the page and through the preferences —
each checked in the database — an axe-core scan of every page with no violation, the pages read
without JavaScript or CSS, and a screenshot of each page in build/screenshots/recipient-pages/."""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from litestar import Litestar
from playwright.async_api import Browser, Page, async_playwright

from openmailer.adapters.http.app import create_app
from openmailer.adapters.settings import Settings
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import engine_of, make_user
from tests.integration.audience.audience_helpers import new_address
from tests.integration.pages.pages_helpers import (
    contact_row,
    eventually_equal,
    list_counts,
    mailed_recipient,
    memberships,
    unsubscribe_count,
)
from tests.integration.pages.test_subscribe import (
    CONFIRM_LINK,
    contact_by_email,
    outbox_to,
    public_form,
)

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots" / "recipient-pages"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_pages(accounts_settings: Settings) -> Iterator[str]:
    """The whole app under uvicorn in a thread (its own loop and lifespan), its base URL the
    server's, so the links it mails lead back to it."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = dataclasses.replace(accounts_settings, base_url=base_url)
    config = uvicorn.Config(
        create_app(settings, password_rounds=4),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the pages did not start"
        time.sleep(0.05)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def accessible(page: Page, name: str) -> None:
    """No axe-core violation, one h1, every form control labelled; and a screenshot."""
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert await page.locator("h1").count() == 1
    assert await page.locator("html[lang]").count() == 1
    for control in await page.locator("input:not([type=hidden]), textarea").all():
        control_id = await control.get_attribute("id")
        assert control_id and await page.locator(f"label[for='{control_id}']").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_sign_up_by_keyboard_and_confirm_from_the_mail(
    app: Litestar,
    client: httpx.AsyncClient,
    accounts: Accounts,
    live_pages: str,
    browser: Browser,
) -> None:
    owner = await make_user(accounts)
    path = await public_form(app, owner, double_opt_in=True, fields=["company"])
    email = new_address("browser")
    page = await browser.new_page()
    await page.goto(live_pages + path)
    await accessible(page, "subscribe-form")
    assert owner.username in await page.locator("main").inner_text()

    # Keyboard only: the address field first, then Tab through the form in order.
    await page.locator("#email").focus()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type("Grace")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Hopper")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Navy")
    await page.keyboard.press("Tab")  # the honeypot is out of the tab order: the consent box
    assert await page.evaluate("document.activeElement.id") == "consent"
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.tagName") == "BUTTON"
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.locator("h1").inner_text() == "Check your inbox"
    await accessible(page, "subscribe-done")

    contact = await contact_by_email(accounts, owner, email)
    assert contact is not None and contact.status == "PENDING"
    assert (contact.first_name, contact.last_name) == ("Grace", "Hopper")
    assert contact.custom_fields == {"company": "Navy"} and contact.gdpr_consent
    (mail,) = await outbox_to(accounts, owner, email)
    link = re.search(rb"http://127\.0\.0\.1:\d+" + CONFIRM_LINK.pattern, mail)
    assert link is not None

    await page.goto(link.group(0).decode())
    await accessible(page, "confirm")
    assert (await contact_by_email(accounts, owner, email)).status == "PENDING"  # type: ignore[union-attr]
    await page.get_by_role("button", name="Confirm my subscription").focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.locator("h1").inner_text() == "You are subscribed"
    await accessible(page, "confirmed")
    confirmed = await contact_by_email(accounts, owner, email)
    assert confirmed is not None and confirmed.status == "SUBSCRIBED"

    await page.goto(link.group(0).decode())  # spent
    await accessible(page, "not-found")


async def test_unsubscribe_through_the_page(
    app: Litestar,
    client: httpx.AsyncClient,
    accounts: Accounts,
    live_pages: str,
    browser: Browser,
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=2)
    engine = engine_of(accounts)
    page = await browser.new_page()
    await page.goto(live_pages + mailed.unsubscribe_path)
    await accessible(page, "unsubscribe")
    assert mailed.email in await page.locator("main").inner_text()
    await page.get_by_label("Why are you leaving? (optional)").fill("Too many mails")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Unsubscribe").click()
    assert await page.locator("h1").inner_text() == "You are unsubscribed"
    await accessible(page, "unsubscribed")
    contact = await contact_row(engine, mailed.contact_id)
    assert contact.status == "UNSUBSCRIBED" and contact.unsubscribe_reason == "Too many mails"
    assert set((await memberships(engine, mailed.contact_id)).values()) == {"REMOVED"}
    await eventually_equal(lambda: unsubscribe_count(engine, mailed.campaign_id), 1)


async def test_unsubscribe_through_the_preferences(
    app: Litestar,
    client: httpx.AsyncClient,
    accounts: Accounts,
    live_pages: str,
    browser: Browser,
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=2)
    engine = engine_of(accounts)
    first, second = mailed.list_ids
    page = await browser.new_page()
    await page.goto(live_pages + mailed.preferences_path)
    await accessible(page, "preferences")
    boxes = page.get_by_role("checkbox")
    assert await boxes.count() == 2
    await boxes.nth(0).uncheck()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save my choices").click()
    await accessible(page, "preferences-saved")
    assert await page.get_by_role("status").inner_text() == "Your choices are saved."
    states = await memberships(engine, mailed.contact_id)
    assert sorted(states.values()) == ["ACTIVE", "REMOVED"]
    assert sorted([await list_counts(engine, first), await list_counts(engine, second)]) == [
        (0, 0),
        (1, 1),
    ]
    async with page.expect_navigation():
        await page.get_by_role("button", name="Unsubscribe from all").click()
    assert await page.locator("h1").inner_text() == "You are unsubscribed"
    assert (await contact_row(engine, mailed.contact_id)).status == "UNSUBSCRIBED"
    assert set((await memberships(engine, mailed.contact_id)).values()) == {"REMOVED"}


async def test_the_pages_work_without_javascript_or_css(
    app: Litestar,
    client: httpx.AsyncClient,
    accounts: Accounts,
    live_pages: str,
    browser: Browser,
) -> None:
    mailed = await mailed_recipient(app, accounts, lists=1)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.route("**/*.css", lambda route: route.abort())
    await page.goto(live_pages + mailed.preferences_path)
    text = await page.locator("body").inner_text()
    for expected in ("Your subscription preferences", mailed.email, "Lists", "Unsubscribe"):
        assert expected in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "preferences-no-css.png"), full_page=True)
    await page.goto(live_pages + mailed.unsubscribe_path)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Unsubscribe").click()
    assert await page.locator("h1").inner_text() == "You are unsubscribed"
    assert (await contact_row(engine_of(accounts), mailed.contact_id)).status == "UNSUBSCRIBED"
    await context.close()
