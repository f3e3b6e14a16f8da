"""The report page for people, over real HTTP, on the seeded record of test_reports.py (its
figures are worked out by hand there): the partnership's and an agency's view, the published
form, refusals of a bad period, the CSV downloads; then the page in Chromium with axe-core."""

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from casework.publication import Count
from core.directory import Agency, Partnership
from database.engine import create_engine, session_factory
from tests.api_stack import serve
from tests.browser import axe_violations, browser, needs_chromium, screenshot
from tests.conftest import isolated_settings
from tests.ladders import CHAIR, THE_PARTNERSHIP, contact, directory, directory_file
from tests.ports import listening_socket, port_of
from tests.test_reports import HEALTH, POLICE, SCHOOL, SOCIAL_CARE, seed
from web.charts import bar_chart, column_chart, nice_top
from web.page_context import SESSION_COOKIE
from web.periods import financial_year, london_today
from web.sessions import start_session

__all__ = ["browser"]  # the module's fixture

KHAN = "ds.khan@police.example.org"
# test_reports' agencies; the partnership's chair, and a police manager.
DIRECTORY = directory(
    Agency(name=POLICE, contacts=[contact("DS Khan", KHAN, "manager")]),
    *(SOCIAL_CARE, HEALTH, SCHOOL),
    partnership=Partnership(board=THE_PARTNERSHIP.board),
)
Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


@dataclass
class ReportStack:
    url: str
    engine: AsyncEngine

    async def cookie(self, email: str) -> str:
        """A live session for `email` (signing in by mailed link is test_pages' concern)."""
        async with session_factory(self.engine)() as db:
            token, _ = await start_session(db, email)
        return token

    async def client(self, email: str | None) -> httpx.AsyncClient:
        cookies = {SESSION_COOKIE: await self.cookie(email)} if email else {}
        return httpx.AsyncClient(
            base_url=self.url, headers={"Accept": "text/html"}, cookies=cookies, timeout=30
        )


@pytest.fixture(scope="module")
async def stack(
    module_database_url: str, payload_key_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ReportStack]:
    config = tmp_path_factory.mktemp("directory")
    directory_path = directory_file(config / "directory.toml", DIRECTORY)
    sock = listening_socket()
    port = port_of(sock)
    settings = isolated_settings(
        database_url=module_database_url,
        payload_key_file=payload_key_file,
        directory_file=directory_path,
        public_url=f"http://127.0.0.1:{port}",
    )
    engine = create_engine(module_database_url)
    await seed(engine)
    server, task = await serve(create_app(settings), sock)
    try:
        yield ReportStack(url=settings.public_url, engine=engine)
    finally:
        server.should_exit = True
        await task
        await engine.dispose()


def figure(page: str, key: str) -> str:
    found = re.search(rf'id="figure-{key}">([^<]*)<', page)
    assert found is not None, key
    return found.group(1).strip()


def table(page: str, key: str) -> list[list[str]]:
    """A table's body rows as text cells."""
    found = re.search(rf'id="table-{key}".*?<tbody[^>]*>(.*?)</tbody>', page, re.DOTALL)
    assert found is not None, key
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.DOTALL)
    return [
        [
            re.sub(r"\s+", " ", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        for row in rows
    ]


async def get(stack: ReportStack, email: str | None, path: str, **params: str) -> httpx.Response:
    async with await stack.client(email) as client:
        return await client.get(path, params=params)


async def test_the_partnership_sees_every_figure_of_the_period(stack: ReportStack) -> None:
    answer = await get(stack, CHAIR, "/reports", **Q1)
    page = answer.text

    assert answer.status_code == 200, page
    assert "Every escalation in the area" in page
    headline = {
        key: figure(page, key)
        for key in ("raised", "resolved", "time-limits-passed", "median-days", "open-now",
                    "overdue-now")
    }  # fmt: skip
    # 9 raised; E1, E2, E5, E7 resolved in 0, 2, 7, 10 working days; E3 is the overdue one.
    assert headline == {
        "raised": "9",
        "resolved": "4",
        "time-limits-passed": "4",
        "median-days": "4.5",
        "open-now": "2",
        "overdue-now": "1",
    }
    assert table(page, "raising") == [
        ["Children&#39;s Services", "3"], ["NHS Trust", "2"], ["Police", "2"], ["School", "2"],
    ]  # fmt: skip
    assert table(page, "stage") == [["Stage 1", "6"], ["Stage 2", "2"], ["Stage 3", "1"]]
    assert ["Closed by an operator", "1"] in table(page, "outcome")
    assert table(page, "monthly") == [
        ["January 2026", "2", "3"], ["February 2026", "3", "2"], ["March 2026", "4", "2"],
    ]  # fmt: skip
    # Each chart is an image with a summary; its bars drawn with attributes, never style=.
    assert 'role="img" aria-label="Bar chart of escalations by the agency that raised them.' in page
    assert "style=" not in page.split("<main", 1)[1]
    assert 'href="/reports"' in page and ">Reports<" in page  # in the service navigation


async def test_an_agency_sees_what_it_raised_or_received(stack: ReportStack) -> None:
    page = (await get(stack, KHAN, "/reports", **Q1)).text

    assert "Escalations Police raised or received" in page
    assert figure(page, "raised") == "5"  # E1, E2, E5 received; E7, E9 raised
    assert figure(page, "open-now") == "0"
    assert table(page, "receiving") == [["Police", "3"], ["Children&#39;s Services", "1"],
                                        ["School", "1"]]  # fmt: skip
    assert "School → Children" not in page  # E3 and E4: neither raised nor received by Police


async def test_for_publication_small_counts_show_as_under_five(stack: ReportStack) -> None:
    page = (await get(stack, CHAIR, "/reports", **Q1, publication="on")).text

    assert figure(page, "raised") == "9"
    assert figure(page, "resolved") == "&lt;5"
    assert figure(page, "median-days") == "Not shown"  # fewer than 5 resolved
    assert table(page, "raising")[0] == ["Children&#39;s Services", "&lt;5"]
    assert table(page, "category")[0] == ["threshold", "6"]
    assert "app-chart__bar--suppressed" in page  # drawn as 5, as an outline
    assert "table=escalations" not in page  # the per-escalation table is never published
    assert 'name="publication" type="checkbox" value="on" checked' in page

    printed = (await get(stack, CHAIR, "/reports/print", **Q1, publication="on")).text
    assert "FOR PUBLICATION" in printed and "OFFICIAL-SENSITIVE</p>" not in printed
    assert figure(printed, "resolved") == "&lt;5"
    sensitive = (await get(stack, CHAIR, "/reports/print", **Q1)).text
    assert sensitive.count('<p class="app-marking">OFFICIAL-SENSITIVE</p>') == 2
    assert '<form method="get" action="/reports"' not in sensitive


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from-day": "30", "from-month": "2", "from-year": "2026", **{"to": "2026-03-31"}},
         "from", "Start date must be a real date"),
        ({"from-day": "1", "from-month": "", "from-year": "2026", "to": "2026-03-31"},
         "from", "Start date must include a month"),
        ({"from": "2026-01-01", "to-day": "", "to-month": "", "to-year": ""}, "to",
         "Enter the end date"),
        ({"from": "1 Jan 2026", "to": "2026-03-31"}, "from", "Start date must be a real date"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "to", "The period ends before it starts."),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "to", "A report covers at most 5 years."),
        ({"from": "1969-12-31", "to": "1970-01-01"}, "from", "Reports cover dates from 1970-01-01"),
    ],
)  # fmt: skip
async def test_a_bad_period_is_named_in_the_error_summary(
    stack: ReportStack, params: dict[str, str], field: str, message: str
) -> None:
    answer = await get(stack, CHAIR, "/reports", **params)

    assert answer.status_code == 422, answer.text
    assert "There is a problem" in answer.text and answer.text.startswith("<!DOCTYPE html>")
    assert f'href="#{field}-day">{message}' in answer.text
    assert 'id="figure-raised"' not in answer.text


async def test_the_default_period_is_this_financial_year(stack: ReportStack) -> None:
    page = (await get(stack, CHAIR, "/reports")).text

    start = financial_year(london_today())[0]
    assert 'name="from-day" type="text" value="1"' in page
    assert 'name="from-month" type="text" value="4"' in page
    assert f'name="from-year" type="text" value="{start.year}"' in page
    assert 'id="figure-raised"' in page


def read_csv(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    return list(csv.reader(io.StringIO(answer.text)))


async def test_the_downloads_are_the_reports_csv(stack: ReportStack) -> None:
    figures = read_csv(await get(stack, KHAN, "/reports/download", **Q1, table="aggregate"))
    rows = {(name, key): value for name, key, value in figures[1:]}
    assert (rows[("scope", "")], rows[("raised", "")]) == (POLICE, "5")
    assert rows[("by_outcome", "terminated")] == "1"

    lines = read_csv(await get(stack, KHAN, "/reports/download", **Q1, table="escalations"))
    assert [line[0] for line in lines[1:]] == ["E1", "E2", "E5", "E9", "E7"]
    assert "Olivia" not in str(lines) and "C-1" not in str(lines)

    published = read_csv(await get(stack, CHAIR, "/reports/download", **Q1, publication="on"))
    shown = {(name, key): value for name, key, value in published[1:]}
    assert (shown[("raised", "")], shown[("by_outcome", "resolved")]) == ("9", "<5")

    refused = await get(stack, CHAIR, "/reports/download", **Q1, table="escalations",
                        publication="on")  # fmt: skip
    assert refused.status_code == 400 and "never for publication" in refused.text
    backwards = await get(stack, CHAIR, "/reports/download", **{"from": "2026-03-01",
                                                                  "to": "2026-01-01"})  # fmt: skip
    assert backwards.status_code == 400


async def test_no_session_no_report(stack: ReportStack) -> None:
    for path in ("/reports", "/reports/print", "/reports/download"):
        answer = await get(stack, None, path, **Q1)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")


def test_a_count_shown_as_under_five_is_drawn_as_five() -> None:
    chart = bar_chart("escalations by agency", {"Police": 10, "School": "<5", "GP": 0})

    assert [(bar.length, bar.suppressed) for bar in chart.bars] == [
        (580, False), (290, True), (0, False),
    ]  # fmt: skip
    assert chart.summary == "Bar chart of escalations by agency. Police: 10; School: <5; GP: 0."
    assert [nice_top(n) for n in (0, 4, 6, 11, 51, 999)] == [
        (1, 1), (4, 1), (6, 2), (15, 5), (60, 20), (1000, 200),
    ]  # fmt: skip


def test_five_years_of_months_are_labelled_every_fifth_month() -> None:
    months: dict[str, dict[str, Count]] = {
        f"{2021 + n // 12}-{n % 12 + 1:02}": {"raised": n, "closed": "<5"} for n in range(60)
    }
    chart = column_chart("escalations each month", months)

    assert len(chart.columns) == 120 and len(chart.months) == 12
    assert [(m.month, m.year) for m in chart.months[:4]] == [
        ("Jan", "2021"), ("Jun", ""), ("Nov", ""), ("Apr", "2022"),
    ]  # fmt: skip
    assert [tick.label for tick in chart.ticks] == ["0", "20", "40", "60"]
    assert chart.summary.startswith("Column chart of escalations each month, January 2021 to")
    assert all(c.suppressed for c in chart.columns if c.series == "closed")


@needs_chromium()
@pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)
async def test_the_report_in_a_browser(browser: Browser, stack: ReportStack) -> None:
    context = await browser.new_context(base_url=stack.url)
    host = stack.url.split("//", 1)[1].split(":")[0]
    await context.add_cookies(
        [{"name": SESSION_COOKIE, "value": await stack.cookie(CHAIR), "domain": host, "path": "/"}]
    )
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        await page.goto("/")
        await page.get_by_role("link", name="Reports").click()
        await expect(page.get_by_role("heading", name="Escalation reports")).to_be_visible()
        for part, value in (("Day", "1"), ("Month", "1"), ("Year", "2026")):
            await page.get_by_role("group", name="Start date").get_by_label(part).fill(value)
        for part, value in (("Day", "31"), ("Month", "3"), ("Year", "2026")):
            await page.get_by_role("group", name="End date").get_by_label(part).fill(value)
        await page.get_by_role("button", name="Show the report").click()
        await expect(page.locator("#figure-raised")).to_have_text("9")
        assert await axe_violations(page) == []
        await screenshot(page, "report")

        await page.get_by_label("For publication: show counts from 1 to 4 as <5").check()
        await page.get_by_role("button", name="Show the report").click()
        await expect(page.locator("#figure-resolved")).to_have_text("<5")
        await page.get_by_role("link", name="Printable report").click()
        await expect(page.locator(".app-marking")).to_contain_text("FOR PUBLICATION")
        assert await axe_violations(page) == []
        await page.emulate_media(media="print")
        assert not await page.locator(".govuk-template__header").is_visible()
        await screenshot(page, "report-print")
    finally:
        await context.close()
    blocked = [m for m in console if "Content Security Policy" in m or "Refused" in m]
    assert blocked == [], blocked
