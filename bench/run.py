"""Runs the benchmark: `make bench`, or `python -m bench --help` for the knobs.

In one run, within a time budget (20 minutes by default; a phase that would overrun it does less
and says so), for each app database (SQLite, then a fresh PostgreSQL database), on an embedded
stack of its own (Temporal dev server, worker, API):
1. escalations raised through the API by concurrent clients: throughput and latency;
2. escalations started at once, whose first time limits pass within the same few seconds: the
   lag from each limit to its "escalated" audit event;
3. the same two for bare Temporal (bench/bare.py: one timer, one no-op activity) on the same dev
   server, and the ratios ours / bare;
4. peak memory and CPU per process, and Temporal history size per escalation.
Then, on the SQLite stack, a shorter scale run with 1, 2 and 4 worker processes.

`make bench BENCH_QUICK=1` (or `python -m bench --quick`): the same with small sizes and no
scale run, in about 3 minutes, to compare before and after a change.
"""

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench import baseline, ours
from bench.meter import CpuMeter, wait_for_notified
from bench.profile import Profiling
from bench.record import history_sizes, raise_timeline
from bench.report import combine, goals, scale_table, table
from bench.scale import measure_scale
from bench.stack import (
    BenchError,
    RunningStack,
    embedded_stack,
    forget_developer_settings,
    fresh_postgres,
)
from bench.system import load_average, machine, peak_rss_mib
from core.temporal import connect

RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = 20
ALONE = 30  # raises by a single client, for the latency without queueing
RAISE_SHARE = 0.2  # of a stack's time, at most, for the raises through the API
BARE_SHARE = 0.2  # of a stack's time, kept back for the baseline and stopping the stack
SCALE_SHARE = 0.2  # of the budget, for the scale run
QUICK = {"raises": 100, "deadlines": 200, "scale": "", "budget": 6.0}


async def measure_ours(
    args: argparse.Namespace, stack: RunningStack, ours_end: float, profiling: Profiling
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    client = await connect(stack.settings)
    cpu = CpuMeter(stack.pids)
    warm = await ours.raise_through_api(stack, WARM_UP, args.clients)
    # One client at a time: what a raise costs when nothing queues in front of it.
    one_by_one = await ours.raise_through_api(stack, ALONE, 1)
    alone = one_by_one.summary()
    print(f"Raised by one client: {alone}", flush=True)
    await wait_for_notified(stack, warm.results + one_by_one.results, ours_end)
    before = cpu.read()
    profiling.start("raise", {"worker": stack.pids["worker"], "API": stack.pids["API"]})
    raise_seconds = RAISE_SHARE * (ours_end - loop.time()) / (1 - BARE_SHARE)
    raised = await ours.raise_through_api(
        stack, args.raises, args.clients, stop_after=raise_seconds
    )
    summary = raised.summary()
    print(f"Raised through the API: {summary}", flush=True)
    # Their notifications go on in the background: part of what a raise costs.
    quiet = await wait_for_notified(stack, raised.results, ours_end)
    raise_cpu = cpu.per_item_ms(before, len(raised.results))

    count, per_second = ours.size_time_limits(
        args.deadlines, summary["throughput_per_s"], ours_end - loop.time()
    )
    print(f"{count} time limits at once, started at {per_second:.1f} per second", flush=True)
    before = cpu.read()
    limits = await ours.time_limits_at_once(client, stack, count, per_second, ours_end, profiling)
    limits["stack_quiet_before"] = quiet
    limits_cpu = cpu.per_item_ms(before, limits["escalations"])
    memory = {name: peak_rss_mib(pid) for name, pid in stack.pids.items()}
    ids = limits.pop("ids")
    print(f"Time limits: {limits}", flush=True)
    return {
        "raise": summary,
        "raise_alone": alone,
        "raise_cpu": raise_cpu,
        "limits": limits,
        "limits_cpu": limits_cpu,
        "raise_timeline_one_client": await raise_timeline(client, one_by_one.results),
        "histories": {
            "raised_open_at_stage_1": await history_sizes(client, raised.results),
            "after_one_time_limit": await history_sizes(client, ids),
        },
        "memory": memory,
    }


async def measure_bare(
    args: argparse.Namespace, stack: RunningStack, raises: int, count: int, bare_end: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    address = stack.settings.temporal_address
    task_queue = f"bare-{uuid.uuid4().hex[:8]}"
    client = await Client.connect(address)
    with baseline.bare_worker(address, task_queue) as pid:
        await baseline.until_polled(client, task_queue)
        cpu = CpuMeter({**stack.pids, "bare worker": pid})
        await baseline.start_bare(client, task_queue, WARM_UP, args.clients, timer_seconds=3600)
        alone = await baseline.start_bare(client, task_queue, ALONE, 1, timer_seconds=3600)
        before = cpu.read()
        started = await baseline.start_bare(
            client, task_queue, raises, args.clients, timer_seconds=3600
        )
        raise_cpu = cpu.per_item_ms(before, len(started.results))
        print(f"Bare starts: {started.summary()}", flush=True)
        before = cpu.read()
        # Long enough to start them all (at the rate just measured) before their timers end.
        rate = started.summary()["throughput_per_s"]
        timer_seconds = max(args.bare_timer, 10 + 1.5 * count / rate)
        timers = await baseline.timers_at_once(
            client, task_queue, count, timer_seconds, max(30.0, bare_end - loop.time())
        )
        timers_cpu = cpu.per_item_ms(before, timers["workflows"])
        ids = timers.pop("ids")
        print(f"Bare timers: {timers}", flush=True)
        return {
            "raise": started.summary(),
            "raise_alone": alone.summary(),
            "raise_cpu": raise_cpu,
            "limits": timers,
            "limits_cpu": timers_cpu,
            "histories": {"bare_completed": await history_sizes(client, ids)},
            "memory": {"bare worker": peak_rss_mib(pid)},
        }


def disk_use(data_dir: Path) -> dict[str, float]:
    """MiB of the stack's SQLite files (Temporal's, and ours when on SQLite, with their logs)."""
    return {path.name: round(path.stat().st_size / 1024**2, 1) for path in data_dir.glob("*.db*")}


@contextmanager
def scratch_directory(keep: bool) -> Iterator[Path]:
    """Where a stack keeps its state and logs: removed after, unless asked to keep it."""
    path = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"Kept {path}", flush=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def app_database(kind: str) -> Iterator[str | None]:
    """The app database's URL for the stack: None for the stack's own SQLite file."""
    if kind == "sqlite":
        yield None
        return
    with fresh_postgres() as url:
        yield url


async def one_stack(
    args: argparse.Namespace, kind: str, stack_end: float, scale_s: float
) -> dict[str, Any]:
    """Ours and bare on one dev server, the app database `kind`; then the scale run, if any."""
    loop = asyncio.get_running_loop()
    with scratch_directory(args.keep) as data_dir, app_database(kind) as database_url:
        profiling = Profiling(args.profile, data_dir)
        with embedded_stack(data_dir, args.workers, database_url) as stack:
            print(f"Stack ready ({kind}): {stack.pids}", flush=True)
            bare_end = stack_end - scale_s
            ours_end = bare_end - BARE_SHARE * (bare_end - loop.time())
            mine = await measure_ours(args, stack, ours_end, profiling)
            bare = await measure_bare(
                args, stack, mine["raise"]["count"], mine["limits"]["escalations"], bare_end
            )
            bare["memory"]["Temporal dev server"] = peak_rss_mib(stack.pids["Temporal dev server"])
            scale = await measure_scale(args, stack, stack_end) if scale_s else None
            disk = disk_use(data_dir)
        found = combine(mine, bare)
        found["disk_mib_at_end"] = disk
        if args.profile:
            found["profile"] = profiling.summaries()
        if scale is not None:
            found["scale"] = scale
        return found


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    began = loop.time()
    deadline = began + args.budget * 60
    scale_s = SCALE_SHARE * args.budget * 60 if args.scale else 0.0
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "quick": args.quick,
        "machine": machine(Path(sys.prefix) / "bin" / "temporal"),
        "load_average_before": load_average(),
        "config": {
            "raises": args.raises,
            "clients": args.clients,
            "time_limits": args.deadlines,
            "bare_timer_seconds_at_least": args.bare_timer,
            "workers": args.workers,
            "databases": args.databases,
            "scale_workers": args.scale,
            "scale_raises": args.scale_raises,
            "scale_time_limits": args.scale_deadlines,
            "budget_minutes": args.budget,
        },
        "databases": {},
    }
    for number, kind in enumerate(args.databases):
        # The scale run goes with the first stack (SQLite by default).
        scale = scale_s if number == 0 else 0.0
        share = (deadline - loop.time() - scale) / (len(args.databases) - number)
        stack_end = loop.time() + share + scale
        results["databases"][kind] = await one_stack(args, kind, stack_end, scale)
    results["goals"] = {kind: goals(found) for kind, found in results["databases"].items()}
    results["load_average_after"] = load_average()
    results["duration_seconds"] = round(loop.time() - began)
    return results


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, no scale run")
    parser.add_argument("--raises", type=int, default=400, help="raises through the API")
    parser.add_argument("--clients", type=int, default=16, help="concurrent API clients")
    parser.add_argument("--deadlines", type=int, default=1000, help="time limits at once")
    parser.add_argument(
        "--bare-timer", type=int, default=15, help="shortest baseline timer, seconds"
    )
    parser.add_argument("--workers", type=int, default=1, help="the stack's worker processes")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="app databases, comma-separated"
    )
    parser.add_argument(
        "--scale", default="1,2,4", help="worker counts for the scale run ('' for none)"
    )
    parser.add_argument("--scale-raises", type=int, default=120)
    parser.add_argument("--scale-deadlines", type=int, default=150)
    parser.add_argument("--budget", type=float, default=20, help="minutes for the whole run")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="SECONDS", help="py-spy the worker and API"
    )
    parser.add_argument("--keep", action="store_true", help="keep each stack's state and logs")
    parser.add_argument("--label", default="", help="what this run measures, kept in the results")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/...)")
    args = parser.parse_args()
    args.quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    if args.quick:
        given = {name for name in QUICK if f"--{name}" in sys.argv}
        for name, value in QUICK.items():
            if name not in given:
                setattr(args, name, value)
    args.databases = [kind for kind in args.databases.split(",") if kind]
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown or not args.databases:
        parser.error(f"--databases: sqlite and/or postgresql, not {sorted(unknown)}")
    args.scale = [int(n) for n in args.scale.split(",") if n.strip()]
    if args.out is None:
        args.out = RESULTS / ("quick.json" if args.quick else "latest.json")
    return args


def main() -> None:
    args = arguments()
    forget_developer_settings()
    try:
        results = asyncio.run(bench(args))
    except BenchError as exc:
        raise SystemExit(f"bench: {exc}") from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    draft = args.out.with_suffix(".tmp")
    draft.write_text(json.dumps(results, indent=2) + "\n")
    draft.replace(args.out)
    print(table(results))
    for kind, found in results["databases"].items():
        if "scale" in found:
            print(f"\nScale ({kind}):\n{scale_table(found['scale'])}")
    print(json.dumps(results["goals"], indent=2))
    print(f"Results: {args.out} ({results['duration_seconds']} s)", flush=True)
    # Skip interpreter teardown: the Temporal client's Rust threads can abort it once the server
    # is gone (temporalio/sdk-python#300), which would fail `make bench` after a good run.
    os._exit(0)
