"""No English on a Welsh page: every page each role reaches (crawled from home, `?lang=cy`),
its forms sent empty or wrong, and a refusal from the rules shared with the API, read for a
catalogue message (core/translations/cy) whose Welsh differs from its English. What people
wrote and the names of the test partnership are not catalogue messages, so they pass."""

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from babel.messages.pofile import read_po
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.languages import CATALOGUES
from database.tables import ActionReceipt
from tests.ladders import (
    BUSINESS_UNIT,
    CHAIR,
    CHILDRENS_SERVICES,
    CS_EXECUTIVE,
    CS_MANAGER,
    POLICE,
    POLICE_MANAGER,
    PRACTITIONER,
    STACK_LADDERS,
    directory_text,
    policy_text,
)
from tests.pages_stack import DIRECTORY, FROM_THE_PAGES, PagesStack, csrf_of
from tests.test_pages import ANSWERS, act_through_pages, raise_through_pages
from workflows.rules import NOT_PERMITTED

pytestmark = pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
SENTENCE_END = re.compile(r"(?<=[.:;?!])\s+")
# Addresses a crawl does not follow: files, signing out, the other language, the API.
NOT_PAGES = re.compile(
    r"\.csv|\.json|/download|/audit-export|/sign-out|/static/|/assets/|lang=en|/docs|/openapi|/bundle"
)
PAGES_A_ROLE = 80
# The test partnership's names (its people, ladders and stages), shown as written.
TEST_NAMES = set(
    re.findall(
        r'(?:title|name) = "([^"]+)"', policy_text(STACK_LADDERS) + directory_text(DIRECTORY)
    )
)


def english_messages() -> tuple[set[str], list[re.Pattern[str]]]:
    """The catalogue's English whose Welsh differs: plain texts, and patterns for those with
    placeholders (at least one word of their own besides them)."""
    with (CATALOGUES / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="cy")
    plain: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        welsh = [message.string] if isinstance(message.string, str) else list(message.string or [])
        for english in ids:
            if not english or english in welsh:
                continue
            english = " ".join(english.split())
            if not PLACEHOLDER.search(english):
                plain.add(english)
                continue
            own = PLACEHOLDER.sub(" ", english)
            if len(re.findall(r"[A-Za-z]{3,}", own)) >= 1:
                parts = [re.escape(part) for part in PLACEHOLDER.split(english)]
                patterns.append(re.compile("^" + ".+?".join(parts) + "$", re.DOTALL))
    return plain, patterns


class VisibleText(HTMLParser):
    """The text a person reads: text nodes (not scripts, styles or code) and text alternatives."""

    HIDDEN = {"script", "style", "code", "pre"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        for name, value in attrs:
            if name in ("alt", "aria-label") and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(data)


def pieces(page: str) -> Iterator[str]:
    """Each text node of the page whole, and each of its sentences."""
    parser = VisibleText()
    parser.feed(page)
    for text in parser.texts:
        text = " ".join(text.split())
        yield text
        parts = SENTENCE_END.split(text)
        if len(parts) > 1:
            yield from parts


class Reader:
    """Reads the pages it is given for English catalogue messages, and keeps what it finds."""

    def __init__(self) -> None:
        self.plain, self.patterns = english_messages()
        self.found: dict[str, set[str]] = {}

    def read(self, where: str, page: httpx.Response) -> None:
        assert '<html lang="cy"' in page.text, f"{where}: not a Welsh page ({page.status_code})"
        for piece in pieces(page.text):
            if piece in TEST_NAMES:
                continue
            if piece in self.plain or any(p.match(piece) for p in self.patterns):
                self.found.setdefault(piece, set()).add(where)

    def english(self) -> list[str]:
        return [f"{text!r} on {sorted(where)[:3]}" for text, where in sorted(self.found.items())]


def _links(page: str) -> Iterator[str]:
    for href in re.findall(r'href="(/[^"#]*)', page):
        href = href.replace("&amp;", "&")
        if not NOT_PAGES.search(href) and not href.startswith("//"):
            yield href


def _shape(href: str) -> str:
    """One page of each kind: the path and the names of its query (not its values)."""
    parts = urlsplit(href)
    names = sorted({pair.split("=")[0] for pair in parts.query.split("&") if pair})
    return parts.path + "?" + "&".join(n for n in names if n not in ("page", "lang"))


async def crawl(client: httpx.AsyncClient, reader: Reader, role: str, *starts: str) -> None:
    """Every page reachable from `starts`, each kind once."""
    waiting, seen = list(starts), set[str]()
    while waiting and len(seen) < PAGES_A_ROLE:
        href = waiting.pop(0)
        if _shape(href) in seen:
            continue
        seen.add(_shape(href))
        page = await client.get(href)
        if page.status_code in (301, 302, 303, 307):
            waiting.append(page.headers["location"])
            continue
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        reader.read(f"{role} GET {href} ({page.status_code})", page)
        waiting += list(_links(page.text))


@asynccontextmanager
async def in_welsh(stack: PagesStack, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as `address`, having clicked Cymraeg on the switch (which the directory keeps),
    then their language again, pass or fail, so their next sign-in link comes in it."""
    async with stack.language_kept(address), stack.signed_in(address) as client:
        chosen = await client.get("/?lang=cy", headers=FROM_THE_PAGES)
        assert chosen.status_code == 200 and '<html lang="cy"' in chosen.text, chosen.text
        yield client


async def sent(
    client: httpx.AsyncClient,
    reader: Reader,
    form_page: str,
    action: str,
    data: dict[str, str],
    **files: Any,
) -> httpx.Response:
    """A form sent from its page (its CSRF token), the answer read."""
    page = await client.get(form_page)
    answer = await client.post(
        action, data={**data, "csrf_token": csrf_of(page.text)}, files=files or None
    )
    reader.read(f"POST {action} {sorted(data)} ({answer.status_code})", answer)
    return answer


# The banners after a change, and the import's panel.
BANNERS = [
    "/directory?done=added",
    "/directory/people/1?done=deactivated",
    "/directory/agencies?done=changed",
    "/directory/requests?done=approved",
    "/directory/import/done?added=3&changed=2&deactivated=0",
]
BAD_IMPORT = (
    "agency,agency_kind,name,email,role,active,language\n"
    f"{POLICE},police,PC Khan,pc.khan@police.example.org,wizard,yes,\n"
    f"{POLICE},police,PC Khan,not an address,manager,maybe,fr\n"
    f"{POLICE},nowhere,,pc.two@police.example.org,manager,yes,\n"
    f"{POLICE},police,PC Two,pc.two@police.example.org,board,yes,\n"
    f"{POLICE},police,PC Two,pc.two@police.example.org,manager,yes,\n"
)


async def test_no_welsh_page_shows_an_english_message(pages_stack: PagesStack) -> None:
    reader = Reader()
    # What the crawl finds: an open escalation, a resolution open to dispute, an urgent one.
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        open_one = await raise_through_pages(practitioner)
        resolved = await raise_through_pages(practitioner)
        urgent_answers = [
            *ANSWERS[:3],
            ("/raise/risk", {"immediate_risk": "yes", "risk_reason": "Disclosure of violence"}),
        ]
        await raise_through_pages(practitioner, urgent_answers)
    async with pages_stack.signed_in(CS_MANAGER) as manager:
        done = await act_through_pages(manager, resolved, "resolve", outcome="Agreed a plan")
        assert done.status_code == 303, done.text

    roles = [PRACTITIONER, POLICE_MANAGER, CS_MANAGER, CS_EXECUTIVE, CHAIR, BUSINESS_UNIT]
    for address in roles:
        async with in_welsh(pages_stack, address) as client:
            starts = ["/", f"/escalations/{open_one}", f"/escalations/{resolved}", "/raise"]
            starts += [*BANNERS, f"/escalations/{open_one}?done=held"]
            await crawl(client, reader, address, *starts)

    async with pages_stack.browser_client() as anyone:
        assert (await anyone.get("/sign-in?lang=cy")).status_code == 200
        await crawl(anyone, reader, "signed out", "/sign-in", "/request-access")
        for data in ({}, {"name": "Ann", "email": "ann@police.example.org", "step": "details"}):
            answer = await anyone.post("/request-access", data=data)
            reader.read(f"POST /request-access {sorted(data)}", answer)

    async with in_welsh(pages_stack, PRACTITIONER) as practitioner:
        for path, _ in ANSWERS:  # each question of the raise, answered with nothing
            await sent(practitioner, reader, path, path, {})
        # A refusal from the rules the API shares (resolving is for the receiving agency),
        # and the same form again: its receipt's answer, said as it was given.
        for _ in range(2):
            refused = await sent(
                practitioner,
                reader,
                f"/escalations/{open_one}",
                f"/escalations/{open_one}/actions/resolve/confirm",
                {"outcome": "Closed by the raiser", "form_id": "welsh-pages-refusal-1"},
            )
            assert refused.status_code == 403 and "Dim ond" in refused.text

    async with in_welsh(pages_stack, CS_MANAGER) as manager:
        here = f"/escalations/{open_one}"
        for path in ("resolve", "extend", "escalate", "notes", "acknowledge"):
            await sent(manager, reader, here, f"{here}/actions/{path}", {})
        # Longer than the stage allows: the question passes it, the workflow refuses it, and
        # the question comes back with the workflow's limit at the field.
        too_long = await sent(
            manager,
            reader,
            here,
            f"{here}/actions/extend/confirm",
            {"working_days": "60", "reason": "Time"},
        )
        assert too_long.status_code == 422, too_long.text
        assert "Mae estyniad ar gam 1 yn" in too_long.text, too_long.text

    async with in_welsh(pages_stack, POLICE_MANAGER) as manager:
        here = f"/escalations/{open_one}"
        await sent(manager, reader, f"{here}/correct", f"{here}/correct", {})
        for fields in (
            {},
            {"agency": CHILDRENS_SERVICES, "role": "practitioner"},
            {"agency": POLICE, "role": "executive"},
            {"agency": POLICE, "role": "board"},
        ):
            person = {"name": "Someone", "email": "someone@police.example.org", "active": "yes"}
            await sent(
                manager,
                reader,
                "/directory/people/new",
                "/directory/people/check",
                {**person, **fields} if fields else {},
            )

    async with in_welsh(pages_stack, CHAIR) as chair:
        here = f"/escalations/{open_one}"
        for name in ("hold", "release"):
            await sent(chair, reader, here, f"{here}/legal-hold/{name}", {})
        await sent(chair, reader, "/subject-access", "/subject-access", {})
        for period in (
            "from-day=40&from-month=1&from-year=2026",
            "from-day=&from-month=&from-year=",
            "from-day=1&from-month=1&from-year=2026&to-day=1&to-month=1&to-year=2020",
        ):
            report = await chair.get(f"/reports?{period}")
            reader.read(f"GET /reports?{period} ({report.status_code})", report)

    async with in_welsh(pages_stack, BUSINESS_UNIT) as admin:
        await sent(admin, reader, "/directory/people/new", "/directory/people/check", {})
        await sent(
            admin,
            reader,
            "/directory/people/new",
            "/directory/people/check",
            {"name": "Tab\there", "email": "not an address", "agency": POLICE, "role": "x"},
        )
        await sent(admin, reader, "/directory/agencies/new", "/directory/agencies/check", {})
        await sent(admin, reader, "/directory/import", "/directory/import", {})
        for csv in ("name,email\nA,a@b.org\n", BAD_IMPORT):
            await sent(
                admin,
                reader,
                "/directory/import",
                "/directory/import",
                {},
                file=("people.csv", csv.encode(), "text/csv"),
            )

    assert reader.english() == [], "English on Welsh pages:\n" + "\n".join(reader.english())


REFUSED = re.compile(r"Dim ond [^<]*")


async def test_a_repeated_refusal_says_the_reason_it_was_given_in_welsh(
    pages_stack: PagesStack,
) -> None:
    """The same form again after the escalation moved on: the receipt's reason (stage 1), in
    Welsh, not the one the record would give now (stage 2)."""
    reader = Reader()
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    here = f"/escalations/{escalation_id}"
    resolve = {"outcome": "Closed by the raiser", "form_id": "welsh-pages-replayed-1"}

    async with in_welsh(pages_stack, PRACTITIONER) as practitioner:
        first = await sent(practitioner, reader, here, f"{here}/actions/resolve/confirm", resolve)
    assert first.status_code == 403, first.text
    given = REFUSED.search(first.text)
    assert given is not None and "ar gam 1 (" in given.group(), first.text

    async with pages_stack.signed_in(CS_MANAGER) as manager:
        moved = await act_through_pages(manager, escalation_id, "escalate", reason="No progress")
        assert moved.status_code == 303, moved.text

    async with in_welsh(pages_stack, PRACTITIONER) as practitioner:
        again = await sent(practitioner, reader, here, f"{here}/actions/resolve/confirm", resolve)
        now = await sent(
            practitioner,
            reader,
            here,
            f"{here}/actions/resolve/confirm",
            {**resolve, "form_id": "welsh-pages-refused-now-1"},
        )
    assert again.status_code == 403, again.text
    async with AsyncSession(pages_stack.engine) as db:
        query = select(ActionReceipt).where(
            ActionReceipt.idempotency_key == "page:welsh-pages-replayed-1:resolve"
        )
        receipt = (await db.exec(query)).one()
    assert receipt.refusal is not None and receipt.refusal["code"] == NOT_PERMITTED
    assert receipt.refusal["values"]["stage"] == 1
    replayed = REFUSED.search(again.text)
    assert replayed is not None and replayed.group() == given.group(), again.text
    # A new form is refused as the escalation now stands: at stage 2.
    fresh = REFUSED.search(now.text)
    assert now.status_code == 403 and fresh is not None and "ar gam 2 (" in fresh.group()
    assert reader.english() == []
