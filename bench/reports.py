"""The oversight report at scale: `python -m bench.reports` (`make bench-reports`).

Seeds a fresh database on the local PostgreSQL (`bench_reports_<random>`, migrated like
production, then filled by COPY) with 100,000 escalations raised over two years and ten audit
events each, then times a year's report for the partnership and for one agency, 10 times each,
and the per-escalation CSV once. The database is dropped at the end. Results go to
bench/results/reports.json; docs/performance.md ("Oversight report") has the committed run.
"""

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.stats import in_ms
from bench.system import load_average, machine
from casework.oversight import escalation_lines, escalation_report
from casework.oversight_csv import escalations_csv
from database.engine import create_engine, migrate, session_factory
from workflows.models import SYSTEM_ACTOR, TIME_LIMIT_PASSED

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results" / "reports.json"
EVENTS_EACH = 10
RUNS = 10
GOAL_P95_MS = 2000
FIRST_RAISE = datetime(2024, 12, 1, tzinfo=UTC)
RAISING_DAYS = 730
YEAR = (date(2025, 12, 1), date(2026, 11, 30))
AGENCIES = [
    "Northshire Police",
    "Northshire Children's Services",
    "Northshire NHS Trust",
    "Northshire GP Federation",
    "Northshire Education",
    "Hill Primary School",
    "Northshire Probation",
    "Northshire Housing",
    "Northshire CAMHS",
    "Northshire Youth Justice",
]
CATEGORIES = ["threshold", "step-down", "information sharing", "case closure", "plan", None]
# status: share of escalations
OUTCOMES = {"resolved": 0.7, "withdrawn": 0.1, "cancelled": 0.04, "terminated": 0.01, "open": 0.15}
STAGES = ["Line managers", "Senior managers", "Safeguarding Children Partnership"]
ROLES = ["manager", "executive", "board"]
HASH = "0" * 64

ESCALATION_COLUMNS = (
    "id, policy, raising_agency, receiving_agency, raised_by, immediate_risk, created_at, "
    "child_reference, child_name, summary, category, status, stage, stage_name, stage_role, "
    "overdue, closed_at, agreed_actions, updated_at"
)
EVENT_COLUMNS = "event_key, escalation_id, action, at, actor, stage, details, prev_hash, hash"


@dataclass
class Seeded:
    escalations: int
    events: int
    seconds: float


def _events(
    rng: random.Random, escalation_id: str, raised: datetime, status: str, stage: int
) -> Iterator[tuple[Any, ...]]:
    """Ten events: the raise, each move up (by the clock or a person), an overdue top stage,
    the closing event, and notifications and reminders to make up the ten."""
    actor = "A Practitioner (Northshire Police)"
    at = raised
    rows: list[tuple[str, str, int, dict[str, Any]]] = [
        ("raised", actor, 1, {"policy": "standard", "stage": STAGES[0]})
    ]
    for reached in range(2, stage + 1):
        by_clock = rng.random() < 0.6
        reason = TIME_LIMIT_PASSED if by_clock else "no agreement"
        details = {"reason": reason, "from_stage": reached - 1, "to_stage": reached}
        rows.append(("escalated", SYSTEM_ACTOR if by_clock else actor, reached, details))
    if status == "open" and stage == len(STAGES) and rng.random() < 0.5:
        rows.append(("overdue", SYSTEM_ACTOR, stage, {"reason": TIME_LIMIT_PASSED}))
    if status != "open":
        rows.append((status, actor, stage, {"reason": "closed"}))
    while len(rows) < EVENTS_EACH:
        kind = rng.choice(("notified", "reminder", "note"))
        rows.append((kind, SYSTEM_ACTOR, stage, {"kind": kind}))
    for seq, (action, by, at_stage, details) in enumerate(rows, 1):
        at += timedelta(hours=rng.randint(1, 30))
        yield (
            f"{escalation_id}:{seq}",
            escalation_id,
            action,
            at,
            by,
            at_stage,
            json.dumps(details),
            HASH,
            HASH,
        )


def seed(url: str, escalations: int, rng: random.Random) -> Seeded:
    began = time.perf_counter()
    statuses, weights = list(OUTCOMES), list(OUTCOMES.values())
    events = 0
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY escalation ({ESCALATION_COLUMNS}) FROM STDIN") as to_escalations:
            plan = []
            for n in range(escalations):
                escalation_id = f"ESC-BENCH-{n:07d}"
                raised = FIRST_RAISE + timedelta(seconds=rng.randrange(RAISING_DAYS * 86400))
                raising, receiving = rng.sample(AGENCIES, 2)
                status = rng.choices(statuses, weights)[0]
                stage = rng.choices((1, 2, 3), (0.75, 0.18, 0.07))[0]
                closed = (
                    None if status == "open" else raised + timedelta(hours=rng.randint(1, 24 * 40))
                )
                to_escalations.write_row(
                    (
                        escalation_id,
                        "standard",
                        raising,
                        receiving,
                        f"A Practitioner ({raising})",
                        rng.random() < 0.05,
                        raised,
                        f"CHILD-{rng.randrange(escalations * 6 // 10):07d}",
                        "Olivia Example",
                        "The disagreement, in the practitioner's words.",
                        rng.choice(CATEGORIES),
                        status,
                        stage,
                        STAGES[stage - 1],
                        ROLES[stage - 1],
                        status == "open" and stage == 3 and rng.random() < 0.5,
                        closed,
                        "[]",
                        closed or raised,
                    )
                )
                plan.append((escalation_id, raised, status, stage))
        with cursor.copy(f"COPY audit_event ({EVENT_COLUMNS}) FROM STDIN") as to_events:
            for escalation_id, raised, status, stage in plan:
                for row in _events(rng, escalation_id, raised, status, stage):
                    to_events.write_row(row)
                    events += 1
        conn.commit()
        cursor.execute("ANALYZE escalation")
        cursor.execute("ANALYZE audit_event")
        conn.commit()
    return Seeded(escalations, events, round(time.perf_counter() - began, 1))


@dataclass
class Board:
    name: str = "Chair"
    agency: str = "Northshire Safeguarding Children Partnership"
    role: str = "board"


@dataclass
class AgencyManager:
    name: str = "DS Khan"
    agency: str = AGENCIES[0]
    role: str = "manager"


async def time_reports(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    timings: dict[str, Any] = {}
    try:
        for label, viewer in (("partnership", Board()), ("one agency", AgencyManager())):
            seconds, raised = [], 0
            for _ in range(RUNS):
                began = time.perf_counter()
                async with sessions() as db:
                    report = await escalation_report(db, viewer, *YEAR, "england")
                seconds.append(time.perf_counter() - began)
                raised = report.raised if isinstance(report.raised, int) else 0
            timings[label] = {"escalations": raised, "ms": in_ms(seconds, (50, 95))}
        began = time.perf_counter()
        async with sessions() as db:
            lines = await escalation_lines(db, Board(), *YEAR, "england")
        size = len(escalations_csv(lines))
        timings["per-escalation CSV"] = {
            "rows": len(lines),
            "bytes": size,
            "ms": round((time.perf_counter() - began) * 1000, 1),
        }
    finally:
        await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--escalations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    name = f"bench_reports_{uuid.uuid4().hex[:10]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        postgres = admin.info.parameter_status("server_version")
    try:
        migrate(url)
        seeded = seed(url, args.escalations, random.Random(args.seed))
        print(
            f"seeded {seeded.escalations} escalations, {seeded.events} events in {seeded.seconds} s"
        )
        load_before = load_average()
        timings = asyncio.run(time_reports(url))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    p95 = timings["partnership"]["ms"]["p95"]
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(Path(sys.prefix) / "bin" / "temporal") | {"postgresql": postgres},
        "load_average": {"before": load_before, "after": load_average()},
        "seeded": seeded.__dict__,
        "period": [day.isoformat() for day in YEAR],
        "runs": RUNS,
        "reports": timings,
        "goal": {"p95_ms": GOAL_P95_MS, "met": p95 <= GOAL_P95_MS},
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["reports"], indent=2))
    print(f"partnership p95 {p95} ms: goal {'met' if p95 <= GOAL_P95_MS else 'missed'}")


if __name__ == "__main__":
    main()
