"""An operator signed in to the service reads decoded payloads and sends a signal in the
Temporal Web UI: the dev server's own UI, in Chromium, calling the service's codec with the
session cookie ("include cross-origin credentials"), CORS limited to the UI's origin."""

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from database.audit_chain import timeline
from database.engine import session_factory
from database.tables import Escalation
from tests.browser import browser, needs_chromium, screenshot
from tests.conftest import dev_server
from tests.ladders import CHAIR, CS_MANAGER, POLICE
from tests.pages_stack import PagesStack
from tests.polling import eventually
from tests.ports import reserved_port
from tests.test_pages import ANSWERS, raise_through_pages

__all__ = ["browser"]
pytestmark = [
    needs_chromium(),
    pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def ui_port() -> Iterator[int]:
    """The Web UI's port, held for the module (tests/ports.py)."""
    with reserved_port() as port:
        yield port


@pytest.fixture(scope="module")
def temporal_ui_origin(ui_port: int) -> str:
    return f"http://127.0.0.1:{ui_port}"


@pytest.fixture(scope="module")
async def dev_env(payload_key_file: Path, ui_port: int) -> AsyncIterator[WorkflowEnvironment]:
    """This module's own dev server, with its Web UI on `ui_port`."""
    async with dev_server(
        payload_key_file, "--ui-disable-news-fetch", ui=True, ui_port=ui_port
    ) as env:
        yield env


async def test_an_operator_decodes_and_signals_in_the_temporal_ui(
    browser: Browser, pages_stack: PagesStack, temporal_ui_origin: str
) -> None:
    async with pages_stack.signed_in(CS_MANAGER) as client:
        escalation_id = await raise_through_pages(
            client, [("/raise", {"receiving_agency": POLICE, "policy": "standard"}), *ANSWERS[1:]]
        )
    context = await browser.new_context()
    try:
        page = await context.new_page()
        # The operator signs in to the service (a partnership person).
        await page.goto(await pages_stack.sign_in_link(CHAIR))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_text("Signed in as")).to_be_visible()

        # The UI's codec setting: this service's /codec, with cross-origin credentials.
        await page.goto(f"{temporal_ui_origin}/namespaces/default/workflows/{escalation_id}")
        await page.get_by_test_id("data-encoder-status").click()
        await page.get_by_test_id("use-local-endpoint-input").check()
        await page.get_by_test_id("data-encoder-endpoint-input").fill(f"{pages_stack.url}/codec")
        await page.get_by_test_id("data-encoder-include-credentials").click()
        await expect(page.locator("#pass-access-credentials")).to_be_checked()
        await page.locator("#data-encoder-settings").get_by_role("button", name="Apply").click()
        await page.reload()
        decoded = page.get_by_role("textbox", name="Input")
        await expect(decoded).to_contain_text(f'"escalation_id": "{escalation_id}"')
        await expect(decoded).to_contain_text('"policy_name": "standard"')
        await screenshot(page, "temporal-ui-decoded")

        # Send `escalate` from the UI: its input is encrypted through /codec/encode.
        await page.get_by_role("button", name="More Actions").click()
        await (
            page.get_by_role("menuitem", name="Send a Signal").locator("visible=true").first.click()
        )
        modal = page.get_by_test_id("signal-confirmation-modal")
        await modal.get_by_test_id("signal-select-button").locator("visible=true").first.click()
        await modal.get_by_role("option", name="escalate").click()
        signal = {"by": "Independent chair (operator)", "reason": "Sent from the Temporal UI"}
        await modal.get_by_role("textbox").last.fill(json.dumps(signal))
        await screenshot(page, "temporal-ui-signal")
        await modal.get_by_role("button", name="Submit").click()
        await expect(page.locator("#workflow-signal-success-toast")).to_be_visible()
    finally:
        await context.close()

    async def at_stage_two() -> bool:
        async with session_factory(pages_stack.engine)() as db:
            row = await db.get(Escalation, escalation_id)
        return row is not None and row.stage == 2

    await eventually(at_stage_two, "escalated from the Temporal UI")
    async with session_factory(pages_stack.engine)() as db:
        escalated = [e for e in await timeline(db, escalation_id) if e.action == "escalated"]
    assert escalated[-1].details["reason"] == "Sent from the Temporal UI"


async def test_the_codec_takes_the_session_only_from_the_ui_and_the_partnership(
    pages_stack: PagesStack, temporal_ui_origin: str
) -> None:
    body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IngiCg=="}]}
    async with httpx.AsyncClient(base_url=pages_stack.url) as http:
        preflight = await http.options(
            "/codec/encode",
            headers={
                "Origin": temporal_ui_origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == temporal_ui_origin
        assert preflight.headers["access-control-allow-credentials"] == "true"
        elsewhere = await http.options(
            "/codec/encode",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in elsewhere.headers
    for email, expected in ((CHAIR, 200), (CS_MANAGER, 403)):
        async with pages_stack.signed_in(email) as person:
            answer = await person.post(
                "/codec/encode", json=body, headers={"Origin": temporal_ui_origin}
            )
            assert answer.status_code == expected, answer.text
            if expected == 200:
                assert answer.headers["access-control-allow-origin"] == temporal_ui_origin
                forged = await person.post(
                    "/codec/decode", json=body, headers={"Origin": "https://evil.example"}
                )
                assert forged.status_code == 403
    async with httpx.AsyncClient(base_url=pages_stack.url) as anonymous:
        assert (await anonymous.post("/codec/encode", json=body)).status_code == 401
