"""What the benchmark reads back: the audit trail in the database, and Temporal histories."""

import asyncio
import random
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client

from bench.stats import percentile
from database.engine import create_engine, session_factory
from database.tables import AuditEvent, Escalation
from workflows.policy import Policy

POLL_SECONDS = 0.1


class AuditWatch:
    """Reads the escalations' record while the stack writes it (SQLite in WAL mode lets it)."""

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url)

    async def close(self) -> None:
        await self._engine.dispose()

    async def count(self, action: str, ids: Collection[str]) -> int:
        async with session_factory(self._engine)() as db:
            found = await db.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, col(AuditEvent.escalation_id).in_(ids))
            )
            return found.one()

    async def wait_for(self, action: str, ids: Collection[str], give_up: float) -> bool:
        """Whether every escalation in `ids` has recorded `action` before `give_up` (loop time)."""
        loop = asyncio.get_running_loop()
        while await self.count(action, ids) < len(ids):
            if loop.time() > give_up:
                return False
            await asyncio.sleep(1)
        return True

    async def escalated(
        self, ids: Collection[str], give_up: float
    ) -> dict[str, tuple[datetime, datetime]]:
        """For each escalation, its "escalated" event's time and when the row was first seen
        in the database, polling every POLL_SECONDS until all are there or `give_up`.

        It asks for the escalations not seen yet rather than for rows past the last id seen:
        on PostgreSQL, concurrent transactions commit in any order of their ids."""
        waiting = set(ids)
        seen: dict[str, tuple[datetime, datetime]] = {}
        loop = asyncio.get_running_loop()
        while waiting and loop.time() < give_up:
            async with session_factory(self._engine)() as db:
                rows = (
                    await db.exec(
                        select(AuditEvent.escalation_id, AuditEvent.at).where(
                            AuditEvent.action == "escalated",
                            col(AuditEvent.escalation_id).in_(waiting),
                        )
                    )
                ).all()
            now = datetime.now(UTC)
            for escalation_id, at in rows:
                seen[escalation_id] = (at, now)
                waiting.discard(escalation_id)
            await asyncio.sleep(POLL_SECONDS)
        return seen

    async def first_deadlines(self, ids: Collection[str], policy: Policy) -> dict[str, datetime]:
        """Each escalation's stage 1 time limit, from its read model: a stage on an elapsed-time
        ladder starts exactly when the one before reached its limit."""
        async with session_factory(self._engine)() as db:
            rows = (
                await db.exec(
                    select(Escalation.id, Escalation.stage, Escalation.stage_deadline).where(
                        col(Escalation.id).in_(ids)
                    )
                )
            ).all()
        deadlines = {}
        for escalation_id, stage, deadline in rows:
            assert deadline is not None, f"{escalation_id} has no time limit"
            later = sum(
                (policy.stages[n].duration or timedelta(0) for n in range(1, stage)), timedelta(0)
            )
            deadlines[escalation_id] = deadline - later
        return deadlines


async def history_sizes(client: Client, ids: Collection[str], sample: int = 50) -> dict[str, Any]:
    """Mean events and bytes (protobuf, as Temporal stores them) of a sample of histories."""
    chosen = random.sample(sorted(ids), min(sample, len(ids)))
    events, sizes = [], []
    for workflow_id in chosen:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        events.append(len(history.events))
        sizes.append(History(events=history.events).ByteSize())
    return {
        "sampled": len(chosen),
        "events": round(sum(events) / len(events), 1),
        "events_max": max(events),
        "bytes": round(sum(sizes) / len(sizes)),
        "bytes_max": max(sizes),
    }


async def raise_timeline(client: Client, ids: Collection[str]) -> list[str]:
    """Where a raise's time goes inside Temporal: each history event up to the raise's update
    completing, with its median time (ms) from the workflow's start over `ids`."""
    times: dict[tuple[int, str], list[float]] = {}
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        began = history.events[0].event_time.ToDatetime()
        for event in history.events:
            name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            at = (event.event_time.ToDatetime() - began).total_seconds()
            times.setdefault((event.event_id, name), []).append(at)
            if name == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
                break
    return [
        f"{event_id} {name} {percentile(at, 50) * 1000:.0f}"
        for (event_id, name), at in sorted(times.items())
    ]
