"""The escalation service under load: raises through the API, and many time limits at once."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client

from bench.load import Timed, concurrently, paced
from bench.profile import Profiling
from bench.record import AuditWatch
from bench.stack import BenchError, RunningStack
from bench.stats import in_ms
from casework.raising import new_reference
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalationInput
from workflows.policy import Policy, Stage

# The demo practitioner's agency (launcher/stack.py) raises against the demo manager's.
RAISING, RECEIVING = "Northshire Police", "Northshire Children's Services"
SETTLE_SECONDS = 20  # from the last start to the time limits: its raise gets recorded


def raise_body(number: int) -> dict[str, Any]:
    return {
        "receiving_agency": RECEIVING,
        "child_reference": f"BENCH-{number:05d}",
        "child_name": "Bench Example",
        "child_date_of_birth": "2015-04-02",
        "category": "neglect",
        "summary": "Three referrals closed as threshold not met; the school sees a decline.",
        "decision_disputed": "Referral closed: threshold not met",
        "desired_outcome": "Strategy discussion",
    }


async def raise_through_api(
    stack: RunningStack, count: int, clients: int, *, stop_after: float | None = None
) -> Timed[str]:
    run = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {stack.keys['practitioner']}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers=headers, timeout=300, limits=limits
    ) as http:

        async def one(number: int) -> str:
            response = await http.post(
                "/escalations",
                json=raise_body(number),
                headers={"Idempotency-Key": f"bench-{run}-{number}"},
            )
            if response.status_code != 201:
                raise BenchError(f"{response.status_code}: {response.text[:200]}")
            return str(response.json()["id"])

        return await concurrently(count, clients, one, stop_after=stop_after)


def size_time_limits(wanted: int, raise_rate: float, left_s: float) -> tuple[int, float]:
    """How many escalations the time-limit phase can take in the time left, and how fast to
    start them. Both come from the raise rate just measured: they are started a little slower
    than that, so the worker keeps up, and a stage move costs about what a raise does."""
    per_second = 0.9 * raise_rate
    room = (left_s - SETTLE_SECONDS - 10) / (1 / per_second + 1 / raise_rate)
    return max(1, min(wanted, int(room))), per_second


def ladder(first_stage: timedelta) -> Policy:
    return Policy(
        title="Benchmark: one short stage",
        stages=[
            Stage(name="Line managers", role="manager", duration=first_stage),
            Stage(name="Senior managers", role="executive", duration=timedelta(hours=1)),
            Stage(name="Partnership", role="board", duration=timedelta(hours=1)),
        ],
    )


async def start_escalations(
    client: Client, task_queue: str, count: int, per_second: float, due: datetime
) -> Timed[str]:
    """Started as the API starts them (without waiting for the raise to be recorded), at a rate
    the worker keeps up with. Each gets a first stage ending at `due`: the stage clock runs from
    the escalation's first workflow task, which follows its start closely when the worker keeps
    up, so all the time limits pass within a second or so of `due`."""

    async def one(_: int) -> str:
        first_stage = max(due - datetime.now(UTC), timedelta(seconds=1))
        escalation = EscalationInput(
            escalation_id=new_reference(),
            policy_name="bench",
            policy=ladder(first_stage),
            raising_agency=RAISING,
            receiving_agency=RECEIVING,
            raised_by=f"Benchmark ({RAISING})",
        )
        await client.start_workflow(
            EscalationWorkflow.run,
            escalation,
            id=escalation.escalation_id,
            task_queue=task_queue,
            search_attributes=initial_search_attributes(escalation),
        )
        return escalation.escalation_id

    return await paced(count, per_second, one)


async def time_limits_at_once(
    client: Client,
    stack: RunningStack,
    count: int,
    per_second: float,
    give_up: float,
    profiling: Profiling | None = None,
) -> dict[str, Any]:
    """`count` escalations whose first time limits pass at the same moment, and the lag from
    each limit to its "escalated" event. They are started at `per_second`, and their limits
    pass shortly after the last has been raised."""
    due = datetime.now(UTC) + timedelta(seconds=count / per_second + SETTLE_SECONDS)
    policy = ladder(timedelta(seconds=1))  # the later stages: the same for every one of them
    watch = AuditWatch(stack.settings.database_url)
    try:
        started = await start_escalations(client, stack.settings.task_queue, count, per_second, due)
        ids = started.results
        all_raised = await watch.wait_for("raised", ids, give_up)
        raised_by = datetime.now(UTC)
        deadlines = await watch.first_deadlines(ids, policy)
        first = min(deadlines.values())
        if raised_by < first:
            await asyncio.sleep((first - raised_by).total_seconds())
        if profiling is not None:
            profiling.start("time limits", {"worker": stack.pids["worker"]})
        seen = await watch.escalated(ids, give_up)
        deadlines = await watch.first_deadlines(ids, policy)
    finally:
        await watch.close()
    now = datetime.now(UTC)
    # Those not escalated when the budget ran out count with the lag they had reached by then.
    recorded = [(seen[e][0] if e in seen else now) - limit for e, limit in deadlines.items()]
    visible = [(seen[e][1] if e in seen else now) - limit for e, limit in deadlines.items()]
    return {
        "escalations": len(ids),
        "start_errors": len(started.errors),
        "escalated": len(seen),
        "complete": len(seen) == len(ids),
        "started_per_second": round(per_second, 2),
        "deadline_spread_s": round((max(deadlines.values()) - first).total_seconds(), 1),
        # When false, part of the lag is raises still waiting for the worker.
        "raises_recorded_before_first_deadline": all_raised and raised_by < first,
        "lag_ms": in_ms([lag.total_seconds() for lag in recorded], (50, 99)),
        # How fast the burst was worked through: escalations moved on per second of it.
        "moved_per_s": round(len(seen) / max(0.1, *(lag.total_seconds() for lag in recorded)), 1),
        "visible_lag_ms": in_ms([lag.total_seconds() for lag in visible], (50, 99)),
        "ids": ids,
    }
