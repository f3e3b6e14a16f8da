"""Telling people: real mail on a real SMTP listener, to the right people, with nothing more."""

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notifications import HEARTBEAT_EVERY_SECONDS, LINK_LINE, Outbox
from core.policy_files import load_policies
from database.audit_chain import chain_breaks
from database.engine import session_factory
from database.tables import Escalation, utc_now
from tests import conftest
from tests.engine_helpers import (
    DIRECTORY,
    RAISER,
    RAISING,
    RAISING_PRACTITIONER,
    RECEIVING,
    SQLITE_ONLY,
    STAGE_PEOPLE,
    actions,
    advance_to,
    audit_trail,
    closed_state,
    deliveries,
    escalation_input,
    escalation_worker,
    notifier_for,
    raised,
    settle,
    state_of,
)
from tests.ladders import (
    BUSINESS_UNIT,
    SCHOOL_HEAD,
    SOCIAL_CARE_MANAGER,
    contact,
    directory,
    ladder,
    policy_file,
)
from tests.smtp_listener import Mailbox, smtp_listener
from workflows.models import EscalationState, NotificationInput
from workflows.policy import Policy

CHILD_NAME = "Amelia Example"
SUMMARY = "Three referrals about neglect were closed as threshold not met."
PUBLIC_URL = "https://escalations.northshire.example"


@asynccontextmanager
async def smtp_server(mailbox: Mailbox) -> AsyncIterator[dict[str, Any]]:
    """The listener, and the worker settings that reach it and link to the service."""
    async with smtp_listener(mailbox) as reach:
        yield reach | {"public_url": PUBLIC_URL}


async def case_details_written_by_the_api(engine: AsyncEngine, escalation_id: str) -> None:
    """The API stores the child's details beside the read model; the workflow never sees them."""
    async with session_factory(engine)() as db:
        db.add(
            Escalation(
                id=escalation_id,
                policy="standard",
                raising_agency=RAISING,
                receiving_agency=RECEIVING,
                raised_by=RAISER,
                created_at=utc_now(),
                updated_at=utc_now(),
                child_name=CHILD_NAME,
                child_date_of_birth=date(2015, 4, 2),
                summary=SUMMARY,
                decision_disputed="Referral not accepted",
            )
        )
        await db.commit()


def expected_body(state: EscalationState, headline: str) -> str:
    """Everything a message may say: reference, agencies, stage, time limit and a link."""
    lines = [
        headline,
        "",
        f"Escalation: {state.escalation_id}",
        f"Raised by: {RAISING}",
        f"Disagreement with: {RECEIVING}",
        f"Stage: {state.stage} ({state.stage_name})",
    ]
    if state.status == "open":
        lines.append(f"Time limit: {state.stage_deadline_text} (London time)")
    lines += ["", LINK_LINE % {"link": f"{PUBLIC_URL}/escalations/{state.escalation_id}"}]
    return "\n".join(lines) + "\n"


def assert_says_only(message: EmailMessage, state: EscalationState, headline: str) -> None:
    # Long subjects are folded onto a continuation line: compare the words.
    assert str(message["Subject"]).strip() == f"[{state.escalation_id}] {headline}"
    assert message.get_content().splitlines() == expected_body(state, headline).splitlines()
    for secret in (CHILD_NAME, "Amelia", SUMMARY, "2015-04-02", "Referral not accepted"):
        assert secret not in message.as_string()


@SQLITE_ONLY
async def test_mail_reaches_each_stage_and_the_raiser_and_says_nothing_more(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    mailbox = Mailbox()
    escalation = escalation_input()
    await case_details_written_by_the_api(engine, escalation.escalation_id)
    async with (
        smtp_server(mailbox) as smtp,
        escalation_worker(time_env.client, engine, DIRECTORY, **smtp) as config,
        raised(time_env, config, escalation) as handle,
    ):
        await settle(time_env)
        state = await state_of(handle)
        assert mailbox.recipients() == sorted(STAGE_PEOPLE[1])  # the police are not told
        for message in mailbox.messages:
            assert_says_only(message, state, "New escalation at stage 1: Line managers")

        mailbox.messages.clear()
        await handle.signal("escalate", {"by": "Team manager Jones", "reason": "No meeting"})
        await settle(time_env)
        state = await state_of(handle)
        assert mailbox.recipients() == sorted(STAGE_PEOPLE[2])
        for message in mailbox.messages:
            assert_says_only(message, state, "Escalated to stage 2: Senior and executive managers")

        mailbox.messages.clear()
        await handle.signal("escalate", {"by": "Director", "reason": "Still no meeting"})
        await settle(time_env)
        state = await state_of(handle)
        # The standard ladder tells the partnership business unit at the top stage.
        assert mailbox.recipients() == sorted(STAGE_PEOPLE[3] | {BUSINESS_UNIT})
        for message in mailbox.messages:
            assert_says_only(
                message, state, "Escalated to stage 3: Safeguarding Children Partnership"
            )

        mailbox.messages.clear()
        await handle.signal("resolved", {"by": "Independent chair", "outcome": "Plan agreed"})
        state = await closed_state(time_env, handle)
        # The written outcome goes to the practitioner who raised it, too.
        assert mailbox.recipients() == sorted(
            STAGE_PEOPLE[3] | {BUSINESS_UNIT, RAISING_PRACTITIONER}
        )
        for message in mailbox.messages:
            assert_says_only(
                message, state, "Resolved at stage 3: Safeguarding Children Partnership"
            )

        for seq in (1, 2, 3, 4):
            sent = await deliveries(engine, f"{handle.id}:{seq}")
            assert {(d.channel, d.status, d.attempts) for d in sent.values()} == {
                ("email", "sent", 1)
            }
        trail = await audit_trail(engine, handle.id, with_notified=True)
        receipts = [e.details for e in trail if e.action == "notified"]
        assert [(r["kind"], r["sent"], r["failed"]) for r in receipts] == [
            ("raised", 2, 0),
            ("escalated", 2, 0),
            ("escalated", 2, 0),
            ("resolved", 3, 0),
        ]


SEFTON_STYLE = ladder(
    "Business unit told from stage 2",
    *(5, 5, 10),
    names={"executive": "Safeguarding leads"},
    partnership_told_from_stage=2,
)


@SQLITE_ONLY
async def test_partnership_business_unit_is_told_from_the_policy_stage(
    time_env: WorkflowEnvironment, engine: AsyncEngine, tmp_path: Path
) -> None:
    policy = load_policies(policy_file(tmp_path / "policies.toml", {"sefton": SEFTON_STYLE}))[
        "sefton"
    ]
    escalation = escalation_input(policy_name="sefton", policy=policy)
    mailbox = Mailbox()
    async with (
        smtp_server(mailbox) as smtp,
        escalation_worker(time_env.client, engine, DIRECTORY, **smtp) as config,
        raised(time_env, config, escalation) as handle,
    ):
        await settle(time_env)
        assert mailbox.recipients() == sorted(STAGE_PEOPLE[1])
        mailbox.messages.clear()
        await handle.signal("escalate", {"by": "Team manager Jones", "reason": "No meeting"})
        await settle(time_env)
        assert mailbox.recipients() == sorted(STAGE_PEOPLE[2] | {BUSINESS_UNIT})


def quick_ladder() -> Policy:
    """Stage 1 passes in two minutes, while the first notification is still being retried."""
    return ladder("Quick", timedelta(minutes=2), timedelta(days=1), roles=("manager", "executive"))


@pytest.mark.parametrize("failure", ["port closed", "451 answer"])
@SQLITE_ONLY
async def test_failing_mail_never_holds_up_the_ladder(
    time_env: WorkflowEnvironment, engine: AsyncEngine, failure: str, held_port: int
) -> None:
    mailbox = Mailbox(reply="451 4.3.2 Service busy, try again later")
    escalation = escalation_input(policy_name="quick", policy=quick_ladder())
    async with smtp_server(mailbox) as smtp:
        if failure == "port closed":
            smtp["smtp_port"] = held_port
        async with (
            escalation_worker(time_env.client, engine, DIRECTORY, **smtp) as config,
            raised(time_env, config, escalation) as handle,
        ):
            await settle(time_env)
            start = (await state_of(handle)).stage_started_at
            assert start is not None
            deadline = start + timedelta(minutes=2)
            await advance_to(time_env, deadline + timedelta(seconds=1))

            state = await state_of(handle)
            assert (state.stage, state.stage_started_at) == (2, deadline)
            escalated = (await audit_trail(engine, handle.id))[-1]
            assert escalated.action == "escalated"
            # On time: waiting for the mail's retries would have put it minutes later. (The
            # server's clock runs in real time while tasks run, so allow a busy machine's seconds.)
            assert deadline <= escalated.at < deadline + timedelta(minutes=1)
            first = await deliveries(engine, f"{handle.id}:1")
            assert set(first) == STAGE_PEOPLE[1]
            assert {d.status for d in first.values()} == {"retrying"}
            assert all(d.attempts > 1 for d in first.values())  # retried, not given up

            # Retries stop after the last attempt; the failure is recorded, not lost.
            await advance_to(time_env, deadline + timedelta(hours=1))
            first = await deliveries(engine, f"{handle.id}:1")
            assert {(d.status, d.attempts) for d in first.values()} == {("failed", 10)}
            receipts = [
                e.details
                for e in await audit_trail(engine, handle.id, with_notified=True)
                if e.action == "notified"
            ]
            assert {"kind": "raised", "sent": 0, "logged": 0, "failed": 2} in receipts
            assert (await state_of(handle)).stage == 2
    assert mailbox.messages == []


@SQLITE_ONLY
async def test_a_refused_address_fails_at_once_and_is_not_retried(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    mailbox = Mailbox(reply="550 5.1.1 No such user")
    async with (
        smtp_server(mailbox) as smtp,
        escalation_worker(time_env.client, engine, DIRECTORY, **smtp) as config,
        raised(time_env, config, escalation_input()) as handle,
    ):
        await advance_to(time_env, await time_env.get_current_time() + timedelta(hours=1))
        first = await deliveries(engine, f"{handle.id}:1")
        assert set(first) == STAGE_PEOPLE[1]
        for delivery in first.values():
            assert (delivery.status, delivery.attempts) == ("failed", 1)
            assert delivery.last_error is not None and "550" in delivery.last_error
        trail = await audit_trail(engine, handle.id, with_notified=True)
        assert actions(trail) == [("raised", 1), ("notified", 1)]
        assert trail[1].details == {"kind": "raised", "sent": 0, "logged": 0, "failed": 2}


# --- a retried activity sends nothing twice (both databases) -------------------------------------


def raised_notice(escalation_id: str) -> NotificationInput:
    return NotificationInput(
        notification_key=f"{escalation_id}:1",
        escalation_id=escalation_id,
        kind="raised",
        raising_agency=RAISING,
        receiving_agency=RECEIVING,
        stage=1,
        stage_name="Line managers",
        role="manager",
        stage_deadline=datetime(2026, 12, 30, 10, 0, tzinfo=UTC),
    )


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        attempt=number,
        current_attempt_scheduled_time=datetime(2026, 12, 21, 10, 0, number, tzinfo=UTC),
    )
    return env


async def test_a_retried_notification_sends_each_mail_once(engine: AsyncEngine) -> None:
    # The mail server defers one address the first time, as greylisting does.
    mailbox = Mailbox(refuse_once={SOCIAL_CARE_MANAGER})
    request = raised_notice("ESC-RETRIED")
    async with smtp_server(mailbox) as smtp:
        notifier = await notifier_for(
            engine, DIRECTORY, Outbox(conftest.isolated_settings(**smtp)), PUBLIC_URL
        )
        with pytest.raises(ApplicationError) as retry:
            await attempt(1).run(notifier.notify, request)
        assert retry.value.type == "DeliveryRetry"
        assert mailbox.recipients() == [SCHOOL_HEAD]

        second = await attempt(2).run(notifier.notify, request)
        # The activity completed but the server never heard: it runs once more.
        third = await attempt(3).run(notifier.notify, request)

    assert (second.sent, second.skipped) == (1, 1)
    assert (third.sent, third.skipped) == (0, 2)
    assert mailbox.recipients() == [SCHOOL_HEAD, SOCIAL_CARE_MANAGER]
    sent = await deliveries(engine, request.notification_key)
    assert {(d.recipient, d.status, d.attempts) for d in sent.values()} == {
        (SCHOOL_HEAD, "sent", 1),
        (SOCIAL_CARE_MANAGER, "sent", 2),
    }
    trail = await audit_trail(engine, "ESC-RETRIED", with_notified=True)
    assert [(e.action, e.event_key) for e in trail] == [("notified", "ESC-RETRIED:1:notified")]
    assert trail[0].details == {"kind": "raised", "sent": 2, "logged": 0, "failed": 0}
    assert chain_breaks(trail) == []


class SlowMailbox(Mailbox):
    """A mail server that takes its time over each message, as a busy relay does."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(HEARTBEAT_EVERY_SECONDS * 1.5)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.slow  # waits on real heartbeats
async def test_notify_heartbeats_through_a_slow_delivery(engine: AsyncEngine) -> None:
    """So Temporal notices within its heartbeat timeout, not the whole activity timeout, when the
    worker sending dies, and gives the notification to another worker."""
    mailbox = SlowMailbox()
    delivered_at_beat: list[int] = []
    env = attempt(1)
    env.on_heartbeat = lambda *_: delivered_at_beat.append(len(mailbox.messages))
    async with smtp_server(mailbox) as smtp:
        notifier = await notifier_for(
            engine, DIRECTORY, Outbox(conftest.isolated_settings(**smtp)), PUBLIC_URL
        )
        result = await env.run(notifier.notify, raised_notice("ESC-HEARTBEAT"))
    assert result.sent == 2
    # A beat at the start and at least one more while the first message was still being sent...
    assert delivered_at_beat.count(0) >= 2
    # ...and one as each delivery was done.
    assert {1, 2} <= set(delivered_at_beat)


# --- one look-up and one transaction per notification (both databases) --------------------------

FIVE_MANAGERS = directory(
    RAISING,
    RECEIVING,
    people=False,
    more={
        RAISING: [contact(f"Manager {n}", f"m{n}@school.example", "manager") for n in range(1, 6)]
    },
)


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counter[str]]:
    """The engine's commits, and its statements on the delivery table, while in the block."""
    counted: Counter[str] = Counter()

    def statement(*args: Any) -> None:
        sql = args[2]
        counted["statements"] += 1
        if sql.lstrip().upper().startswith("SELECT") and "FROM delivery" in sql:
            counted["delivery look-ups"] += 1

    def commit(_connection: Any) -> None:
        counted["commits"] += 1

    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", statement)
    event.listen(sync_engine, "commit", commit)
    try:
        yield counted
    finally:
        event.remove(sync_engine, "before_cursor_execute", statement)
        event.remove(sync_engine, "commit", commit)


@pytest.mark.parametrize("channel", ["log", "email"])
async def test_a_notification_to_five_people_is_one_look_up_and_one_transaction(
    engine: AsyncEngine, channel: str
) -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as smtp:
        settings = conftest.isolated_settings(**(smtp if channel == "email" else {}))
        notifier = await notifier_for(engine, FIVE_MANAGERS, Outbox(settings), PUBLIC_URL)
        with counting(engine) as counted:
            result = await attempt(1).run(notifier.notify, raised_notice("ESC-FIVE"))

    addresses = {f"m{n}@school.example" for n in range(1, 6)}
    status = "sent" if channel == "email" else "logged"
    rows = await deliveries(engine, "ESC-FIVE:1")
    assert {(r, d.status, d.attempts) for r, d in rows.items()} == {
        (a, status, 1) for a in addresses
    }
    assert set(mailbox.recipients()) == (addresses if channel == "email" else set())
    [receipt] = await audit_trail(engine, "ESC-FIVE", with_notified=True)
    assert receipt.details == {"kind": "raised", "sent": 0, "logged": 0, "failed": 0} | {status: 5}
    assert (result.sent, result.logged) == ((5, 0) if channel == "email" else (0, 5))
    # Was: a look-up and a commit per person, a count, then the receipt: 6 look-ups, 6 commits,
    # 15 statements.
    assert counted["delivery look-ups"] == 1
    # A message that left the service is committed before the next goes (a retry never resends
    # it); everything else, and the receipt, in one transaction at the end.
    assert counted["commits"] == (5 + 1 if channel == "email" else 1)
    # Two more: who is told is read from the directory's tables (people, then systems).
    assert counted["statements"] <= (18 if channel == "email" else 12)
