"""The daily work in a real browser (Chromium, axe-core clean, strict CSP): the raiser's dispute
window, search, tags and the navigation's count, who was told, what changed; at 320 px wide with
no sideways scrolling, and with JavaScript off."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.browser import browser, needs_chromium, screenshot
from tests.ladders import CHAIR, CHILDRENS_SERVICES, CS_MANAGER, PRACTITIONER
from tests.pages_stack import PagesStack
from tests.test_browser import Visit, press, type_into, visit
from tests.test_daily_work import CHILD, POLICIES, Cases, cases

__all__ = ["POLICIES", "browser", "cases", "visit"]  # the module's ladders and fixtures
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]
NARROW: ViewportSize = {"width": 320, "height": 640}


@asynccontextmanager
async def signed_in(
    visit: Any, email: str, narrow: bool = False, javascript: bool = True
) -> AsyncIterator[Visit]:
    """A browser of its own, signed in as `email` from the home page (320 px wide if narrow)."""
    async with visit(javascript=javascript) as person:
        if narrow:
            await person.page.set_viewport_size(NARROW)
        await person.page.goto("/")
        await person.sign_in(email)
        yield person


async def fits(page: Page) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{page.url} is {width} px wide"


async def test_the_raiser_sees_the_dispute_window_at_320_px(
    visit: object, pages_stack: PagesStack, cases: Cases
) -> None:
    async with signed_in(visit, PRACTITIONER, narrow=True) as practitioner:
        page = practitioner.page
        row = page.get_by_role("row").filter(has_text=cases.resolved)
        await expect(row.get_by_text("Dispute by")).to_be_visible()
        await expect(row.get_by_text("Dispute open")).to_be_visible()
        # (The navigation, folded behind "Menu" at this width, is checked wider below.)
        await fits(page)
        await practitioner.check("home-dispute-narrow")


async def test_search_tags_and_who_was_told(
    visit: object, pages_stack: PagesStack, cases: Cases
) -> None:
    async with signed_in(visit, CS_MANAGER) as manager:
        page = manager.page
        await expect(
            page.get_by_role("link", name="Your escalations (2) waiting on you")
        ).to_be_visible()
        urgent = page.get_by_role("row").filter(has_text=cases.urgent)
        await expect(urgent.get_by_text("Urgent")).to_be_visible()
        await expect(urgent.get_by_text("Changed since you last looked")).to_be_visible()
        await manager.check("home-waiting")
        await type_into(page, "Find an escalation", CHILD.lower())
        await press(page, "Search")
        await expect(
            page.get_by_role("heading", name=re.compile("Escalations about child"))
        ).to_be_visible()
        await expect(page.get_by_role("link", name=cases.plain)).to_be_visible()
        await expect(page.get_by_role("link", name=cases.urgent)).to_be_visible()
        await manager.check("home-search")
        await page.get_by_label("Find an escalation").fill(cases.plain)
        await press(page, "Search")
        await expect(page.get_by_role("heading", name=f"Escalation {cases.plain}")).to_be_visible()
        await expect(
            page.get_by_text(f"Team manager Sam Jones, {CHILDRENS_SERVICES}").first
        ).to_be_visible()
        await manager.check("escalation-who-was-told")
        await page.set_viewport_size(NARROW)
        for path in ("/", f"/escalations/{cases.plain}", f"/escalations/{cases.plain}/record"):
            await page.goto(path)
            await fits(page)
            await manager.check()
        await page.goto("/?view=all")
        await screenshot(page, "home-narrow")
        # Looked at now: no longer marked changed for this person.
        plain = page.get_by_role("row").filter(has_text=cases.plain)
        await expect(plain.get_by_text("Changed")).to_have_count(0)


async def test_the_partnership_sees_its_own_stage_and_reports_fit_320_px(
    visit: object, pages_stack: PagesStack, cases: Cases
) -> None:
    async with signed_in(visit, CHAIR, narrow=True) as chair:
        page = chair.page
        row = page.get_by_role("row").filter(has_text=cases.top)
        await expect(row.get_by_text("Overdue")).to_be_visible()
        await expect(page.get_by_role("link", name=cases.plain)).to_have_count(0)
        await fits(page)
        await chair.check("home-partnership-waiting")
        await page.goto("/reports")
        await fits(page)
        await chair.check()


async def test_search_works_without_javascript(
    visit: object, pages_stack: PagesStack, cases: Cases
) -> None:
    async with signed_in(visit, CS_MANAGER, javascript=False) as manager:
        page = manager.page
        await page.get_by_label("Find an escalation").fill(f" {CHILD} ")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("link", name=cases.urgent)).to_be_visible()
        # The filters keep the search: open ones about the child, then resolved ones (none).
        await page.get_by_label("Status").select_option("open")
        await page.get_by_role("button", name="Apply filters").click()
        await expect(page.get_by_role("link", name=cases.plain)).to_be_visible()
        await page.get_by_label("Status").select_option("resolved")
        await page.get_by_role("button", name="Apply filters").click()
        await expect(page.get_by_text("There are none.")).to_be_visible()
        assert "q=" in page.url
