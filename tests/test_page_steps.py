"""The policy's own steps on the escalation page, without JavaScript: acknowledge, extend the time
limit and dispute the outcome, as plain form posts over real HTTP against the API, a worker on
the dev server and an SMTP listener, on SQLite and PostgreSQL. The last test walks the same
forms in a real browser, with axe-core."""

import re
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import expect

from database.tables import Escalation, utc_now
from tests.browser import axe_violations, browser, needs_chromium, screenshot
from tests.ladders import (
    CHILDRENS_SERVICES,
    CS_MANAGER,
    HOUR,
    PRACTITIONER,
    SECOND,
    STACK_LADDERS,
    STANDARD_DAYS,
    ladder,
)
from tests.pages_stack import PagesStack, csrf_of
from tests.polling import eventually
from tests.test_browser import Visit, press, type_into, visit
from tests.test_pages import ANSWERS, act_through_pages, escalation, events, raise_through_pages
from web.presenting import when
from workflows.policy import Span

__all__ = ["browser", "visit"]  # the fixtures this module borrows
POLICIES = {
    **STACK_LADDERS,
    # Each stage acknowledged within 2 working days; one extension of at most 3 working days; the
    # raiser may dispute an outcome for 5 working days.
    "page-steps": ladder(
        "Acknowledged stages, one extension each, a dispute window",
        *STANDARD_DAYS,
        steps={
            1: {"acknowledge_within": Span(working_days=2), "max_extension": Span(working_days=3)}
        },
    ),
    # An hour a stage, acknowledged within a second: overdue at once, extended in hours.
    "page-hours": ladder(
        "An hour a stage",
        *(HOUR, HOUR),
        names={"manager": "Duty managers"},
        steps={1: {"acknowledge_within": Span(duration=SECOND)}},
    ),
}
STEPS_DONE = re.compile(r"app-steps__step--done")
STEP_CURRENT = re.compile(r"app-steps__step--current")


def answers(policy: str) -> list[tuple[str, dict[str, str]]]:
    return [("/raise", {"receiving_agency": CHILDRENS_SERVICES, "policy": policy}), *ANSWERS[1:]]


async def raised(stack: PagesStack, policy: str = "page-steps") -> str:
    async with stack.signed_in(PRACTITIONER) as practitioner:
        return await raise_through_pages(practitioner, answers(policy))


async def test_acknowledge_once_and_a_second_time_is_refused(pages_stack: PagesStack) -> None:
    escalation_id = await raised(pages_stack)
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        page = await practitioner.get(f"/escalations/{escalation_id}")
        assert "Acknowledgement due by" in page.text
        assert "/actions/acknowledge" not in page.text  # the receiving agency's step
    async with pages_stack.signed_in(CS_MANAGER) as manager:
        page = await manager.get(f"/escalations/{escalation_id}")
        assert f'href="/escalations/{escalation_id}/actions/acknowledge"' in page.text
        # Nothing to ask: its page is the confirmation.
        confirmation = await manager.get(f"/escalations/{escalation_id}/actions/acknowledge")
        assert "The raising agency is told" in confirmation.text
        done = await act_through_pages(manager, escalation_id, "acknowledge")
        assert done.status_code == 303
        panel = await manager.get(done.headers["location"])
        assert "You have acknowledged the escalation" in panel.text
        after = await manager.get(f"/escalations/{escalation_id}")
        assert "Acknowledged by Team manager Sam Jones" in after.text
        assert "/actions/acknowledge" not in after.text  # once a stage

        # From a confirmation opened before (another tab): a clear refusal, nothing changes.
        again = await manager.post(
            f"/escalations/{escalation_id}/actions/acknowledge/confirm",
            data={"csrf_token": csrf_of(page.text)},
        )
        assert again.status_code == 409
        assert "That could not be done: already acknowledged at stage 1" in again.text
    row = await escalation(pages_stack, escalation_id)
    assert row.acknowledged_by == "Team manager Sam Jones (Northshire Children's Services)"
    assert await events(pages_stack, escalation_id) == ["raised", "acknowledged"]


async def test_extend_moves_the_deadline_and_a_second_extension_is_refused(
    pages_stack: PagesStack,
) -> None:
    escalation_id = await raised(pages_stack)
    before = await escalation(pages_stack, escalation_id)
    async with pages_stack.signed_in(CS_MANAGER) as manager:
        page = await manager.get(f"/escalations/{escalation_id}")
        assert "0 of 1 used (each at most 3 working days)" in page.text

        empty = await act_through_pages(manager, escalation_id, "extend")
        assert empty.status_code == 422 and "There is a problem" in empty.text
        assert 'href="#extend-reason"' in empty.text
        assert "Enter how much longer: working days, or hours" in empty.text
        both = await act_through_pages(
            manager, escalation_id, "extend", reason="Meeting", working_days="2", hours="4"
        )
        assert both.status_code == 422 and "Enter working days or hours, not both" in both.text
        assert 'href="#extend-working-days"' in both.text and 'value="4"' in both.text
        too_long = await act_through_pages(
            manager, escalation_id, "extend", reason="Meeting", working_days="4"
        )
        assert too_long.status_code == 422 and 'href="#extend-working-days"' in too_long.text
        assert "An extension at stage 1 is at most 3 working days" in too_long.text
        assert await events(pages_stack, escalation_id) == ["raised"]

        done = await act_through_pages(
            manager, escalation_id, "extend", reason="Strategy meeting on Friday", working_days="2"
        )
        assert done.status_code == 303
        panel = await manager.get(done.headers["location"])
        assert "The time limit is extended" in panel.text
        after = await manager.get(f"/escalations/{escalation_id}")
        assert "1 of 1 used" in after.text and "/actions/extend" not in after.text
        row = await escalation(pages_stack, escalation_id)
        assert row.stage_deadline is not None and before.stage_deadline is not None
        assert row.stage_deadline > before.stage_deadline
        shown = re.search(r"Due by ([^<]+)</strong>", after.text)  # on the ladder
        assert shown is not None
        assert shown.group(1) == when(row.stage_deadline) != when(before.stage_deadline)
        assert "Strategy meeting on Friday" in after.text  # on the timeline, with the reason

        again = await manager.post(
            f"/escalations/{escalation_id}/actions/extend/confirm",
            data={"csrf_token": csrf_of(page.text), "reason": "More time", "working_days": "1"},
        )
        assert again.status_code == 409
        assert "That could not be done: stage 1 allows 1 extension: 1 already agreed" in (
            again.text
        )
    assert (await escalation(pages_stack, escalation_id)).stage_deadline == row.stage_deadline
    assert await events(pages_stack, escalation_id) == ["raised", "extended"]


async def test_an_overdue_acknowledgement_and_an_extension_in_hours(
    pages_stack: PagesStack,
) -> None:
    escalation_id = await raised(pages_stack, "page-hours")
    async with pages_stack.signed_in(CS_MANAGER) as manager:

        async def overdue() -> httpx.Response | None:  # a second to acknowledge: overdue by itself
            page = await manager.get(f"/escalations/{escalation_id}")
            return page if "Acknowledgement overdue" in page.text else None

        page = await eventually(overdue, "the acknowledgement overdue")
        assert "Acknowledgement overdue: due by" in page.text
        before = await escalation(pages_stack, escalation_id)
        too_long = await act_through_pages(
            manager, escalation_id, "extend", reason="Tonight", hours="2"
        )
        assert too_long.status_code == 422 and 'href="#extend-hours"' in too_long.text
        assert "An extension at stage 1 is at most 1 hour" in too_long.text
        odd = await act_through_pages(
            manager, escalation_id, "extend", reason="Tonight", hours="soon"
        )
        assert odd.status_code == 422 and "Enter the hours as a number" in odd.text
        done = await act_through_pages(
            manager, escalation_id, "extend", reason="Tonight", hours="1"
        )
        assert done.status_code == 303
    row = await escalation(pages_stack, escalation_id)
    assert row.stage_deadline is not None and before.stage_deadline is not None
    assert row.stage_deadline - before.stage_deadline == timedelta(hours=1)


async def test_the_raiser_disputes_the_outcome_and_it_reopens_at_the_next_stage(
    pages_stack: PagesStack,
) -> None:
    escalation_id = await raised(pages_stack)
    async with pages_stack.signed_in(CS_MANAGER) as manager:
        done = await act_through_pages(
            manager, escalation_id, "resolve", outcome="Early help offered"
        )
        assert done.status_code == 303
        page = await manager.get(f"/escalations/{escalation_id}")
        assert "The raising agency may dispute this outcome until" in page.text
        assert "/actions/dispute" not in page.text  # the raising agency's right
    row = await escalation(pages_stack, escalation_id)
    assert row.status == "resolved" and row.dispute_until is not None
    assert row.dispute_until > utc_now()

    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        page = await practitioner.get(f"/escalations/{escalation_id}")
        assert "Resolved" in page.text and "Early help offered" in page.text
        assert f'href="/escalations/{escalation_id}/actions/dispute"' in page.text
        assert "Open to dispute until" in page.text
        empty = await act_through_pages(practitioner, escalation_id, "dispute", reason=" ")
        assert empty.status_code == 422 and 'href="#dispute-reason"' in empty.text
        assert "Enter why you disagree with the outcome" in empty.text
        disputed = await act_through_pages(
            practitioner, escalation_id, "dispute", reason="Early help does not meet the risk"
        )
        assert disputed.status_code == 303
        panel = await practitioner.get(disputed.headers["location"])
        assert "The outcome is disputed" in panel.text
        after = await practitioner.get(f"/escalations/{escalation_id}")
        assert "Stage 2 of 3" in after.text and "Outcome disputed" in after.text
        # The ladder: stage 1 done, stage 2 current with its deadline, stage 3 to come.
        assert len(STEPS_DONE.findall(after.text)) == 1
        assert len(STEP_CURRENT.findall(after.text)) == 1
        ladder = after.text[after.text.index('class="app-steps"') :]
        assert ladder.index("Line managers") < ladder.index("app-steps__step--current")
        assert ladder.index("app-steps__step--current") < ladder.index("Senior managers")
        assert "/actions/dispute" not in after.text
    row = await escalation(pages_stack, escalation_id)
    assert row.status == "open" and row.stage == 2 and row.dispute_until is None
    assert await events(pages_stack, escalation_id) == [
        "raised",
        "resolved",
        "disputed",
        "escalated",
    ]


@needs_chromium()
@pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)
async def test_the_step_forms_in_a_browser_pass_axe(visit: object, pages_stack: PagesStack) -> None:
    escalation_id = await raised(pages_stack)
    link = await pages_stack.sign_in_link(CS_MANAGER, f"/escalations/{escalation_id}")
    async with visit() as manager:  # type: ignore[operator]
        assert isinstance(manager, Visit)
        page = manager.page
        await page.goto(link)
        await press(page, "Sign in")
        await expect(page.get_by_role("button", name="Acknowledge")).to_be_visible()
        await expect(page.get_by_role("button", name="Extend the time limit")).to_be_visible()
        await manager.check("escalation-steps")
        await press(page, "Extend the time limit")
        await expect(page.get_by_role("heading", name="Extend the time limit")).to_be_visible()
        await manager.check("escalation-extend")
        await press(page, "Continue")  # nothing given: named, GOV.UK style
        await expect(
            page.get_by_role("link", name="Enter how much longer: working days, or hours")
        ).to_be_visible()
        await manager.check("escalation-extend-error")
        await page.goto(f"/escalations/{escalation_id}")
        await press(page, "Acknowledge")  # nothing to ask: what it does, and the button
        await expect(page.get_by_role("heading", name="Acknowledge the escalation")).to_be_visible()
        await manager.check("escalation-acknowledge-confirm")
        await press(page, "Acknowledge")
        await expect(page.get_by_text("You have acknowledged the escalation")).to_be_visible()
        await manager.check("escalation-acknowledged")
        await page.goto(f"/escalations/{escalation_id}")
        await expect(page.get_by_text("Acknowledged by Team manager Sam Jones")).to_be_visible()
        await press(page, "Resolve the escalation")
        await type_into(page, "Outcome agreed", "Early help offered")
        await press(page, "Continue")
        await expect(page.get_by_text("The escalation closes as resolved")).to_be_visible()
        await press(page, "Resolve the escalation")
        await expect(page.get_by_text("The escalation is resolved")).to_be_visible()
        await page.goto(f"/escalations/{escalation_id}")
        await expect(page.get_by_text("The raising agency may dispute")).to_be_visible()
        await manager.check()
    link = await pages_stack.sign_in_link(PRACTITIONER, f"/escalations/{escalation_id}")
    async with visit() as practitioner:  # type: ignore[operator]
        page = practitioner.page
        await page.goto(link)
        await press(page, "Sign in")
        await expect(page.get_by_role("button", name="Dispute the outcome")).to_be_visible()
        await press(page, "Dispute the outcome")
        await expect(page.get_by_role("heading", name="Dispute the outcome")).to_be_visible()
        await practitioner.check("escalation-dispute")
        await type_into(page, "Why you disagree with the outcome", "Early help is not enough")
        await press(page, "Continue")
        await expect(
            page.get_by_text("The escalation opens again at the next stage")
        ).to_be_visible()
        await practitioner.check("escalation-dispute-confirm")
        await press(page, "Dispute the outcome")
        await expect(page.get_by_text("The outcome is disputed")).to_be_visible()
        await page.goto(f"/escalations/{escalation_id}")
        await expect(page.get_by_text("Stage 2 of 3")).to_be_visible()
        assert await axe_violations(page) == []
        await screenshot(page, "escalation-disputed")
    row: Escalation = await escalation(pages_stack, escalation_id)
    assert row.status == "open" and row.stage == 2
