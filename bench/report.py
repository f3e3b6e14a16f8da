"""The results: one stack's figures side by side with bare Temporal's, the goals, the tables."""

from collections.abc import Callable
from typing import Any

from bench.meter import workers_ms
from bench.stats import ratio


def combine(ours_: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    raised, started = ours_["raise"], bare["raise"]
    limits, timers = ours_["limits"], bare["limits"]
    return {
        "raise": {
            "ours": raised,
            "bare": started,
            "ratio": {
                "throughput": ratio(raised["throughput_per_s"], started["throughput_per_s"]),
                **{
                    point: ratio(raised["latency_ms"][point], started["latency_ms"][point])
                    for point in ("p50", "p95", "p99")
                },
            },
            "one_client": {"ours": ours_["raise_alone"], "bare": bare["raise_alone"]},
            "timeline_one_client_ms": ours_["raise_timeline_one_client"],
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
    }


def _goal(goal: str, value: float | None, met: bool, **more: Any) -> dict[str, Any]:
    return {"goal": goal, "value": value, "met": met, **more}


def goals(found: dict[str, Any]) -> dict[str, Any]:
    """Issue 14's goals, read off one stack's figures (reported, never asserted)."""
    r, t = found["raise"], found["time_limits"]
    share = r["ratio"]["throughput"]
    p95, alone = r["ours"]["latency_ms"]["p95"], r["one_client"]["ours"]["latency_ms"]["p95"]
    lag, at_once = t["ours"]["lag_ms"]["p99"], t["ours"]["escalations"]
    cpu = workers_ms(r["cpu_ms_per_raise"]["ours"])
    events = found["history_per_workflow"]["raised_open_at_stage_1"]["events_max"]
    return {
        "throughput_vs_bare": _goal(">= 0.5", share, (share or 0) >= 0.5),
        "raise_p95_ms_16_clients": _goal("<= 300", p95, p95 <= 300),
        "raise_p95_ms_one_client": _goal("<= 100", alone, alone <= 100),
        # Met only when the burst was the full 1,000 (the budget may have made it smaller).
        "time_limit_lag_p99_ms": _goal(
            "<= 10000, 1,000 at once", lag, lag <= 10_000 and at_once >= 1000, at_once=at_once
        ),
        "worker_cpu_ms_per_raise": _goal("<= 40", cpu, cpu <= 40),
        "history_events_after_raise": _goal("<= 15", events, events <= 15),
    }


Row = tuple[str, Callable[[dict[str, Any]], tuple[Any, Any, Any]], str]


def _cpu(group: dict[str, Any], side: str) -> str:
    per = group[side]
    return " / ".join(str(per.get(name, "-")) for name in ("Temporal dev server", "worker", "API"))


def _history(found: dict[str, Any], name: str) -> str:
    sizes = found["history_per_workflow"][name]
    return f"{sizes['events_max']}, {sizes['bytes'] / 1000:.1f} KB"


ROWS: list[Row] = [
    (
        "Raise throughput (per s, 16 clients)",
        lambda f: (
            f["raise"]["ours"]["throughput_per_s"],
            f["raise"]["bare"]["throughput_per_s"],
            f["raise"]["ratio"]["throughput"],
        ),
        "≥ 0.5 x bare",
    ),
    *(
        (
            f"Raise latency {point} (ms, 16 clients)",
            lambda f, point=point: (
                f["raise"]["ours"]["latency_ms"][point],
                f["raise"]["bare"]["latency_ms"][point],
                f["raise"]["ratio"][point],
            ),
            "≤ 300 ms" if point == "p95" else "",
        )
        for point in ("p50", "p95", "p99")
    ),
    (
        "Raise latency p50 / p95 (ms, one client)",
        lambda f: (
            "{p50} / {p95}".format(**f["raise"]["one_client"]["ours"]["latency_ms"]),
            "{p50} / {p95}".format(**f["raise"]["one_client"]["bare"]["latency_ms"]),
            ratio(
                f["raise"]["one_client"]["ours"]["latency_ms"]["p95"],
                f["raise"]["one_client"]["bare"]["latency_ms"]["p95"],
            ),
        ),
        "p95 ≤ 100 ms",
    ),
    (
        "Time limits passing at once",
        lambda f: (
            f["time_limits"]["ours"]["escalations"],
            f["time_limits"]["bare"]["workflows"],
            "",
        ),
        "1,000",
    ),
    *(
        (
            f"Time-limit lag {point} (ms)",
            lambda f, point=point: (
                f["time_limits"]["ours"]["lag_ms"][point],
                f["time_limits"]["bare"]["lag_ms"][point],
                f["time_limits"]["ratio"][point],
            ),
            "≤ 10 s" if point == "p99" else "",
        )
        for point in ("p50", "p99", "max")
    ),
    (
        "Burst worked through (moved per s)",
        lambda f: (
            f["time_limits"]["ours"]["moved_per_s"],
            f["time_limits"]["bare"]["moved_per_s"],
            ratio(f["time_limits"]["ours"]["moved_per_s"], f["time_limits"]["bare"]["moved_per_s"]),
        ),
        "",
    ),
    (
        "CPU per raise (ms): Temporal / worker / API",
        lambda f: (
            _cpu(f["raise"]["cpu_ms_per_raise"], "ours"),
            _cpu(f["raise"]["cpu_ms_per_raise"], "bare"),
            "",
        ),
        "worker ≤ 40 ms",
    ),
    (
        "History after the raise: events, bytes",
        lambda f: (
            _history(f, "raised_open_at_stage_1"),
            _history(f, "bare_completed") + " (done)",
            "",
        ),
        "≤ 15 events",
    ),
]

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def table(results: dict[str, Any]) -> str:
    """The headline figures as a Markdown table: per app database, ours, bare and the ratio."""
    kinds = list(results["databases"])
    head = ["measure"]
    for kind in kinds:
        head += [f"{NAMES[kind]}: escalations", "bare", "ours / bare"]
    head.append("goal")
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 2) + " --- |"]
    for name, read, goal in ROWS:
        cells = [name]
        for kind in kinds:
            cells += [str(value) for value in read(results["databases"][kind])]
        lines.append("| " + " | ".join([*cells, goal]) + " |")
    return "\n".join(lines)


def scale_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| worker processes | raises per s | raise p95 (ms) | time limits at once "
        "| lag p50 / p99 (s) | moved per s in the burst "
        "| worker CPU per escalation (ms, all workers) | peak memory per worker (MiB) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lag = row["limits"]["lag_ms"]
        lines.append(
            f"| {row['workers']} | {row['raise']['throughput_per_s']} "
            f"| {row['raise']['latency_ms']['p95']:,} | {row['limits']['escalations']} "
            f"| {lag['p50'] / 1000:.1f} / {lag['p99'] / 1000:.1f} "
            f"| {row['limits']['moved_per_s']} | {row['worker_cpu_ms_per_escalation']} "
            f"| {', '.join(str(m) for m in row['peak_memory_mib'].values())} |"
        )
    return "\n".join(lines)
