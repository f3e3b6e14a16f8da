"""The partnership places a legal hold on the escalation page; an erased escalation's page and
the legal holds list, in a real browser: axe-core clean (WCAG 2.2 AA), no Content-Security-Policy
violation, keyboard only."""

import pytest
from playwright.async_api import expect

from database.engine import session_factory
from database.erasure import erase
from database.tables import utc_now
from tests.browser import browser, needs_chromium
from tests.ladders import CHAIR, PRACTITIONER
from tests.pages_stack import PagesStack
from tests.polling import eventually
from tests.test_browser import Visit, press, type_into, visit
from tests.test_pages import act_through_pages, escalation, raise_through_pages

__all__ = ["browser", "visit"]  # the module's fixtures
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]


async def test_an_erased_record_and_the_legal_holds(visit: object, pages_stack: PagesStack) -> None:
    ids = []
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        for _ in range(2):
            escalation_id = await raise_through_pages(practitioner)
            withdrawn = await act_through_pages(
                practitioner, escalation_id, "withdraw", reason="Resolved between us"
            )
            assert withdrawn.status_code == 303, withdrawn.text
            ids.append(escalation_id)
    erased, held = ids

    async def closed() -> bool:
        return all([(await escalation(pages_stack, i)).status == "withdrawn" for i in ids])

    await eventually(closed, "both withdrawn")
    sessions = session_factory(pages_stack.engine)

    async with visit() as chair:  # type: ignore[operator]
        assert isinstance(chair, Visit)
        page = chair.page
        await page.goto(f"/escalations/{held}")
        await chair.sign_in(CHAIR)
        await press(page, "Place the hold")
        await expect(page.get_by_text("There is a problem")).to_be_visible()
        await chair.check("legal-hold-errors")
        await type_into(page, "Why it must be kept", "Care proceedings under way")
        await press(page, "Place the hold")
        await expect(page.get_by_text("Under a legal hold since")).to_be_visible()
        await expect(page.get_by_role("button", name="Release the hold")).to_be_visible()
        await chair.check("escalation-held")

        assert await erase(sessions, erased, at=utc_now(), rule="PT5S after closure")
        assert not await erase(sessions, held, at=utc_now(), rule="PT5S after closure")
        await page.goto(f"/escalations/{erased}")
        await expect(page.get_by_text("Case details erased on")).to_be_visible()
        await expect(page.get_by_text("Resolved between us")).to_have_count(0)
        await expect(page.get_by_role("button", name="Place the hold")).to_have_count(0)
        await chair.check("escalation-erased")
        await page.goto(f"/escalations/{erased}/record")
        await expect(page.get_by_text("Case details erased on")).to_be_visible()

        await page.goto("/")
        await page.get_by_role("link", name="Legal holds").click()
        await expect(page.get_by_role("heading", name="Legal holds")).to_be_visible()
        await expect(page.get_by_role("link", name=held)).to_be_visible()
        await expect(page.get_by_text("Care proceedings under way")).to_be_visible()
        await chair.check("legal-holds")
