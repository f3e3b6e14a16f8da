"""People's journeys in a real browser (Chromium) against the real stack: the dev server, a
worker, the API and pages over HTTP, and an SMTP listener for the sign-in links and
notifications. Every page is checked with axe-core (WCAG 2.2 AA, zero violations) and under
the strict Content-Security-Policy (no violation reported by the browser)."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from database.audit_chain import timeline
from database.engine import session_factory
from database.tables import Escalation
from tests.browser import axe_violations, browser, needs_chromium, screenshot
from tests.ladders import CHAIR, CHILDRENS_SERVICES, CS_MANAGER, HEALTH_MANAGER, PRACTITIONER
from tests.pages_stack import PagesStack
from tests.polling import eventually
from tests.test_pages import ANSWERS, ESCALATION_LINK, raise_through_pages

__all__ = ["browser"]  # the module's fixture
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]


class Visit:
    """One person's browser: a context of its own (cookies), the page, what the browser said."""

    def __init__(
        self, stack: PagesStack, context: BrowserContext, page: Page, javascript: bool = True
    ) -> None:
        self.stack, self.context, self.page = stack, context, page
        # With JavaScript off the page runs no script at all, Playwright's evaluate included:
        # axe runs in the other tests, on the same pages.
        self.javascript = javascript
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(str(error)))

    async def check(self, screenshot_name: str | None = None) -> None:
        """The page passes axe and nothing was blocked by the Content-Security-Policy."""
        if not self.javascript:
            return
        assert await axe_violations(self.page) == [], self.page.url
        blocked = [m for m in self.console if "Content Security Policy" in m or "Refused" in m]
        assert blocked == [], blocked
        if screenshot_name:
            await screenshot(self.page, screenshot_name)

    async def sign_in(self, email: str, screenshots: bool = False) -> None:
        """From the sign-in page (where the browser now is) to signed in, by keyboard."""
        page = self.page
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await self.check("sign-in" if screenshots else None)
        # Keyboard alone: the skip link comes first, then the header, then the field.
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
        await page.get_by_label("Email address").focus()
        await page.keyboard.type(email)
        before = len([m for m in self.stack.mailbox.to(email) if "sign-in" in str(m["Subject"])])
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        await self.check("check-your-email" if screenshots else None)
        mail = (await self.stack.mail_to(email, before + 1, "sign-in link"))[-1]
        link = re.search(r"http\S+/sign-in/\S+", mail.get_content())
        assert link is not None
        await page.goto(link.group(0))
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        await self.check("confirm-sign-in" if screenshots else None)
        await page.get_by_role("button", name="Sign in").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("Signed in as")).to_be_visible()


@pytest.fixture
async def visit(browser: Browser, pages_stack: PagesStack) -> AsyncIterator[object]:
    @asynccontextmanager
    async def open_visit(javascript: bool = True) -> AsyncIterator[Visit]:
        context = await browser.new_context(
            base_url=pages_stack.url, java_script_enabled=javascript
        )
        try:
            yield Visit(pages_stack, context, await context.new_page(), javascript)
        finally:
            await context.close()

    yield open_visit


async def choose(page: Page, label: str) -> None:
    """Selects a radio or checkbox from the keyboard."""
    await page.get_by_label(label, exact=True).focus()
    await page.keyboard.press("Space")


async def type_into(page: Page, label: str, text: str) -> None:
    await page.get_by_label(label, exact=True).focus()
    await page.keyboard.type(text)


async def press(page: Page, button: str) -> None:
    await page.get_by_role("button", name=button).focus()
    await page.keyboard.press("Enter")


async def test_raise_then_the_receiving_manager_resolves_and_the_raiser_sees_it(
    visit: object, pages_stack: PagesStack
) -> None:
    async with visit() as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto("/")
        await practitioner.sign_in(PRACTITIONER, screenshots=True)
        await practitioner.check("home-practitioner")
        await page.get_by_role("link", name="Raise an escalation").focus()
        await page.keyboard.press("Enter")

        await expect(page.get_by_role("heading", name="Who do you disagree with?")).to_be_visible()
        await press(page, "Continue")  # nothing chosen: the error summary, focused
        await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        await practitioner.check("raise-error-summary")
        await choose(page, CHILDRENS_SERVICES)
        await press(page, "Continue")

        await type_into(page, "Your agency's reference for the child", "NP-3001")
        await type_into(page, "Child's name (optional)", "Amelia Example")
        await type_into(page, "Day", "2")
        await type_into(page, "Month", "4")
        await type_into(page, "Year", "2015")
        await practitioner.check("raise-child")
        await press(page, "Continue")

        await type_into(page, "Describe the disagreement", "Referral closed; school sees neglect.")
        await practitioner.check("raise-disagreement")
        await press(page, "Continue")

        await expect(page.get_by_text("contact MASH or the police (999) now")).to_be_visible()
        await practitioner.check("raise-immediate-risk")
        await choose(page, "No")
        await press(page, "Continue")

        await expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
        await practitioner.check("raise-check-answers")
        await press(page, "Send the escalation")
        await expect(page.get_by_role("heading", name="Escalation raised")).to_be_visible()
        await practitioner.check("raise-confirmation")
        panel = await page.locator(".govuk-panel__body").inner_text()
        escalation_id = re.search(r"ESC-[0-9A-Z]+", panel).group(0)  # type: ignore[union-attr]

    mail = (await pages_stack.mail_to(CS_MANAGER, subject=escalation_id))[-1]
    link = ESCALATION_LINK.search(mail.get_content())
    assert link is not None and "Amelia" not in mail.get_content()
    async with visit() as manager:  # type: ignore[operator]
        page = manager.page
        await page.goto(link.group(0))  # not signed in: the sign-in page, then back here
        await manager.sign_in(CS_MANAGER)
        assert page.url.endswith(f"/escalations/{escalation_id}")
        await expect(page.get_by_text("Stage 1 of 3")).to_be_visible()
        await manager.check("escalation-page")

        await press(page, "Resolve the escalation")  # its question page
        await expect(page.get_by_role("heading", name="Resolve the escalation")).to_be_visible()
        await manager.check("escalation-resolve")
        await press(page, "Continue")  # no outcome: named, GOV.UK style
        await expect(page.get_by_role("link", name="Enter the outcome agreed")).to_be_visible()
        await manager.check("escalation-error")
        await type_into(page, "Outcome agreed", "Strategy discussion booked")
        await type_into(page, "Agreed actions (optional)", "Section 47 enquiry")
        await press(page, "Continue")
        await expect(page.get_by_text("The escalation closes as resolved")).to_be_visible()
        await manager.check("escalation-resolve-confirm")
        await press(page, "Resolve the escalation")
        await expect(page.get_by_text("The escalation is resolved")).to_be_visible()
        await manager.check("escalation-resolved")

    async with visit() as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto("/?view=closed")
        await practitioner.sign_in(PRACTITIONER)
        await expect(page.get_by_role("link", name=escalation_id)).to_be_visible()
        await practitioner.check("home-closed")
        await page.get_by_role("link", name=escalation_id).click()
        await expect(page.get_by_text("Strategy discussion booked").first).to_be_visible()
        await practitioner.check()
        await page.get_by_role("link", name="Record for the child's file (printable)").click()
        await expect(page.get_by_text("OFFICIAL-SENSITIVE").first).to_be_visible()
        await practitioner.check("record")
        await page.emulate_media(media="print")
        assert not await page.locator(".govuk-template__header").is_visible()
        await screenshot(page, "record-print")
    async with session_factory(pages_stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
        assert row is not None and row.status == "resolved"
        actions = [e.action for e in await timeline(db, escalation_id)]
    assert "resolved" in actions


async def test_an_uninvolved_manager_gets_404(visit: object, pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as client:
        escalation_id = await raise_through_pages(client)
    async with visit() as outsider:  # type: ignore[operator]
        page = outsider.page
        answer = await page.goto(f"/escalations/{escalation_id}")
        await outsider.sign_in(HEALTH_MANAGER)
        await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        response = await page.reload()
        assert answer is not None and response is not None and response.status == 404
        assert "Amelia" not in await page.content()
        await outsider.check("not-found")


async def test_the_partnership_acts_on_an_overdue_escalation(
    visit: object, pages_stack: PagesStack
) -> None:
    quick = [("/raise", {"receiving_agency": CHILDRENS_SERVICES, "policy": "quick"}), *ANSWERS[1:]]
    async with pages_stack.signed_in(PRACTITIONER) as client:
        escalation_id = await raise_through_pages(client, quick)
    async with visit() as chair:  # type: ignore[operator]
        page = chair.page
        await page.goto("/")
        await chair.sign_in(CHAIR)

        async def at_the_top() -> int:  # both 2-second stages pass by themselves
            await page.goto(f"/escalations/{escalation_id}")
            return await page.get_by_text("Stage 3 of 3").count()

        await eventually(at_the_top, "stage 3 on the page")
        await expect(page.get_by_text("Stage 3 of 3")).to_be_visible()
        await chair.check()
        await page.goto("/")
        await expect(page.get_by_role("link", name=escalation_id)).to_be_visible()
        await chair.check("home-partnership")
        await page.goto(f"/escalations/{escalation_id}")
        await press(page, "Add a note")
        await expect(page.get_by_role("heading", name="Add a note to the record")).to_be_visible()
        await type_into(page, "Note", "Chair reviewing today")
        await press(page, "Continue")
        await expect(page.get_by_text("The note goes on the record")).to_be_visible()
        await press(page, "Add a note")
        await expect(page.get_by_text("Your note is on the record")).to_be_visible()
        await page.goto(f"/escalations/{escalation_id}")
        await press(page, "Resolve the escalation")
        await expect(page.get_by_role("heading", name="Resolve the escalation")).to_be_visible()
        await type_into(page, "Outcome agreed", "Partnership decision: assessment")
        await press(page, "Continue")
        await expect(page.get_by_text("The escalation closes as resolved")).to_be_visible()
        await press(page, "Resolve the escalation")
        await expect(page.get_by_text("The escalation is resolved")).to_be_visible()
        await chair.check()
    async with session_factory(pages_stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
    assert row is not None and row.status == "resolved" and row.stage == 3


async def test_refusals_are_clear_and_change_nothing(
    visit: object, pages_stack: PagesStack
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as client:
        escalation_id = await raise_through_pages(client)
    link = await pages_stack.sign_in_link(CS_MANAGER, f"/escalations/{escalation_id}")
    async with visit() as manager:  # type: ignore[operator]
        page = manager.page
        await page.goto(link)
        await press(page, "Sign in")
        await expect(page.get_by_text("Stage 1 of 3")).to_be_visible()

        await page.goto(link)  # the same link again
        await expect(page.get_by_text("already been used or has expired")).to_be_visible()
        await manager.check("link-used")

        await page.goto(f"/escalations/{escalation_id}/actions/notes")
        await page.locator("main form input[name=csrf_token]").evaluate("input => input.remove()")
        await type_into(page, "Note", "forged")
        await press(page, "Continue")
        await expect(
            page.get_by_role("heading", name="Your form could not be sent")
        ).to_be_visible()
        await manager.check("csrf-refused")

        cookies = await manager.context.cookies()
        session = next(c for c in cookies if c["name"] == "escalations_session")
        await manager.context.add_cookies([{**session, "value": session["value"][::-1]}])
        await page.goto(f"/escalations/{escalation_id}")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    async with session_factory(pages_stack.engine)() as db:
        actions = [e.action for e in await timeline(db, escalation_id)]
    assert "note" not in actions


async def test_sign_in_and_raise_without_javascript(visit: object, pages_stack: PagesStack) -> None:
    async with visit(javascript=False) as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto("/raise")
        await practitioner.sign_in(PRACTITIONER)
        assert page.url.endswith("/raise")
        await expect(page.locator("body.js-enabled")).to_have_count(0)
        await choose(page, CHILDRENS_SERVICES)
        await press(page, "Continue")
        await type_into(page, "Your agency's reference for the child", "NP-NOJS")
        await press(page, "Continue")
        await type_into(page, "Describe the disagreement", "Raised with JavaScript off.")
        await press(page, "Continue")
        await choose(page, "Yes")
        await type_into(page, "If yes, what is the immediate risk?", "Disclosure at school")
        await press(page, "Continue")
        await expect(page.get_by_text("contact MASH or the police (999) now")).to_be_visible()
        await press(page, "Send the escalation")
        await expect(page.get_by_role("heading", name="Escalation raised")).to_be_visible()
        panel = await page.locator(".govuk-panel__body").inner_text()
    escalation_id = re.search(r"ESC-[0-9A-Z]+", panel).group(0)  # type: ignore[union-attr]
    async with session_factory(pages_stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
    assert row is not None and row.policy == "urgent" and row.child_reference == "NP-NOJS"
