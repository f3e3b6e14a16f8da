"""Welsh (Cymraeg): every message of the service has its Welsh translation, no template holds
words outside gettext, and a page asked for in Welsh answers in Welsh."""

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import nodes
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.notifications import Outbox, compose
from core.action_words import shown_words
from core.directory import Directory
from core.languages import BUILT_IN_LADDER_WORDS, CATALOGUES, LANGUAGE_BREAK, gettext, in_language
from database.tables import AuditEvent
from tests import conftest
from tests.engine_helpers import RAISING, RECEIVING, notifier_for
from tests.ladders import PRACTITIONER
from tests.pages_stack import PagesStack, csrf_of
from tests.test_notifications import PUBLIC_URL, Mailbox, attempt, raised_notice, smtp_server
from web.i18n import LANGUAGE_COOKIE, from_accept_language
from web.page_context import templates
from web.presenting import timeline
from workflows.policy import BUILT_IN_POLICIES

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def extracted() -> set[str | tuple[str, ...]]:
    """The messages `make translations` extracts (babel.cfg, with N_ and Nn_ as keywords)."""
    method_map = [
        ("web/**.py", "python"),
        ("casework/**.py", "python"),
        ("activities/notifications.py", "python"),
        ("core/languages.py", "python"),
        ("web/templates/**.html", "jinja2"),
    ]
    options = {"web/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Nn_": (1, 2)}
    found: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found | set(shown_words())  # babel.cfg's action_table extractor


def test_the_catalogues_hold_every_message_and_wales_has_every_translation() -> None:
    messages = extracted()
    babel_cfg = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    assert "[python: web/**.py]" in babel_cfg and "[jinja2: web/templates/**.html]" in babel_cfg
    assert "action_table = core.action_words:extract" in babel_cfg
    for language in ("en", "cy"):
        with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=language)
        held = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
        assert set(held) == messages, f"run `make translations` ({language})"
        if language == "en":
            continue  # English is the messages themselves
        for key, message in held.items():
            strings = [message.string] if isinstance(message.string, str) else message.string or []
            assert all(strings) and not message.fuzzy, f"no Welsh for {key!r}"
            wanted = set(PLACEHOLDER.findall(key if isinstance(key, str) else key[0]))
            for text in strings:
                assert set(PLACEHOLDER.findall(text)) == wanted, f"placeholders of {key!r}"


def _words(html: str) -> str:
    """The words between tags of a piece of a template: no tags (nor the half of one that an
    expression splits), no entities, no class names."""
    # Styles, scripts and code (CSV columns, commands) are machine formats, never translated.
    text = re.sub(r"<(style|script|code)\b.*?</\1>", " ", html, flags=re.DOTALL)
    text = re.sub(r"<[^>]*>|<[^>]*$|^[^<>]*>|&\w+;", " ", text)
    return " ".join(w for w in re.findall(r"[\w'-]+", text) if re.fullmatch(r"[A-Za-z']+", w))


def _is_words(value: object) -> bool:
    """A constant people would read: words, capitalised or with a space ("Not given")."""
    return (
        isinstance(value, str)
        and bool(_words(value))
        and (" " in value.strip() or value[:1].isupper())
    )


def _untranslated(node: nodes.Node, html: list[str], inside_gettext: bool = False) -> Iterator[str]:
    """String constants outside `_()` that are words (capitalised, or with a space) rather than
    names, classes or values; the template's own HTML goes into `html`, an expression's output
    standing in as a mark, for `_words` to read whole."""
    if isinstance(node, nodes.TemplateData):
        html.append(node.data)
        return
    if isinstance(node, nodes.Output):
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                html.append(part.data)
            else:
                html.append("\x00")
                yield from _untranslated(part, [], inside_gettext)
        return
    if isinstance(node, nodes.Compare):
        return  # `step.state == "closed here"` compares values; it shows nothing
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        inside_gettext = node.node.name in {"_", "gettext", "ngettext"}
    if isinstance(node, nodes.Const) and not inside_gettext and _is_words(node.value):
        yield node.value
    if isinstance(node, nodes.Concat) and not inside_gettext:
        # Glued with `~`, even a lowercase word is part of a sentence ("3" ~ " rows"), and so
        # is any text glued to a message (_("People matching “") ~ term ~ "”").
        glued_to_a_message = any(
            isinstance(part, nodes.Call)
            and isinstance(part.node, nodes.Name)
            and part.node.name in {"_", "gettext", "ngettext"}
            for part in node.nodes
        )
        yield from (
            part.value
            for part in node.nodes
            if isinstance(part, nodes.Const)
            and isinstance(part.value, str)
            and not part.value.startswith(("/", "?", "#", "&"))  # an address's parts
            and (_words(part.value) or (glued_to_a_message and part.value.strip()))
        )
    # A dict's keys are names ("text", "href"); only its values may be words.
    children: Iterable[nodes.Node] = (
        [node.value] if isinstance(node, nodes.Pair) else node.iter_child_nodes()
    )
    for child in children:
        yield from _untranslated(child, html, inside_gettext)


# Constants that are not words for people: HTML fragments and markings built around messages.
NOT_MESSAGES = {
    '<a class="govuk-link" href="%s">%s</a>',
    '<time datetime="%s">%s</time>',
    '<a class="govuk-link" href="/sign-in">',
    '%s (%s)<span class="govuk-visually-hidden"> %s</span>',
}


@pytest.mark.parametrize(
    "template", sorted(p.name for p in (ROOT / "web" / "templates").glob("*.html"))
)
def test_no_template_holds_an_untranslated_literal(template: str) -> None:
    source = (ROOT / "web" / "templates" / template).read_text(encoding="utf-8")
    html: list[str] = []
    found = [t for t in _untranslated(templates.parse(source), html) if t not in NOT_MESSAGES]
    assert found == [], f"{template}: put these through _(): {found}"
    assert _words("".join(html)) == "", f"{template}: words outside _(): {_words(''.join(html))}"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("cy", "cy"),
        ("cy-GB,cy;q=0.9,en;q=0.8", "cy"),
        ("en-GB,en;q=0.9,cy;q=0.8", "en"),
        ("fr-FR, cy;q=0.5", "cy"),
        ("de", None),
        ("cy;q=0, en", "en"),
    ],
)
def test_accept_language_picks_the_first_language_the_service_speaks(
    header: str, language: str | None
) -> None:
    assert from_accept_language(header) == language


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="(\w+)"', page)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)
async def test_sign_in_answers_in_welsh_and_remembers_it(pages_stack: PagesStack) -> None:
    async with pages_stack.browser_client() as client:
        asked = await client.get("/sign-in?lang=cy")
        assert (html_lang(asked.text), asked.status_code) == ("cy", 200)
        assert '<h1 class="govuk-heading-l">Mewngofnodi</h1>' in asked.text
        assert (
            "Neidio i&#39;r prif gynnwys" in asked.text or "Neidio i'r prif gynnwys" in asked.text
        )
        assert client.cookies.get(LANGUAGE_COOKIE) == "cy"
        # The switch offers English, on the same page, and marks Welsh as the current one.
        assert 'href="/sign-in?lang=en" hreflang="en" lang="en"' in asked.text
        assert '<span aria-current="true">Cymraeg</span>' in asked.text
        # The cookie keeps Welsh, the error messages included.
        refused = await client.post("/sign-in", data={"email": "not an address", "next": "/"})
        assert refused.status_code == 422 and html_lang(refused.text) == "cy"
        assert "Mae problem wedi codi" in refused.text
        assert "Rhowch gyfeiriad e-bost yn y fformat cywir" in refused.text
        back = await client.get("/sign-in?lang=en")
        assert html_lang(back.text) == "en" and ">Sign in</h1>" in back.text
        assert client.cookies.get(LANGUAGE_COOKIE) == "en"

    async with pages_stack.browser_client() as client:
        by_browser = await client.get("/sign-in", headers={"Accept-Language": "cy"})
        assert html_lang(by_browser.text) == "cy" and ">Mewngofnodi</h1>" in by_browser.text
        # The sign-in link mailed from a Welsh page is in the person's language in the
        # directory (English for PC Reyes): a mail to a known person goes in theirs.
        before = len(pages_stack.mails(PRACTITIONER, "sign-in link"))
        sent = await client.post(
            "/sign-in", data={"email": PRACTITIONER}, headers={"Accept-Language": "cy"}
        )
        assert ">Gwiriwch eich e-bost</h1>" in sent.text
        mail = (await pages_stack.mail_to(PRACTITIONER, before + 1, "sign-in link"))[-1]
        assert "Open this link to sign in" in mail.get_content()
        link = re.search(r"http\S+/sign-in/\S+", mail.get_content())
        assert link is not None
        confirm = await client.get(link.group(0), headers={"Accept-Language": "cy"})
        assert "Rydych yn mewngofnodi fel PC Reyes" in confirm.text
        assert "ymarferydd yn Northshire Police" in confirm.text
        assert csrf_of(confirm.text)


# Line managers at both agencies: one reads Welsh, two English (the directory's default).
MIXED = Directory.model_validate(
    {
        "partnership": {"name": "Partneriaeth Diogelu Plant Gogledd Cymru"},
        "agencies": [
            {
                "name": RAISING,
                "contacts": [
                    {"name": "Pennaeth", "role": "manager", "email": "pennaeth@ysgol.example",
                     "language": "cy"},
                    {"name": "Safeguarding inbox", "role": "manager",
                     "email": "diogelu@ysgol.example"},
                ],
            },
            {
                "name": RECEIVING,
                "contacts": [
                    {"name": "Team manager", "role": "manager", "email": "tm@csc.example",
                     "language": "en"},
                ],
            },
        ],
    }
)  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_mail_goes_in_its_readers_language_and_a_shared_mailbox_gets_both(
    engine: AsyncEngine,
) -> None:
    mailbox = Mailbox()
    request = raised_notice("ESC-CYMRAEG")
    async with smtp_server(mailbox) as smtp:
        settings = conftest.isolated_settings(**smtp)
        in_wales = await notifier_for(engine, MIXED, Outbox(settings), PUBLIC_URL, "wales")
        assert (await attempt(1).run(in_wales.notify, request)).sent == 3

    (welsh,) = mailbox.to("pennaeth@ysgol.example")
    # The built-in ladder's stage names are the service's own words: in Welsh too.
    assert str(welsh["Subject"]) == "[ESC-CYMRAEG] Uwchgyfeiriad newydd ar gam 1: Rheolwyr llinell"
    body = welsh.get_content()
    assert "Terfyn amser: Mer 30 Rhag 2026 10:00 (amser Llundain)" in body
    assert "Agorwch yr uwchgyfeiriad" in body and "Open the escalation" not in body

    (english,) = mailbox.to("tm@csc.example")
    assert str(english["Subject"]) == "[ESC-CYMRAEG] New escalation at stage 1: Line managers"
    assert "Time limit: Wed 30 Dec 2026 10:00 (London time)" in english.get_content()
    assert "Uwchgyfeiriad" not in english.get_content()

    (inbox,) = mailbox.to("diogelu@ysgol.example")  # the directory's language: English
    assert str(inbox["Subject"]).startswith("[ESC-CYMRAEG] New escalation")


def test_a_reader_of_no_known_language_gets_both_welsh_first() -> None:
    """A webhook (no language in the directory) where the partnership is in Wales."""
    both = compose(raised_notice("ESC-DWYIEITHOG"), PUBLIC_URL, ("cy", "en"))
    assert both.subject == (
        "[ESC-DWYIEITHOG] Uwchgyfeiriad newydd ar gam 1: Rheolwyr llinell"
        " / New escalation at stage 1: Line managers"
    )
    cymraeg, saesneg = both.body.split(LANGUAGE_BREAK)
    assert cymraeg.startswith("Uwchgyfeiriad newydd ar gam 1") and "Agorwch" in cymraeg
    assert saesneg.startswith("New escalation at stage 1") and "Open the escalation" in saesneg
    # The webhook's fields stay English; the texts come in each language, Welsh first.
    assert both.payload["event"] == "raised"
    assert list(both.payload["messages"]) == ["cy", "en"]  # type: ignore[call-overload]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_outside_wales_a_welsh_reader_still_reads_welsh(engine: AsyncEngine) -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as smtp:
        outbox = Outbox(conftest.isolated_settings(**smtp))
        notifier = await notifier_for(engine, MIXED, outbox, PUBLIC_URL)
        await attempt(1).run(notifier.notify, raised_notice("ESC-ENGLAND"))
    (english,) = mailbox.to("tm@csc.example")
    assert str(english["Subject"]) == "[ESC-ENGLAND] New escalation at stage 1: Line managers"
    (welsh,) = mailbox.to("pennaeth@ysgol.example")
    assert str(welsh["Subject"]).startswith("[ESC-ENGLAND] Uwchgyfeiriad newydd")


def test_the_built_in_ladders_words_are_in_the_catalogue() -> None:
    words = {p.title for p in BUILT_IN_POLICIES.values()}
    words |= {s.name for p in BUILT_IN_POLICIES.values() for s in p.stages}
    assert words == set(BUILT_IN_LADDER_WORDS)


def test_the_action_tables_words_read_in_welsh() -> None:
    with in_language("cy"):
        untranslated = [word for word in shown_words() if gettext(word) == word]
    assert untranslated == []


def test_the_timeline_reads_in_welsh_and_keeps_what_people_wrote() -> None:
    event = AuditEvent(
        escalation_id="ESC-1",
        event_key="ESC-1:1",
        action="reminder",
        actor="system",
        stage=1,
        at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        details={"due": "Mon 30 Nov 2026 17:00", "stage": "Line managers", "reason": "Dim ateb"},
        prev_hash="",
        hash="",
    )
    with in_language("cy"):
        (entry,) = timeline([event])
    assert (entry.what, entry.at) == ("Anfonwyd nodyn atgoffa", "Llun 30 Tach 2026 10:00")
    assert entry.details == [
        ("Roedd i'w wneud erbyn", "Mon 30 Nov 2026 17:00"),  # the clock's own text
        ("Cam", "Rheolwyr llinell"),
        ("Rheswm", "Dim ateb"),  # as written
    ]
