"""/docs works offline: every asset from the service itself, no inline script, and Swagger UI
renders in a real browser under a policy that allows only the service's own scripts."""

import asyncio
import shutil
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from tests.api_stack import serve
from tests.conftest import fresh_database, isolated_settings
from tests.ladders import directory, directory_file
from tests.ports import listening_socket, port_of

CHROMIUM = "/usr/bin/chromium"
# Scripts, styles, images and fetches from the page's own origin only: no inline script, no CDN.
STRICT_POLICY = "default-src 'self'"


class PageParts(HTMLParser):
    """The addresses a page loads, and the text of any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []
        self.inline_scripts: list[str] = []
        self.openapi_url: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.addresses += [found[a] or "" for a in ("src", "href") if a in found]
        self.openapi_url = found.get("data-openapi-url") or self.openapi_url
        self._in_script = tag == "script" and "src" not in found
        if any(name.startswith("on") for name in found):
            self.inline_scripts.append(str(found))

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


class StrictPolicy:
    """Adds the Content-Security-Policy a hardened deployment would send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                policy = (b"content-security-policy", STRICT_POLICY.encode())
                message["headers"] = [*message.get("headers", []), policy]
            await send(message)

        await self.app(scope, receive, with_policy if scope["type"] == "http" else send)


@pytest.fixture(scope="module")
async def docs_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The API on a free port, under the strict policy; no Temporal is needed."""
    here = tmp_path_factory.mktemp("docs")
    with fresh_database("sqlite", here) as database_url:
        settings = isolated_settings(
            database_url=database_url,
            payload_key_file=here / "payload-keys.json",
            directory_file=directory_file(here / "directory.toml", directory(people=False)),
        )
        sock = listening_socket()
        port = port_of(sock)
        server, task = await serve(StrictPolicy(create_app(settings)), sock)
        try:
            yield f"http://127.0.0.1:{port}/docs"
        finally:
            server.should_exit = True
            await task


async def test_docs_load_only_the_services_own_assets(docs_url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(docs_url)
        assert page.status_code == 200
        parts = PageParts()
        parts.feed(page.text)

        assert parts.inline_scripts == []
        assert parts.openapi_url == "/openapi.json"
        assert len(parts.addresses) == 4  # icon, stylesheet, Swagger UI, the start script
        for address in [*parts.addresses, parts.openapi_url]:
            assert address.startswith("/") and not address.startswith("//"), address
            asset = await http.get(httpx.URL(docs_url).join(address))
            assert asset.status_code == 200, address
            assert asset.content, address
        # FastAPI's other docs page would load from a CDN: there is none.
        assert (await http.get(httpx.URL(docs_url).join("/redoc"))).status_code == 404


@pytest.mark.slow  # a process of its own
async def test_swagger_ui_renders_offline_under_a_strict_policy(
    docs_url: str, tmp_path: Path
) -> None:
    assert shutil.which(CHROMIUM), "Debian's chromium is needed for browser tests"
    browser = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",  # lets the page's scripts run before the DOM is taken
        "--dump-dom",
        docs_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    dom, log = await asyncio.wait_for(browser.communicate(), timeout=120)
    rendered, console = dom.decode(), log.decode(errors="replace")

    # Swagger UI read the OpenAPI document and drew the operations.
    assert 'data-path="/escalations/{escalation_id}/timeline"' in rendered, console[-2000:]
    assert "Content Security Policy" not in console
