"""Sign-in reveals nothing: a known and an unknown address run the same code and the same
queries before the answer (the look-up, the link and the mail come after it), a database outage
answers both alike, too many requests get 429 with Retry-After, and a page that meets a database
outage is GOV.UK's "Sorry, there is a problem with the service", not JSON."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from fastapi import FastAPI
from playwright.async_api import Browser
from sqlalchemy import event
from sqlmodel import select

from api.app import create_app
from database.tables import SignInLink
from tests.api_stack import serve
from tests.browser import axe_violations, browser, needs_chromium, screenshot
from tests.conftest import isolated_settings
from tests.engine_helpers import SQLITE_ONLY
from tests.ladders import PRACTITIONER, STRANGER, directory_file
from tests.pages_stack import DIRECTORY, PagesStack
from tests.ports import listening_socket, port_of, reserved_port

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tuple(str(ROOT / package) for package in ("api", "web", "casework", "core", "database"))
ORIGIN = {"Origin": "http://testserver"}
__all__ = ["browser"]  # the module's fixture


@asynccontextmanager
async def app_on(database_url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[FastAPI]:
    directory = directory_file(tmp_path / "directory.toml", DIRECTORY)
    with reserved_port() as nobody_listens:
        settings = isolated_settings(
            database_url=database_url,
            directory_file=directory,
            payload_key_file=tmp_path / "keys.json",
            temporal_address=f"127.0.0.1:{nobody_listens}",
            public_url="http://testserver",
            **overrides,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield app


# The app's own tasks beside the requests: the one that issues links after the answers, and
# the worker-alert watcher, which wakes when it will.
BACKGROUND = ("LinkRequests.serve", "WorkerAlerts.watch")


def _in_the_background() -> bool:
    """Whether this runs in one of the app's background tasks, not the request."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and any(name in repr(task.get_coro()) for name in BACKGROUND)


async def _traced(app: FastAPI, email: str) -> tuple[httpx.Response, list[str], list[str]]:
    """The answer to asking for a link, with the project's calls and the SQL run for it."""
    calls: list[str] = []
    statements: list[str] = []

    def profile(frame: FrameType, what: str, _: object) -> None:
        in_project = frame.f_code.co_filename.startswith(PROJECT)
        if what == "call" and in_project and not _in_the_background():
            calls.append(f"{frame.f_globals.get('__name__')}.{frame.f_code.co_qualname}")

    def statement(*args: Any) -> None:
        if not _in_the_background():
            statements.append(str(args[2]))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            sys.setprofile(profile)
            try:
                answer = await http.post(
                    "/sign-in", data={"email": email, "next": "/"}, headers=ORIGIN
                )
            finally:
                sys.setprofile(None)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    return answer, calls, statements


def _page_text(answer: httpx.Response, email: str) -> str:
    return answer.text.replace(email, "ADDRESS")


@SQLITE_ONLY
async def test_known_and_unknown_addresses_run_the_same_code_and_queries(
    database_url: str, tmp_path: Path
) -> None:
    async with app_on(database_url, tmp_path) as app:
        await _traced(app, "first@elsewhere.example.org")  # the app's first request sets it up
        known, known_calls, known_sql = await _traced(app, PRACTITIONER)
        unknown, unknown_calls, unknown_sql = await _traced(app, STRANGER)
        assert known.status_code == unknown.status_code == 200
        assert _page_text(known, PRACTITIONER) == _page_text(unknown, STRANGER)
        assert known_calls == unknown_calls and "web.routes.sign_in.ask_for_link" in known_calls
        assert known_sql == unknown_sql == []  # nothing read or written before the answer
        # After it, the known person's link is issued (and the stranger's never is).
        await app.state.sign_in_links.queue.join()
        async with app.state.sessions() as db:
            issued = list(await db.exec(select(SignInLink.email)))
        assert issued == [PRACTITIONER]


async def test_a_database_outage_answers_both_alike_and_pages_say_sorry(
    tmp_path: Path, held_port: int
) -> None:
    gone = f"postgresql://postgres@127.0.0.1:{held_port}/gone"
    async with app_on(gone, tmp_path) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answers = [
                await http.post("/sign-in", data={"email": email}, headers=ORIGIN)
                for email in (PRACTITIONER, STRANGER)
            ]
            assert [a.status_code for a in answers] == [200, 200]
            assert _page_text(answers[0], PRACTITIONER) == _page_text(answers[1], STRANGER)

            browser = {"Accept": "text/html", "Cookie": "escalations_session=x"}
            page = await http.get("/escalations/ESC-00000000", headers=browser)
            assert page.status_code == 503 and page.headers["retry-after"]
            assert page.headers["content-type"].startswith("text/html")
            assert "Sorry, there is a problem with the service" in page.text
            api = await http.get("/escalations", headers={"Authorization": "Bearer x"})
            assert api.status_code == 503
            assert api.headers["content-type"] == "application/problem+json"


async def test_too_many_sign_in_requests_say_when_to_come_back(pages_stack: PagesStack) -> None:
    async with pages_stack.browser_client() as browser:
        answers = [
            await browser.post("/sign-in", data={"email": "flood@elsewhere.example.org"})
            for _ in range(pages_stack.settings.sign_in_limit_per_address + 1)
        ]
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) > 0
    assert "Too many sign-in requests" in answers[-1].text


@needs_chromium()
async def test_the_sorry_page_is_accessible(
    browser: Browser, tmp_path: Path, held_port: int
) -> None:
    gone = f"postgresql://postgres@127.0.0.1:{held_port}/gone"
    sock = listening_socket()
    port = port_of(sock)
    async with app_on(gone, tmp_path) as app:
        server, serving = await serve(app, sock)
        context = await browser.new_context()
        try:
            url = f"http://127.0.0.1:{port}"
            await context.add_cookies([{"name": "escalations_session", "value": "x", "url": url}])
            page = await context.new_page()
            answer = await page.goto(f"{url}/escalations/ESC-00000000")
            assert answer is not None and answer.status == 503
            assert "Sorry, there is a problem with the service" in await page.title()
            assert await axe_violations(page) == []
            await screenshot(page, "service-unavailable")
        finally:
            await context.close()
            server.should_exit = True
            await serving
