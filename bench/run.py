"""Runs the benchmark: `make bench`, or `python -m bench --help` for the knobs.

In one run, on the embedded stack (Temporal dev server, worker, API, SQLite), within a time
budget (14 minutes by default; a phase that would overrun it does less and says so):
1. escalations raised through the API by concurrent clients: throughput and latency;
2. escalations started at once, whose first time limits pass within the same few seconds: the
   lag from each limit to its "escalated" audit event;
3. the same two for bare Temporal (bench/bare.py: one timer, one no-op activity), and the
   ratios ours / bare;
4. peak memory and CPU per process, and Temporal history size per escalation.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench import baseline, ours
from bench.profile import Profiling
from bench.record import AuditWatch, history_sizes
from bench.stack import BenchError, RunningStack, embedded_stack, forget_developer_settings
from bench.stats import ratio
from bench.system import cpu_seconds, load_average, machine, peak_rss_mib
from core.temporal import connect

RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = 20
ALONE = 30  # raises by a single client, for the latency without queueing
RAISE_SHARE = 0.3  # of the budget, at most, for the raises through the API
BARE_RESERVE_S = 200  # kept back for the baseline and stopping the stack
START_RATE = 25  # workflow starts per second, about, when no worker competes


class CpuMeter:
    """CPU time each process used between two points, per item of work."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "benchmark client": os.getpid()}

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def per_item_ms(self, before: dict[str, float], count: int) -> dict[str, float]:
        after = self.read()
        return {
            name: round((after[name] - before.get(name, 0.0)) * 1000 / max(count, 1), 1)
            for name in after
        }


def size_time_limits(
    args: argparse.Namespace, raise_rate: float, left_s: float
) -> tuple[int, float]:
    """How many escalations the time-limit phase can take in the time left, and how fast to
    start them. Both come from the raise rate just measured: they are started a little slower
    than that, so the worker keeps up, and a stage move costs about what a raise does."""
    per_second = 0.9 * raise_rate
    count = max(1, min(args.deadlines, int((left_s - 30) / (1 / per_second + 1 / raise_rate))))
    return count, per_second


async def measure_ours(
    args: argparse.Namespace, stack: RunningStack, deadline: float, profiling: Profiling
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    client = await connect(stack.settings)
    cpu = CpuMeter(stack.pids)
    await ours.raise_through_api(stack, WARM_UP, args.clients)
    # One client at a time: what a raise costs when nothing queues in front of it.
    alone = (await ours.raise_through_api(stack, ALONE, 1)).summary()
    print(f"Raised by one client: {alone}", flush=True)
    before = cpu.read()
    profiling.start("raise", {"worker": stack.pids["worker"], "API": stack.pids["API"]})
    raised = await ours.raise_through_api(
        stack, args.raises, args.clients, stop_after=RAISE_SHARE * args.budget * 60
    )
    raise_cpu = cpu.per_item_ms(before, len(raised.results))
    summary = raised.summary()
    print(f"Raised through the API: {summary}", flush=True)
    # Their notifications go on in the background: let them finish before the next phase.
    watch = AuditWatch(stack.settings.database_url)
    try:
        quiet = await watch.wait_for("notified", raised.results, deadline - BARE_RESERVE_S)
    finally:
        await watch.close()

    left = deadline - BARE_RESERVE_S - loop.time()
    count, per_second = size_time_limits(args, summary["throughput_per_s"], left)
    print(f"{count} time limits at once, started at {per_second:.1f} per second", flush=True)
    before = cpu.read()
    limits = await ours.time_limits_at_once(
        client, stack, count, per_second, deadline - BARE_RESERVE_S, profiling
    )
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
        "histories": {
            "raised_open_at_stage_1": await history_sizes(client, raised.results),
            "after_one_time_limit": await history_sizes(client, ids),
        },
        "memory": memory,
    }


async def measure_bare(
    args: argparse.Namespace, stack: RunningStack, count: int, deadline: float
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
            client, task_queue, args.raises, args.clients, timer_seconds=3600
        )
        raise_cpu = cpu.per_item_ms(before, len(started.results))
        print(f"Bare starts: {started.summary()}", flush=True)
        before = cpu.read()
        # Long enough to start them all before their timers end.
        timer_seconds = max(args.bare_timer, 10 + 1.5 * count / START_RATE)
        timers = await baseline.timers_at_once(
            client, task_queue, count, timer_seconds, max(30.0, deadline - loop.time())
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
    """MiB of the stack's databases (Temporal's and ours, with their write-ahead logs)."""
    return {path.name: round(path.stat().st_size / 1024**2, 1) for path in data_dir.glob("*.db*")}


def goals(raise_p95: float, lag_p99: float, share: float | None) -> dict[str, Any]:
    return {
        "raise_p95_ms": {"goal": "<= 150", "value": raise_p95, "met": raise_p95 <= 150},
        "deadline_lag_p99_ms": {"goal": "<= 1000", "value": lag_p99, "met": lag_p99 <= 1000},
        "throughput_vs_bare": {"goal": ">= 0.5", "value": share, "met": (share or 0) >= 0.5},
    }


def combine(ours_: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    raised, started = ours_["raise"], bare["raise"]
    limits, timers = ours_["limits"], bare["limits"]
    share = ratio(raised["throughput_per_s"], started["throughput_per_s"])
    return {
        "raise": {
            "ours": raised,
            "bare": started,
            "ratio": {
                "throughput": share,
                **{
                    point: ratio(raised["latency_ms"][point], started["latency_ms"][point])
                    for point in ("p50", "p95", "p99")
                },
            },
            "one_client": {"ours": ours_["raise_alone"], "bare": bare["raise_alone"]},
            "cpu_ms_per_raise": {"ours": ours_["raise_cpu"], "bare": bare["raise_cpu"]},
        },
        "time_limits": {
            "ours": limits,
            "bare": timers,
            "ratio": {
                point: ratio(limits["lag_ms"][point], timers["lag_ms"][point])
                for point in ("p50", "p99", "max")
            },
            "cpu_ms_per_escalation": {"ours": ours_["limits_cpu"], "bare": bare["limits_cpu"]},
        },
        "peak_memory_mib": {**ours_["memory"], **bare["memory"]},
        "history_per_workflow": {**ours_["histories"], **bare["histories"]},
        "goals": goals(raised["latency_ms"]["p95"], limits["lag_ms"]["p99"], share),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.budget * 60
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(Path(sys.prefix) / "bin" / "temporal"),
        "load_average_before": load_average(),
        "config": {
            "raises": args.raises,
            "clients": args.clients,
            "time_limits": args.deadlines,
            "bare_timer_seconds_at_least": args.bare_timer,
            "workers": args.workers,
            "budget_minutes": args.budget,
            "database": "SQLite (the embedded stack's)",
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        data_dir = Path(scratch)
        profiling = Profiling(args.profile, data_dir)
        with embedded_stack(data_dir, args.workers) as stack:
            print(f"Stack ready: {stack.pids}", flush=True)
            mine = await measure_ours(args, stack, deadline, profiling)
            bare = await measure_bare(args, stack, mine["limits"]["escalations"], deadline)
            bare["memory"]["Temporal dev server"] = peak_rss_mib(stack.pids["Temporal dev server"])
            results["disk_mib_at_end"] = disk_use(data_dir)
        if args.profile:
            results["profile"] = profiling.summaries()
    results.update(combine(mine, bare))
    results["load_average_after"] = load_average()
    results["duration_seconds"] = round(args.budget * 60 - (deadline - loop.time()))
    return results


def table(results: dict[str, Any]) -> str:
    """The headline figures, as the Markdown table in docs/performance.md."""
    r, t = results["raise"], results["time_limits"]
    rows: list[tuple[str, str, str | None, dict[str, Any], str]] = [
        ("Raise throughput (per s)", "throughput_per_s", None, r, "throughput")
    ]
    rows += [(f"Raise latency {p} (ms)", "latency_ms", p, r, p) for p in ("p50", "p95", "p99")]
    rows += [(f"Time-limit lag {p} (ms)", "lag_ms", p, t, p) for p in ("p50", "p99", "max")]
    alone = r["one_client"]
    lines = [
        "| measure | escalations | bare Temporal | ours / bare |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, key, point, group, share in rows:
        mine = group["ours"][key] if point is None else group["ours"][key][point]
        bare = group["bare"][key] if point is None else group["bare"][key][point]
        lines.append(f"| {name} | {mine} | {bare} | {group['ratio'][share]} |")
    mine, bare = alone["ours"]["latency_ms"]["p95"], alone["bare"]["latency_ms"]["p95"]
    lines.append(f"| Raise latency p95, one client (ms) | {mine} | {bare} | {ratio(mine, bare)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--raises", type=int, default=1000, help="raises through the API")
    parser.add_argument("--clients", type=int, default=16, help="concurrent API clients")
    parser.add_argument("--deadlines", type=int, default=1000, help="time limits at once")
    parser.add_argument(
        "--bare-timer", type=int, default=60, help="shortest baseline timer, seconds"
    )
    parser.add_argument("--workers", type=int, default=1, help="the stack's worker processes")
    parser.add_argument("--budget", type=float, default=14, help="minutes for the whole run")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="SECONDS", help="py-spy the worker and API"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
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
    print(json.dumps(results["goals"], indent=2))
    print(f"Results: {args.out} ({results['duration_seconds']} s)", flush=True)
    # Skip interpreter teardown: the Temporal client's Rust threads can abort it once the server
    # is gone (temporalio/sdk-python#300), which would fail `make bench` after a good run.
    os._exit(0)
