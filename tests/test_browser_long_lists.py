"""A partnership's long list of agencies (the raise page, the directory's person form, a request
for access): more than a dozen are a select, which JavaScript turns into GOV.UK's accessible
autocomplete (typed, then chosen, in the page's language), and which works as a plain select
without it."""

import pytest
from playwright.async_api import Page, expect

from database.engine import session_factory
from tests.browser import browser, needs_chromium
from tests.ladders import BUSINESS_UNIT, CHILDRENS_SERVICES, PRACTITIONER, directory
from tests.pages_stack import AGENCIES, PagesStack
from tests.test_browser import press, visit
from web.page_context import SESSION_COOKIE, SHORT_LIST_AT_MOST
from web.sessions import current_session

__all__ = ["browser", "visit"]  # the modules' fixtures
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]

SCHOOLS = [f"Northshire School {n:02d}" for n in range(1, SHORT_LIST_AT_MOST + 2)]
DIRECTORY = directory(*AGENCIES, *SCHOOLS)
AGENCY_QUESTION = "The agency whose decision you disagree with"
NEXT_QUESTION = "Your agency's reference for the child"


async def chosen_agency(stack: PagesStack, page: Page) -> str:
    """The receiving agency kept in the signed-in person's draft, as the server holds it."""
    cookie = next(c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)
    async with session_factory(stack.engine)() as db:
        session = await current_session(db, cookie["value"])
    assert session is not None
    return str(session.draft["answers"]["receiving_agency"])


async def test_a_long_list_is_searched_and_chosen_with_the_keyboard(
    visit: object, pages_stack: PagesStack
) -> None:
    async with visit() as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto("/raise")
        await practitioner.sign_in(PRACTITIONER)
        # The select (a combobox too) is hidden once the autocomplete stands in for it.
        await expect(page.locator('select[name="receiving_agency"]')).to_be_hidden()
        field = page.get_by_role("combobox", name=AGENCY_QUESTION)
        await expect(page.locator('input[type="radio"][name="receiving_agency"]')).to_have_count(0)

        await field.focus()
        await page.keyboard.type("zzz")
        await expect(page.get_by_text("No results found")).to_be_visible()
        await field.fill("")
        await page.keyboard.type("child")
        option = page.get_by_role("option", name=CHILDRENS_SERVICES)
        await expect(option).to_be_visible()
        await expect(page.get_by_role("option")).to_have_count(1)
        await practitioner.check("raise-agency-autocomplete")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")
        await expect(field).to_have_value(CHILDRENS_SERVICES)
        await press(page, "Continue")
        await expect(page.get_by_label(NEXT_QUESTION, exact=True)).to_be_visible()
        assert await chosen_agency(pages_stack, page) == CHILDRENS_SERVICES

        # Back on the question, the answer is kept; in Welsh, the list speaks Welsh. (The
        # person's language is back as it was afterwards, pass or fail: the stack is shared.)
        async with pages_stack.language_kept(PRACTITIONER):
            await page.goto("/raise?lang=cy")
            await expect(page.locator('select[name="receiving_agency"]')).to_be_hidden()
            field = page.get_by_role("combobox")
            await expect(field).to_have_value(CHILDRENS_SERVICES)
            await field.fill("")
            await page.keyboard.type("zzz")
            await expect(page.get_by_text("Dim canlyniadau", exact=True)).to_be_visible()
            await practitioner.check()


async def test_a_long_list_is_a_select_without_javascript(
    visit: object, pages_stack: PagesStack
) -> None:
    async with visit(javascript=False) as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto("/raise")
        await practitioner.sign_in(PRACTITIONER)
        select = page.get_by_label(AGENCY_QUESTION, exact=True)
        options = await select.locator("option").all_inner_texts()
        assert options[0] == "Choose an agency" and set(SCHOOLS) <= set(options)
        await press(page, "Continue")  # nothing chosen: the error summary links to the select
        summary = page.locator(".govuk-error-summary a")
        await expect(summary).to_have_attribute("href", "#receiving_agency")
        await select.select_option(label=SCHOOLS[-1])
        await press(page, "Continue")
        await expect(page.get_by_label(NEXT_QUESTION, exact=True)).to_be_visible()
        assert await chosen_agency(pages_stack, page) == SCHOOLS[-1]


async def test_the_directory_and_a_request_for_access_search_a_long_list(
    visit: object, pages_stack: PagesStack
) -> None:
    async with visit() as unknown:  # type: ignore[operator]
        page = unknown.page
        await page.goto("/request-access")
        await page.get_by_label("Full name", exact=True).fill("Ffion Hughes")
        await page.get_by_label("Work email address", exact=True).fill("ffion@school07.example")
        await press(page, "Continue")
        await expect(page.locator('select[name="agency"]')).to_be_hidden()
        field = page.get_by_role("combobox", name="Your agency")
        await field.fill("school 07")
        await page.get_by_role("option", name=SCHOOLS[6]).click()
        await expect(field).to_have_value(SCHOOLS[6])
        await expect(page.locator('select[name="agency"]')).to_have_value(SCHOOLS[6])
        await unknown.check()

    async with visit() as business_unit:  # type: ignore[operator]
        page = business_unit.page
        await page.goto("/directory/people/new")
        await business_unit.sign_in(BUSINESS_UNIT)
        await expect(page.locator('select[name="agency"]')).to_be_hidden()
        await page.get_by_role("combobox", name="Agency").fill("children")
        await expect(page.get_by_role("option", name=CHILDRENS_SERVICES)).to_be_visible()
        await business_unit.check()
