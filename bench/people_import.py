"""The directory's CSV import at scale: `python -m bench.people_import` (`make bench-directory`).

Builds a CSV of 20,000 people in 2,000 agencies, then on a fresh SQLite file and a fresh
PostgreSQL database (migrated like production) times what the import page does: read and check
the file, plan it against the directory, and write it with its events. Then it imports the same
file again with 1,000 rows changed and 1,000 deactivated. The goal: each import under 30 s.
Results go to bench/results/directory.json.
"""

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.system import load_average
from casework.directory_changes import apply, plan
from casework.directory_csv import read_people
from core.directory import AGENCY_KINDS
from database.engine import create_engine, migrate, session_factory

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results" / "directory.json"
GOAL_SECONDS = 30.0
KINDS = [kind for kind in AGENCY_KINDS if kind != "partnership"]
ROLES = ["practitioner"] * 6 + ["manager"] * 3 + ["executive"]


def people_csv(people: int, agencies: int, changed: int = 0, deactivated: int = 0) -> bytes:
    lines = ["agency,agency_kind,name,email,role,active"]
    for n in range(people):
        agency = n % agencies
        name = f"Person {n}" + (" (renamed)" if n < changed else "")
        active = "no" if changed <= n < changed + deactivated else "yes"
        lines.append(
            f"Agency {agency},{KINDS[agency % len(KINDS)]},{name},"
            f"person{n}@agency{agency}.example.org,{ROLES[n % len(ROLES)]},{active}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


async def timed_import(url: str, data: bytes) -> dict[str, float | int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            start = time.perf_counter()
            rows = read_people(data)
            read = time.perf_counter()
            found = await plan(db, rows)
            planned = time.perf_counter()
            await apply(db, found, "bench")
            done = time.perf_counter()
    finally:
        await engine.dispose()
    return {
        "rows": len(rows),
        "added": len(found.of("added")),
        "changed": len(found.of("changed")),
        "deactivated": len(found.of("deactivated")),
        "read_s": round(read - start, 2),
        "plan_s": round(planned - read, 2),
        "write_s": round(done - planned, 2),
        "total_s": round(done - start, 2),
    }


async def run(url: str, people: int, agencies: int) -> dict[str, object]:
    first = await timed_import(url, people_csv(people, agencies))
    again = await timed_import(url, people_csv(people, agencies, changed=1000, deactivated=1000))
    return {"first import": first, "changes and leavers": again}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--agencies", type=int, default=2_000)
    args = parser.parse_args()
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "people": args.people,
        "agencies": args.agencies,
        "goal_seconds": GOAL_SECONDS,
        "load_average_before": load_average(),
    }
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'bench.db'}"
        migrate(url)
        results["sqlite"] = asyncio.run(run(url, args.people, args.agencies))
    name = f"bench_directory_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        migrate(url)
        results["postgresql"] = asyncio.run(run(url, args.people, args.agencies))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    results["load_average_after"] = load_average()
    print(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
