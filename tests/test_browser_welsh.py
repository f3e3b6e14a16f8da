"""The pages in Welsh in a real browser (Chromium asking for Welsh, as a Welsh-speaking
person's browser does): sign in, raise, the escalation page and the report, each with
lang="cy", clean under axe-core (WCAG 2.2 AA) and the strict Content-Security-Policy."""

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import browser, needs_chromium
from tests.ladders import CHAIR, CHILDRENS_SERVICES, CS_MANAGER, PRACTITIONER
from tests.pages_stack import PagesStack
from tests.test_browser import Visit
from tests.test_pages import ESCALATION_LINK

__all__ = ["browser"]  # the module's fixture
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]


class WelshVisit(Visit):
    # Each person signed in keeps the language they had once the visit ends (the switch writes
    # it to the module's shared directory).
    kept: AsyncExitStack

    async def check(self, screenshot_name: str | None = None) -> None:
        """Welsh, besides clean under axe and the Content-Security-Policy."""
        assert await self.page.get_attribute("html", "lang") == "cy", self.page.url
        await super().check(screenshot_name)

    async def sign_in(self, email: str, screenshots: bool = False) -> None:
        await self.kept.enter_async_context(self.stack.language_kept(email))
        page = self.page
        await expect(page.get_by_role("heading", name="Mewngofnodi")).to_be_visible()
        await self.check("cy-sign-in" if screenshots else None)
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Neidio i'r prif gynnwys")).to_be_focused()
        await page.get_by_label("Cyfeiriad e-bost").fill(email)
        subject = "dolen mewngofnodi"
        before = len([m for m in self.stack.mailbox.to(email) if subject in str(m["Subject"])])
        await press(page, "Anfon dolen mewngofnodi ataf drwy e-bost")
        await expect(page.get_by_role("heading", name="Gwiriwch eich e-bost")).to_be_visible()
        mail = (await self.stack.mail_to(email, before + 1, subject))[-1]
        link = re.search(r"http\S+/sign-in/\S+", mail.get_content())
        assert link is not None
        await page.goto(link.group(0))
        await self.check("cy-confirm-sign-in" if screenshots else None)
        await press(page, "Mewngofnodi")
        await expect(page.get_by_text("Wedi mewngofnodi fel")).to_be_visible()


@pytest.fixture
async def welsh(browser: Browser, pages_stack: PagesStack) -> AsyncIterator[object]:
    @asynccontextmanager
    async def open_visit() -> AsyncIterator[WelshVisit]:
        context = await browser.new_context(base_url=pages_stack.url, locale="cy-GB")
        kept = AsyncExitStack()
        try:
            page = await context.new_page()
            # Accept-Language gives Welsh before sign-in; the switch keeps it after, whatever
            # the directory holds for the person (English by default).
            await page.goto("/sign-in")
            assert await page.get_attribute("html", "lang") == "cy"
            await page.get_by_role("link", name="English").click()
            await page.get_by_role("link", name="Cymraeg").click()
            visit = WelshVisit(pages_stack, context, page)
            visit.kept = kept
            yield visit
        finally:
            await context.close()
            await kept.aclose()

    yield open_visit


async def press(page: Page, button: str) -> None:
    await page.get_by_role("button", name=button, exact=True).focus()
    await page.keyboard.press("Enter")


async def test_raise_and_act_in_welsh(welsh: object, pages_stack: PagesStack) -> None:
    async with welsh() as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto("/")
        await practitioner.sign_in(PRACTITIONER, screenshots=True)
        await expect(page.get_by_role("heading", name="Eich uwchgyfeiriadau")).to_be_visible()
        await practitioner.check("cy-home")
        await page.get_by_role("link", name="Codi uwchgyfeiriad").click()

        await expect(
            page.get_by_role("heading", name="Gyda phwy rydych yn anghytuno?")
        ).to_be_visible()
        await press(page, "Parhau")  # nothing chosen: the error summary, in Welsh
        await expect(page.get_by_role("heading", name="Mae problem wedi codi")).to_be_visible()
        await expect(
            page.get_by_role(
                "link", name="Dewiswch yr asiantaeth rydych yn anghytuno â'i phenderfyniad"
            )
        ).to_be_visible()
        await practitioner.check("cy-raise-error-summary")
        await page.get_by_label(CHILDRENS_SERVICES, exact=True).check()
        await press(page, "Parhau")

        await page.get_by_label("Cyfeirnod eich asiantaeth ar gyfer y plentyn").fill("NP-CY-1")
        await page.get_by_label("Diwrnod").fill("2")
        await page.get_by_label("Mis").fill("4")
        await page.get_by_label("Blwyddyn").fill("2015")
        await practitioner.check("cy-raise-child")
        await press(page, "Parhau")
        # Free text stays as people wrote it.
        await page.get_by_label("Disgrifiwch yr anghytundeb").fill("Atgyfeiriad wedi'i gau.")
        await press(page, "Parhau")
        await expect(
            page.get_by_text("cysylltwch â'r MASH neu'r heddlu (999) nawr")
        ).to_be_visible()
        await page.get_by_label("Nac ydy", exact=True).check()
        await press(page, "Parhau")

        await expect(
            page.get_by_role("heading", name="Gwiriwch eich atebion cyn anfon yr uwchgyfeiriad")
        ).to_be_visible()
        # The date of birth in Welsh: Ebrill is April.
        await expect(page.get_by_text("2 Ebrill 2015")).to_be_visible()
        await practitioner.check("cy-raise-check-answers")
        await press(page, "Anfon yr uwchgyfeiriad")
        await expect(page.get_by_role("heading", name="Uwchgyfeiriad wedi'i godi")).to_be_visible()
        await practitioner.check("cy-raise-confirmation")
        panel = await page.locator(".govuk-panel__body").inner_text()
        escalation_id = re.search(r"ESC-[0-9A-Z]+", panel).group(0)  # type: ignore[union-attr]

    mail = (await pages_stack.mail_to(CS_MANAGER, subject=escalation_id))[-1]
    link = ESCALATION_LINK.search(mail.get_content())
    assert link is not None
    async with welsh() as manager:  # type: ignore[operator]
        page = manager.page
        await page.goto(link.group(0))
        await manager.sign_in(CS_MANAGER)
        await expect(
            page.get_by_role("heading", name=f"Uwchgyfeiriad {escalation_id}")
        ).to_be_visible()
        await expect(page.get_by_text("Cam 1 o 3")).to_be_visible()
        await expect(page.get_by_text("Atgyfeiriad wedi'i gau.")).to_be_visible()
        # Dates in Welsh: a Welsh day name starts the time limit ("Llun 14 Rhag 2026 10:00").
        limit = await page.locator(".govuk-summary-list__row", has_text="Terfyn amser").inner_text()
        assert re.search(r"(Llun|Maw|Mer|Iau|Gwen|Sad|Sul) \d+ \w+ \d{4} \d\d:\d\d", limit), limit
        await manager.check("cy-escalation-page")

        await press(page, "Datrys yr uwchgyfeiriad")  # its question page, in Welsh
        await expect(
            page.get_by_role("heading", name="Datrys yr uwchgyfeiriad", exact=True)
        ).to_be_visible()
        await press(page, "Parhau")  # no outcome: named in Welsh
        await expect(page.get_by_role("link", name="Rhowch y canlyniad a gytunwyd")).to_be_visible()
        await manager.check("cy-escalation-error")
        await page.get_by_label("Y canlyniad a gytunwyd", exact=True).fill("Trafodaeth strategaeth")
        await press(page, "Parhau")
        await expect(page.get_by_text("Mae'r uwchgyfeiriad yn cau wedi'i ddatrys")).to_be_visible()
        await manager.check("cy-escalation-resolve-confirm")
        await press(page, "Datrys yr uwchgyfeiriad")
        await expect(page.get_by_text("Mae'r uwchgyfeiriad wedi'i ddatrys.")).to_be_visible()
        await manager.check("cy-escalation-resolved")

    async with welsh() as chair:  # type: ignore[operator]
        page = chair.page
        await page.goto("/reports")
        await chair.sign_in(CHAIR)
        await expect(page.get_by_role("heading", name="Adroddiadau uwchgyfeirio")).to_be_visible()
        await expect(page.get_by_role("heading", name="Prif ffigurau")).to_be_visible()
        chart = page.locator("#chart-raising ~ * svg, section[aria-labelledby=chart-raising] svg")
        assert (await chart.first.get_attribute("aria-label") or "").startswith(
            "Siart bar o uwchgyfeiriadau yn ôl yr asiantaeth a'u cododd."
        )
        await chair.check("cy-report")
