"""Each person's language, end to end, for a partnership in Wales: the API and pages over real
HTTP, a worker on the Temporal dev server and an SMTP listener, on SQLite and PostgreSQL. A
Welsh-reading manager's notification arrives in Welsh; a shared mailbox (language "both") gets
one mail, Welsh first, while an English reader gets English; a person who chooses Cymraeg with
the pages' switch has it written to the directory (on its record), and their next notification
is in Welsh; a link from elsewhere only shows a page in Welsh, and a shared mailbox keeps both.
Requests for access, sign-in links and the business unit's worker alerts go the same way, and a
stage's Welsh name from the policy file shows on Welsh pages and in Welsh mails. The header's
switch is clicked in a real browser too."""

import re
from contextvars import copy_context
from email.message import EmailMessage
from pathlib import Path

import httpx
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select, update
from temporalio.contrib.pydantic import pydantic_data_converter

from casework.directory_changes import BadRow, PersonRow, check_row
from core.directory import Agency, Directory, Partnership
from core.languages import (
    LANGUAGE_BREAK,
    Language,
    gettext,
    in_language,
    moment_text,
    policy_name,
    use_policy_names,
    welsh_names,
)
from core.policy_files import load_policies
from database.directory_trail import directory_problems
from database.engine import session_factory
from database.tables import (
    AccessRequest,
    DirectoryEvent,
    DirectoryPerson,
)
from tests.browser import browser, needs_chromium
from tests.ladders import (
    BUSINESS_UNIT,
    CHILDRENS_SERVICES,
    CS_MANAGER,
    HOUR,
    PARTNERSHIP,
    POLICE,
    THE_PARTNERSHIP,
    contact,
    directory,
    ladder,
)
from tests.pages_stack import FROM_THE_PAGES, LINK, PagesStack, csrf_of
from tests.smtp_listener import Mailbox, smtp_listener
from tests.test_pages import ANSWERS, act_through_pages, escalation, raise_through_pages
from tests.test_worker_alerts import stopped_worker_alerts
from web.i18n import CHOSEN_COOKIE, LANGUAGE_COOKIE
from workflows.actions import ACTIONS

__all__ = ["browser"]  # the module's fixture
RAISER = "pc.jones@police.example.org"  # reads English: raises through the English pages
SWITCHER = "pc.reyes@police.example.org"  # chooses Cymraeg on the pages
WELSH_MANAGER = "rhys.evans@police.example.org"
POLICE_INBOX = "diogelu@police.example.org"  # a shared mailbox: no one person's language
CHOOSES_AT_SIGN_IN = "gwen.morgan@cs.example.org"  # clicks Cymraeg on the sign-in page
KEEPS_ENGLISH = "alex.price@cs.example.org"  # a browser that asks for Welsh, no click
CLICKS_IN_CHROMIUM = "ceri.lloyd@cs.example.org"  # clicks the header's switch in a browser
FOLLOWS_LINKS = "dafydd.owen@cs.example.org"  # opens Welsh pages from links elsewhere
WALES_EXAMPLE = Path(__file__).parents[1] / "config" / "policies.wales.example.toml"

NATION = "wales"
POLICIES = {
    "standard": ladder(
        "Duty ladder",
        *(HOUR, HOUR),
        names={"manager": "Duty line managers"},
        steps={1: {"name_cy": "Rheolwyr llinell ar ddyletswydd"}},
        title_cy="Ysgol ddyletswydd",
    )
}
DIRECTORY = directory(
    Agency(
        name=POLICE,
        contacts=[
            contact("PC Jones", RAISER, "practitioner"),
            contact("PC Reyes", SWITCHER, "practitioner"),
            contact("Rhys Evans", WELSH_MANAGER, "manager", language="cy"),
            contact("Blwch diogelu", POLICE_INBOX, "manager", language="both"),
        ],
    ),
    Agency(
        name=CHILDRENS_SERVICES,
        contacts=[
            contact("Team manager Sam Jones", CS_MANAGER, "manager"),
            contact("Gwen Morgan", CHOOSES_AT_SIGN_IN, "practitioner"),
            contact("Alex Price", KEEPS_ENGLISH, "practitioner"),
            contact("Ceri Lloyd", CLICKS_IN_CHROMIUM, "practitioner"),
            contact("Dafydd Owen", FOLLOWS_LINKS, "practitioner"),
        ],
    ),
    partnership=Partnership(name=PARTNERSHIP, business_unit=THE_PARTNERSHIP.business_unit),
)


async def raised(stack: PagesStack) -> str:
    async with stack.signed_in(RAISER) as raiser:
        return await raise_through_pages(raiser, ANSWERS)


async def one_mail(stack: PagesStack, address: str, escalation_id: str) -> EmailMessage:
    (mail,) = await stack.mail_to(address, 1, escalation_id)
    return mail


def subject(mail: EmailMessage) -> str:
    # A long subject is folded after "Subject:"; unfolded, its value starts with the space.
    return str(mail["Subject"]).strip()


async def test_each_reader_gets_the_raised_notice_in_their_language(
    pages_stack: PagesStack,
) -> None:
    escalation_id = await raised(pages_stack)
    deadline = (await escalation(pages_stack, escalation_id)).stage_deadline
    assert deadline is not None

    # The Welsh-reading manager: subject, body and dates in Welsh.
    welsh = await one_mail(pages_stack, WELSH_MANAGER, escalation_id)
    assert subject(welsh) == (
        f"[{escalation_id}] Uwchgyfeiriad newydd ar gam 1: Rheolwyr llinell ar ddyletswydd"
    )
    body = welsh.get_content()
    with in_language("cy"):
        due = moment_text(deadline)  # "Llun 7 Rhag 2026 09:41": Welsh day and month
    assert f"Terfyn amser: {due} (amser Llundain)" in body
    assert re.search(r"(Llun|Maw|Mer|Iau|Gwen|Sad|Sul) \d+ \w+ 20\d\d", due)
    assert f"Uwchgyfeiriad: {escalation_id}" in body and "Agorwch yr uwchgyfeiriad" in body
    assert "Time limit" not in body and "Open the escalation" not in body

    # The shared mailbox: one mail in both languages, Welsh first.
    (shared,) = await pages_stack.mail_to(POLICE_INBOX, 1, escalation_id)
    assert subject(shared) == (
        f"[{escalation_id}] Uwchgyfeiriad newydd ar gam 1: Rheolwyr llinell ar ddyletswydd"
        " / New escalation at stage 1: Duty line managers"
    )
    # (SMTP carries lines ending CRLF.)
    cymraeg, english = shared.get_content().replace("\r\n", "\n").split(LANGUAGE_BREAK)
    assert cymraeg.startswith("Uwchgyfeiriad newydd ar gam 1") and f"{due} (amser" in cymraeg
    assert english.startswith("New escalation at stage 1") and "(London time)" in english

    # The English reader at the other agency: English only.
    plain = await one_mail(pages_stack, CS_MANAGER, escalation_id)
    assert subject(plain) == f"[{escalation_id}] New escalation at stage 1: Duty line managers"
    assert "Time limit:" in plain.get_content() and "Uwchgyfeiriad" not in plain.get_content()

    # The stage's Welsh name (`name_cy` in the policy file) on a Welsh page, its English one on
    # an English page. (A link from elsewhere: the page in Welsh, the raiser's language kept.)
    async with pages_stack.signed_in(RAISER) as raiser:
        page = f"/escalations/{escalation_id}"
        welsh_page = await raiser.get(f"{page}?lang=cy", headers={"Sec-Fetch-Site": "cross-site"})
        assert "Rheolwyr llinell ar ddyletswydd" in welsh_page.text
        english_page = await raiser.get(page)
        assert "Duty line managers" in english_page.text
        assert "Rheolwyr llinell ar ddyletswydd" not in english_page.text
    assert (await person(pages_stack, RAISER)).language == "en"


def test_the_welsh_names_never_reach_temporal() -> None:
    """Replay-safe: a workflow's input is the same with or without them."""
    ladder = load_policies(WALES_EXAMPLE)["wales"]
    assert ladder.title_cy and all(stage.name_cy for stage in ladder.stages)
    (payload,) = pydantic_data_converter.payload_converter.to_payloads([ladder])
    assert b"_cy" not in payload.data and b"Ymarferwyr" not in payload.data
    first = ladder.stages[0].name

    def shown(language: Language) -> tuple[str, str, str]:
        with in_language(language):
            use_policy_names(welsh_names([ladder]))
            return policy_name(first), policy_name(ladder.title), gettext(first)

    # Each in a context of its own, as each request and notification is: nothing stays set.
    assert copy_context().run(shown, "cy") == ("Ymarferwyr", ladder.title_cy, first)
    assert copy_context().run(shown, "en") == (first, ladder.title, first)
    assert policy_name(first) == first


async def person(stack: PagesStack, email: str) -> DirectoryPerson:
    async with session_factory(stack.engine)() as db:
        found = await db.exec(select(DirectoryPerson).where(DirectoryPerson.email == email))
        return found.one()


async def language_events(stack: PagesStack, email: str) -> list[DirectoryEvent]:
    """The directory's record of the person's changes after they were added."""
    subject = f"person:{(await person(stack, email)).id}"
    async with session_factory(stack.engine)() as db:
        found = await db.exec(
            select(DirectoryEvent)
            .where(DirectoryEvent.subject == subject, DirectoryEvent.action == "changed")
            .order_by(col(DirectoryEvent.id))
        )
        return list(found.all())


async def test_the_switch_is_written_to_the_directory_and_the_next_mail_is_welsh(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(SWITCHER) as switcher:
        home = await switcher.get("/")
        assert '<html lang="en"' in home.text and 'href="/?lang=cy"' in home.text

        chosen = await switcher.get("/?lang=cy", headers=FROM_THE_PAGES)
        assert chosen.status_code == 200 and '<html lang="cy"' in chosen.text
        assert switcher.cookies.get(LANGUAGE_COOKIE) == "cy"
        assert (await person(pages_stack, SWITCHER)).language == "cy"
        (event,) = await language_events(pages_stack, SWITCHER)
        assert event.actor == f"PC Reyes ({POLICE})"
        assert (event.before or {})["language"] == "en"
        assert (event.after or {})["language"] == "cy"

        # Choosing it again changes nothing and records nothing; the next page stays Welsh.
        again = await switcher.get("/?lang=cy", headers=FROM_THE_PAGES)
        assert '<html lang="cy"' in again.text
        assert len(await language_events(pages_stack, SWITCHER)) == 1
        assert '<html lang="cy"' in (await switcher.get("/")).text

        # A link from another site shows its page in its language, but writes nothing: the
        # next page is in the person's language again.
        linked = await switcher.get("/?lang=en", headers={"Sec-Fetch-Site": "cross-site"})
        assert '<html lang="en"' in linked.text
        assert (await person(pages_stack, SWITCHER)).language == "cy"
        assert '<html lang="cy"' in (await switcher.get("/")).text
        assert switcher.cookies.get(LANGUAGE_COOKIE) == "cy"  # follows the directory
    async with session_factory(pages_stack.engine)() as db:
        assert (await directory_problems(db))[1] == []  # the chain holds, the row matches it

    # Their next notification: an outcome, told to the raising agency's practitioners.
    escalation_id = await raised(pages_stack)
    async with pages_stack.signed_in(CS_MANAGER) as manager:
        done = await act_through_pages(
            manager, escalation_id, "resolve", outcome="Early help offered"
        )
        assert done.status_code == 303, done.text
    headline = ACTIONS["resolved"].headline
    assert headline is not None
    with in_language("cy"):
        welsh_headline = gettext(headline)
    (outcome,) = await pages_stack.mail_to(SWITCHER, 1, f"{escalation_id}]")
    assert welsh_headline != headline and welsh_headline.split("{")[0] in subject(outcome)
    assert "Agorwch yr uwchgyfeiriad" in outcome.get_content()
    (english,) = await pages_stack.mail_to(RAISER, 1, f"{escalation_id}]")
    assert headline.split("{")[0] in subject(english)
    assert "Open the escalation" in english.get_content()


# Requests for a page in Welsh that are not a click on the switch of one of the service's pages.
NOT_CLICKED_HERE = {
    "a browser that sends no Sec-Fetch-Site": {},
    "a link in a mail or a chat, a typed address": {"Sec-Fetch-Site": "none"},
    "a link on another site": {"Sec-Fetch-Site": "cross-site"},
    "a link on a sibling site": {"Sec-Fetch-Site": "same-site"},
    "a prerender": FROM_THE_PAGES | {"Sec-Purpose": "prefetch;prerender"},
    "an older browser's prefetch": FROM_THE_PAGES | {"Purpose": "prefetch"},
}


async def test_only_a_click_on_the_services_own_page_chooses_a_language(
    pages_stack: PagesStack,
) -> None:
    """Each shows its page in Welsh, but neither writes to the directory nor counts as "just
    chosen" for a sign-in; nor does a form sent to an address with ?lang=."""
    async with pages_stack.browser_client() as browser:
        for how, headers in NOT_CLICKED_HERE.items():
            shown = await browser.get("/sign-in?lang=cy", headers=headers)
            assert '<html lang="cy"' in shown.text, how
            assert browser.cookies.get(LANGUAGE_COOKIE) == "cy", how
            assert browser.cookies.get(CHOSEN_COOKIE) is None, how
            browser.cookies.delete(LANGUAGE_COOKIE)
        sent = await browser.post(
            "/sign-in?lang=cy", data={"email": "not an address"}, headers=FROM_THE_PAGES
        )
        assert sent.status_code == 422 and '<html lang="cy"' in sent.text
        assert browser.cookies.get(CHOSEN_COOKIE) is None

    async with pages_stack.signed_in(FOLLOWS_LINKS) as follower:
        for how, headers in NOT_CLICKED_HERE.items():
            shown = await follower.get("/?lang=cy", headers=headers)
            assert shown.status_code == 200 and '<html lang="cy"' in shown.text, how
            # The next page: the directory's language, unchanged.
            assert '<html lang="en"' in (await follower.get("/")).text, how
        refused = await follower.post("/sign-out?lang=cy", data={}, headers=FROM_THE_PAGES)
        assert refused.status_code == 403 and '<html lang="cy"' in refused.text
    assert (await person(pages_stack, FOLLOWS_LINKS)).language == "en"
    assert await language_events(pages_stack, FOLLOWS_LINKS) == []


async def test_a_shared_mailbox_keeps_both_languages_whatever_it_clicks(
    pages_stack: PagesStack,
) -> None:
    """Its readers differ: the page is in the language clicked, its mails stay in both."""
    async with pages_stack.browser_client() as browser:
        # Chosen just before sign-in, then clicked once signed in: neither is written.
        await browser.get("/sign-in?lang=cy", headers=FROM_THE_PAGES)
        assert browser.cookies.get(CHOSEN_COOKIE) == "1"
        home = await sign_in_by_link(pages_stack, browser, POLICE_INBOX, "dolen mewngofnodi")
        assert '<html lang="cy"' in home.text
        english = await browser.get("/?lang=en", headers=FROM_THE_PAGES)
        assert '<html lang="en"' in english.text
        assert '<html lang="en"' in (await browser.get("/")).text  # the browser's cookie keeps it
    assert (await person(pages_stack, POLICE_INBOX)).language == "both"
    assert await language_events(pages_stack, POLICE_INBOX) == []

    escalation_id = await raised(pages_stack)
    (shared,) = await pages_stack.mail_to(POLICE_INBOX, 1, escalation_id)
    assert subject(shared).startswith(f"[{escalation_id}] Uwchgyfeiriad newydd ar gam 1")
    assert subject(shared).endswith(" / New escalation at stage 1: Duty line managers")
    assert LANGUAGE_BREAK in shared.get_content().replace("\r\n", "\n")


async def test_requests_for_access_reach_each_reviewer_in_their_language(
    pages_stack: PagesStack,
) -> None:
    # Asked from a Welsh page, an English one, and one from before requests kept their language.
    welsh_asker, english_asker = "newydd@police.example.org", "arall@police.example.org"
    older = "hen@police.example.org"
    askers = [
        ("Swyddog Newydd", welsh_asker, "cy"),
        ("Swyddog Arall", english_asker, "en"),
        ("Swyddog Hen", older, "en"),
    ]
    async with pages_stack.browser_client() as browser:
        for name, email, language in askers:
            sent = await browser.post(
                f"/request-access?lang={language}",
                data={
                    "step": "details",
                    "name": name,
                    "email": email,
                    "agency": POLICE,
                    "role": "practitioner",
                },
            )
            assert sent.status_code == 200, sent.text
    async with session_factory(pages_stack.engine)() as db:
        await db.exec(
            update(AccessRequest).where(col(AccessRequest.email) == older).values(language=None)
        )
        await db.commit()
    # Each reviewer's mail about the Welsh asker (the mails go out in any order).
    welsh_ask = "Cais am fynediad gan Swyddog Newydd"
    (welsh,) = await pages_stack.mail_to(WELSH_MANAGER, 1, welsh_ask)
    assert "Mae Swyddog Newydd (newydd@police.example.org) yn gofyn am fynediad" in (
        welsh.get_content()
    )
    assert "fel ymarferydd yn" in welsh.get_content() and "asks for access" not in (
        welsh.get_content()
    )
    (both,) = await pages_stack.mail_to(POLICE_INBOX, 1, welsh_ask)
    assert subject(both) == (
        f"Cais am fynediad gan Swyddog Newydd ({POLICE}) / "
        f"Request for access from Swyddog Newydd ({POLICE})"
    )
    (english,) = await pages_stack.mail_to(
        BUSINESS_UNIT, 1, "Request for access from Swyddog Newydd"
    )
    assert "Cais" not in subject(english) and "asks for access" in english.get_content()

    async with pages_stack.signed_in(BUSINESS_UNIT) as unit:
        waiting = await unit.get("/directory/requests")
        ids = re.findall(r'action="/directory/requests/(\d+)"', waiting.text)
        for request_id, decision in zip(ids, ("approve", "decline", "decline"), strict=True):
            answered = await unit.post(
                f"/directory/requests/{request_id}",
                data={"decision": decision, "csrf_token": csrf_of(waiting.text)},
            )
            assert answered.status_code == 303, answered.text
    # Each answer in the language they asked in; the new person reads the service in it too.
    (yes,) = await pages_stack.mail_to(welsh_asker, 1, "cais am fynediad")
    assert subject(yes) == "Eich cais am fynediad i Uwchgyfeirio pryderon diogelu"
    assert "wedi'i gymeradwyo" in yes.get_content()
    assert (await person(pages_stack, welsh_asker)).language == "cy"
    (no,) = await pages_stack.mail_to(english_asker, 1, "request for access")
    assert subject(no) == "Your request for access to Safeguarding escalations"
    assert "was not approved" in no.get_content()
    # Its language not known: both, Welsh first, in Wales.
    (unknown,) = await pages_stack.mail_to(older, 1, "request for access")
    assert subject(unknown) == (
        "Eich cais am fynediad i Uwchgyfeirio pryderon diogelu"
        " / Your request for access to Safeguarding escalations"
    )
    cymraeg, english_text = unknown.get_content().replace("\r\n", "\n").split(LANGUAGE_BREAK)
    assert "Ni chymeradwywyd eich cais" in cymraeg and "was not approved" in english_text


BUSINESS_UNIT_READERS = Directory.model_validate(
    {
        "partnership": {
            "name": "Partneriaeth Diogelu Plant Gogledd Cymru",
            "business_unit": [
                {"name": "Uned fusnes", "email": "uned@partneriaeth.example", "language": "cy"},
                {"name": "Blwch yr uned", "email": "blwch@partneriaeth.example",
                 "language": "both"},
                {"name": "Business unit", "email": "unit@partnership.example"},
            ],
        },
    }
)  # fmt: skip


async def test_the_worker_alert_reaches_the_business_unit_in_its_languages(
    database_url: str, engine: AsyncEngine
) -> None:
    box = Mailbox()
    async with smtp_listener(box) as smtp:
        alerts = await stopped_worker_alerts(
            database_url, engine, smtp, BUSINESS_UNIT_READERS, "wales"
        )
        await alerts.look()
    (welsh,) = box.to("uned@partneriaeth.example")
    assert subject(welsh) == (
        "Mae uwchgyfeiriadau wedi peidio â symud: nid oes gweithiwr yn rhedeg"
    )
    # Welsh day and month names, and Welsh minutes.
    assert re.search(r"am 7 munud, ers Dydd \w+ \d+ \w+ 20\d\d", welsh.get_content())
    (both,) = box.to("blwch@partneriaeth.example")
    assert subject(both) == (
        "Mae uwchgyfeiriadau wedi peidio â symud: nid oes gweithiwr yn rhedeg"
        " / Escalations have stopped moving: no worker is running"
    )
    (english,) = box.to("unit@partnership.example")
    assert subject(english) == "Escalations have stopped moving: no worker is running"
    assert "for 7 minutes, since" in english.get_content()


async def test_the_sign_in_link_is_in_the_persons_language_whatever_the_page(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.browser_client() as browser:
        asked = await browser.post("/sign-in?lang=en", data={"email": WELSH_MANAGER})
        assert asked.status_code == 200 and "Check your email" in asked.text
    (link,) = await pages_stack.mail_to(WELSH_MANAGER, 1, "dolen mewngofnodi")
    assert "Agorwch y ddolen hon i fewngofnodi" in link.get_content()


async def sign_in_by_link(
    stack: PagesStack, client: httpx.AsyncClient, email: str, subject: str
) -> httpx.Response:
    """Asks for a link from this client's page, opens the mailed link and confirms; the page
    signed in to."""
    before = len(stack.mails(email, subject))
    asked = await client.post("/sign-in", data={"email": email}, headers=FROM_THE_PAGES)
    assert asked.status_code == 200, asked.text
    mail = (await stack.mail_to(email, before + 1, subject))[-1]
    found = LINK.search(mail.get_content())
    assert found is not None
    confirm = await client.get(found.group(0))
    spent = await client.post(found.group(0), data={"csrf_token": csrf_of(confirm.text)})
    assert spent.status_code == 303, spent.text
    return await client.get(spent.headers["location"])


async def test_a_choice_made_just_before_sign_in_becomes_the_persons(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.browser_client() as browser:
        chosen = await browser.get("/sign-in?lang=cy", headers=FROM_THE_PAGES)
        assert '<html lang="cy"' in chosen.text
        assert browser.cookies.get(CHOSEN_COOKIE) == "1"
        # Chosen just now: the link comes in Welsh, and signing in makes it theirs.
        home = await sign_in_by_link(pages_stack, browser, CHOOSES_AT_SIGN_IN, "dolen mewngofnodi")
        assert '<html lang="cy"' in home.text
        assert (await person(pages_stack, CHOOSES_AT_SIGN_IN)).language == "cy"
        (event,) = await language_events(pages_stack, CHOOSES_AT_SIGN_IN)
        assert event.actor == f"Gwen Morgan ({CHILDRENS_SERVICES})"
        assert browser.cookies.get(CHOSEN_COOKIE) is None  # the next person's is their own

    # A browser that asks for Welsh (or chose it long ago) but did not click: the directory's
    # language decides after sign-in, and nothing is written.
    async with pages_stack.browser_client() as browser:
        browser.headers["Accept-Language"] = "cy"
        await browser.get("/sign-in?lang=cy", headers=FROM_THE_PAGES)
        browser.cookies.delete(CHOSEN_COOKIE)  # chosen more than an hour ago
        assert '<html lang="cy"' in (await browser.get("/sign-in")).text
        home = await sign_in_by_link(pages_stack, browser, KEEPS_ENGLISH, "sign-in link")
        assert '<html lang="en"' in home.text
        assert browser.cookies.get(LANGUAGE_COOKIE) == "en"  # follows the directory
    assert (await person(pages_stack, KEEPS_ENGLISH)).language == "en"
    assert await language_events(pages_stack, KEEPS_ENGLISH) == []


@needs_chromium()
async def test_the_headers_switch_in_a_real_browser(
    browser: Browser, pages_stack: PagesStack
) -> None:
    """Chromium marks the click `Sec-Fetch-Site: same-origin`: the choice is written."""
    link = await pages_stack.sign_in_link(CLICKS_IN_CHROMIUM)
    context = await browser.new_context(base_url=pages_stack.url)
    try:
        page = await context.new_page()
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.get_by_role("link", name="Cymraeg").click()
        await expect(page.locator("html")).to_have_attribute("lang", "cy")
        await expect(page.get_by_text("Cymraeg", exact=True)).to_have_attribute(
            "aria-current", "true"
        )
        assert (await person(pages_stack, CLICKS_IN_CHROMIUM)).language == "cy"
        await page.goto("/")  # the next page: the directory's language, Welsh now
        await expect(page.locator("html")).to_have_attribute("lang", "cy")
    finally:
        await context.close()


def test_a_shared_mailbox_may_be_given_both_languages_in_the_directory() -> None:
    fields = {
        "agency": POLICE,
        "name": "Blwch diogelu",
        "email": POLICE_INBOX,
        "role": "manager",
        "language": "both",
    }
    row = check_row(2, fields)
    assert isinstance(row, PersonRow) and row.language == "both"
    bad = check_row(3, fields | {"language": "fr"})
    assert isinstance(bad, BadRow) and bad.field == "language"
    assert "(en, cy or both)" in bad.reason
