"""Demo keys and the welcome text `make run` prints: what a newcomer needs next."""

import json
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from api.keys import create_key, find_key
from database.directory_people import Person, find_active_person
from database.engine import create_engine, session_factory
from launcher.plan import Stack
from web.sessions import issue_link
from workflows.policy import Role

READY = "Stack ready"


@dataclass(frozen=True)
class DemoKey:
    role: Role
    agency: str
    name: str


# The demo partnership of config/directory.example.toml.
DEMO_KEYS = (
    DemoKey("practitioner", "Northshire Police", "Demo practitioner"),
    DemoKey("manager", "Northshire Children's Services", "Demo manager"),
    DemoKey("board", "Northshire Safeguarding Children Partnership", "Demo partnership board"),
)
# People of config/directory.example.toml to print a sign-in link for: one who raises, one who
# decides at stage 1, the partnership (any other directory: its first three people).
DEMO_PEOPLE = (
    "ppu@northshire-police.example.org",
    "sam.jones@northshire-cs.example.org",
    "independent.chair@northshire-scp.example.org",
)
DEMO_RAISE = {
    "receiving_agency": "Northshire Children's Services",
    "child_reference": "DEMO-0001",
    "summary": "Referral closed as threshold not met; the school still sees signs of neglect.",
}


# --- demo keys ---------------------------------------------------------------------------------


def _read_demo_keys(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in stored.items() if isinstance(v, str)} if isinstance(stored, dict) else {}
    )


def _write_private(path: Path, text: str) -> None:
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(draft, path)


async def demo_keys(stack: Stack) -> tuple[dict[str, str], bool]:
    """The demo keys and whether any was created now; kept ones are checked against the database."""
    stored = _read_demo_keys(stack.demo_keys_file)
    keys: dict[str, str] = {}
    engine = create_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as db:
            for demo in DEMO_KEYS:
                token = stored.get(demo.role)
                if token is None or await find_key(db, token) is None:
                    _, token = await create_key(
                        db, name=demo.name, agency=demo.agency, role=demo.role
                    )
                keys[demo.role] = token
    finally:
        await engine.dispose()
    created = keys != stored
    if created:
        _write_private(stack.demo_keys_file, json.dumps(keys, indent=2) + "\n")
    return keys, created


async def demo_sign_in_links(stack: Stack) -> list[tuple[Person, str]]:
    """A fresh one-time sign-in link (15 minutes) for each demo person still in the directory."""
    links = []
    engine = create_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as db:
            for email in DEMO_PEOPLE:
                person = await find_active_person(db, email)
                if person is None:
                    continue
                token = await issue_link(db, person.email, "/")
                links.append((person, f"{stack.api_url}/sign-in/{token}"))
    finally:
        await engine.dispose()
    return links


def welcome(
    stack: Stack,
    keys: dict[str, str],
    created: bool,
    links: list[tuple[Person, str]] | None = None,
    demo: list[tuple[str, str]] | None = None,
) -> str:
    """What a newcomer needs next: where things are, the keys and a request to try."""
    namespace = stack.settings.temporal_namespace
    # JSON allows \u0027 for the apostrophe, which a single-quoted shell word cannot hold.
    body = json.dumps(DEMO_RAISE).replace("'", "\\u0027")
    curl = shlex.join(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{stack.api_url}/escalations",
            "-H",
            f"Authorization: Bearer {keys['practitioner']}",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
    )
    state = "created now" if created else "kept"
    sign_in = [
        "Sign in to the pages (each link works once, for 15 minutes; more at "
        f"{stack.api_url}/sign-in, shown in this terminal):",
        *(f"  {p.role:<13} {p.name} ({p.agency}): {link}" for p, link in links or []),
        "",
    ]
    mail_log = stack.settings.mail_log_file
    raised = [
        "Demo escalations, raised now on the demo ladder (minutes a stage; DEMO_DATA=0: none):",
        *(f"  {reference}  {what}" for reference, what in demo or []),
        "",
    ]
    lines = [
        "",
        f"Pages        {stack.api_url}/   (people sign in with their directory email)",
        f"API          {stack.api_url}   (docs: {stack.api_url}/docs)",
        f"Temporal UI  {stack.ui_url}/namespaces/{namespace}/workflows",
        "             (decoded for a partnership person signed in to the pages: in the UI's Codec",
        "              Server settings use this browser's setting, endpoint "
        f"{stack.api_url}/codec, and turn on",
        '              "Include cross-origin credentials", Apply, then reload the page;',
        "              docs/operations.md)",
        f"Data         {stack.data_dir}   (Temporal log: {stack.temporal_log})",
        *(
            [f"Mails        {mail_log}   (no mail server here: each mail's text is kept there)"]
            if mail_log and not stack.settings.smtp_host
            else []
        ),
        "",
        f"Demo API keys ({state} in {stack.demo_keys_file}):",
        *(f"  {demo.role:<13} {demo.agency:<46} {keys[demo.role]}" for demo in DEMO_KEYS),
        "",
        *sign_in,
        *(raised if demo else []),
        "Raise an escalation as the practitioner:",
        "  " + curl,
        "Then list it as the manager or the board:",
        "  "
        + shlex.join(
            [
                "curl",
                "-sS",
                f"{stack.api_url}/escalations",
                "-H",
                f"Authorization: Bearer {keys['manager']}",
            ]
        ),
        "Operating it (settings, UI queries, signals): docs/operations.md",
        "",
        f"{READY}: API {stack.api_url}, Temporal UI {stack.ui_url}. Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
