"""The people's service over real HTTP: API and pages (uvicorn), a worker on the dev server, and
an SMTP listener that receives the sign-in links and the notifications."""

import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from casework.actors import label
from casework.language_choice import choose_language
from core.directory import seed_file
from core.languages import chosen_language
from core.settings import Settings
from database.directory_people import find_active_person
from database.engine import create_engine, session_factory
from tests.api_stack import serve
from tests.conftest import isolated_settings
from tests.ladders import (
    CHILDRENS_SERVICES,
    HEALTH,
    POLICE,
    STACK_LADDERS,
    directory,
    directory_file,
    policy_file,
)
from tests.polling import eventually
from tests.ports import listening_socket, port_of
from tests.smtp_listener import Mailbox, smtp_listener
from worker.main import running_worker

# The pages' partnership (a module's DIRECTORY may bring another).
AGENCIES = [POLICE, CHILDRENS_SERVICES, HEALTH]
DIRECTORY = directory(*AGENCIES)
# Tests sign the same people in many times; the limit is still met by test_pages.
SIGN_IN_LIMIT = 20
LINK = re.compile(r"https?://\S+/sign-in/[A-Za-z0-9_-]+")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# What a browser sends with a click on a link of the service's own page (the header's switch).
FROM_THE_PAGES = {"Sec-Fetch-Site": "same-origin"}


@dataclass
class PagesStack:
    url: str
    settings: Settings
    engine: AsyncEngine
    mailbox: Mailbox
    temporal_env: WorkflowEnvironment

    def browser_client(self) -> httpx.AsyncClient:
        """A client that asks for pages, as a browser does, and keeps its cookies."""
        return httpx.AsyncClient(
            base_url=self.url, headers={"Accept": "text/html"}, timeout=30, follow_redirects=False
        )

    def api_client(self, token: str) -> httpx.AsyncClient:
        """A system's client of the API, with an API key's token."""
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def mails(self, address: str, subject: str = "") -> list[EmailMessage]:
        """The messages to `address` with `subject` in theirs, so far."""
        return [m for m in self.mailbox.to(address) if subject in str(m["Subject"])]

    async def mail_to(self, address: str, count: int = 1, subject: str = "") -> list[EmailMessage]:
        """The messages to `address` (waits until there are `count` of them with `subject`)."""

        async def found() -> list[EmailMessage]:
            mails = self.mails(address, subject)
            return mails if len(mails) >= count else []

        return await eventually(found, f"{count} message(s) to {address} about {subject!r}")

    async def sign_in_link(self, address: str, next_path: str = "/") -> str:
        before = len(self.mails(address, "sign-in link"))
        async with self.browser_client() as client:
            answer = await client.post("/sign-in", data={"email": address, "next": next_path})
            assert answer.status_code == 200, answer.text
        mails = await self.mail_to(address, before + 1, "sign-in link")
        found = LINK.search(mails[-1].get_content())
        assert found is not None
        return found.group(0)

    @asynccontextmanager
    async def language_kept(self, address: str) -> AsyncIterator[None]:
        """Whatever the switch writes for `address` in between, their language is back in the
        directory afterwards (on its record, as their own choice), pass or fail: the module's
        stack is shared, and the next test expects it."""
        async with session_factory(self.engine)() as db:
            person = await find_active_person(db, address)
        assert person is not None
        try:
            yield
        finally:
            language = chosen_language(person.language)  # "both": the switch never changes it
            if language is not None:
                async with session_factory(self.engine)() as db:
                    await choose_language(db, address, language, label(person))

    @asynccontextmanager
    async def signed_in(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """A browser-like client signed in as `address` (through the mailed link)."""
        async with self.browser_client() as client:
            link = await self.sign_in_link(address)
            confirm = await client.get(link)
            assert confirm.status_code == 200, confirm.text
            spent = await client.post(link, data={"csrf_token": csrf_of(confirm.text)})
            assert spent.status_code == 303, spent.text
            yield client


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture(scope="module")
def temporal_ui_origin() -> str:
    """The Temporal Web UI's origin, allowed to call the codec with credentials."""
    return "http://127.0.0.1:8233"


@pytest.fixture(scope="module")
def pages_overrides() -> dict[str, Any]:
    """Settings a module's stack has besides the usual (its own fixture of this name)."""
    return {}


@pytest.fixture(scope="module")
def pages_socket(module_database_url: str) -> socket.socket:
    """Where the module's stack listens, bound before it starts: other fixtures of the module
    may need its address (an identity provider's redirect). One for each stack, so one for each
    database (the stack's server closes it when it stops)."""
    return listening_socket()


@pytest.fixture(scope="module")
async def pages_stack(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    temporal_ui_origin: str,
    pages_overrides: dict[str, Any],
    pages_socket: socket.socket,
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    payload_key_file: Path,
) -> AsyncIterator[PagesStack]:
    config = tmp_path_factory.mktemp("config")
    # A module may bring ladders (POLICIES, by name; NATION, its file's nation) and a directory
    # (DIRECTORY) of its own.
    policy_file(
        config / "policies.toml",
        getattr(request.module, "POLICIES", STACK_LADDERS),
        getattr(request.module, "NATION", None),
    )
    directory_file(config / "directory.toml", getattr(request.module, "DIRECTORY", DIRECTORY))
    mailbox = Mailbox()
    port = port_of(pages_socket)
    async with smtp_listener(mailbox) as smtp:
        settings = isolated_settings(
            database_url=module_database_url,
            task_queue=f"pages-{uuid.uuid4()}",
            temporal_address=dev_env.client.service_client.config.target_host,
            policy_file=config / "policies.toml",
            directory_file=config / "directory.toml",
            payload_key_file=payload_key_file,
            smtp_host=smtp["smtp_host"],
            smtp_port=smtp["smtp_port"],
            public_url=f"http://127.0.0.1:{port}",
            codec_cors_origin=temporal_ui_origin,
            sign_in_limit_per_address=SIGN_IN_LIMIT,
            sign_in_limit_per_client=1_000,
            **pages_overrides,
        )
        engine = create_engine(module_database_url)
        server, task = await serve(create_app(settings), pages_socket)
        try:
            async with running_worker(
                dev_env.client, settings, engine, seed_file(settings.directory_file)
            ):
                yield PagesStack(
                    url=settings.public_url,
                    settings=settings,
                    engine=engine,
                    mailbox=mailbox,
                    temporal_env=dev_env,
                )
        finally:
            server.should_exit = True
            await task
            await engine.dispose()
