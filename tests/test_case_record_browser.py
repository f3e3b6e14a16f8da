"""The correction form, the partnership's "Who has viewed this record" and its subject access
search in a real browser:
axe-core clean (WCAG 2.2 AA), no Content-Security-Policy violation, keyboard only."""

import pytest
from playwright.async_api import expect

from tests.browser import browser, needs_chromium
from tests.ladders import CHAIR, PRACTITIONER
from tests.pages_stack import PagesStack
from tests.test_browser import Visit, choose, press, type_into, visit
from tests.test_pages import escalation, raise_through_pages

__all__ = ["browser", "visit"]  # the module's fixtures
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]


async def test_the_partnership_corrects_a_detail_and_sees_who_viewed(
    visit: object, pages_stack: PagesStack
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    reference = (await escalation(pages_stack, escalation_id)).child_reference or ""
    async with visit() as chair:  # type: ignore[operator]
        assert isinstance(chair, Visit)
        page = chair.page
        await page.goto(f"/escalations/{escalation_id}")
        await chair.sign_in(CHAIR)
        await page.get_by_role("link", name="Correct a case detail").click()
        await expect(page.get_by_role("heading", name="Correct a case detail")).to_be_visible()
        await chair.check("correct-case-detail")

        await press(page, "Correct the detail")
        await expect(page.get_by_text("There is a problem")).to_be_visible()
        await chair.check("correct-case-detail-errors")

        await choose(page, "Date of birth")
        await type_into(page, "The correct value", "2015-04-20")
        await type_into(page, "Why is it corrected?", "Taken from the wrong record")
        await press(page, "Correct the detail")
        await expect(page.get_by_text("The case detail is corrected")).to_be_visible()
        await expect(page.get_by_text("20 April 2015")).to_be_visible()
        await expect(page.get_by_role("heading", name="Who has viewed this record")).to_be_visible()
        await chair.check("escalation-corrected-and-viewed")

        await page.get_by_role("link", name="Subject access").click()
        await expect(page.get_by_role("heading", name="Subject access request")).to_be_visible()
        await chair.check("subject-access")
        await type_into(page, "Child's name", "Amelia")
        await press(page, "Find escalations")
        await expect(page.get_by_text("There is a problem")).to_be_visible()
        await chair.check("subject-access-errors")
        await page.get_by_label("Child's reference", exact=True).fill(reference)
        await press(page, "Find escalations")
        await expect(page.get_by_role("link", name=escalation_id)).to_be_visible()
        await chair.check("subject-access-found")
