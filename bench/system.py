"""The machine, and what each process of the stack used, from /proc (Linux)."""

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def machine(temporal_cli: Path) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    total_kb = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)
    cli = subprocess.run(
        [str(temporal_cli), "--version"], capture_output=True, text=True, check=False
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(int(total_kb.group(1)) / 1024**2, 1) if total_kb else None,
        "cpu": model.group(1).strip() if model else platform.processor(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "temporalio": metadata.version("temporalio"),
        "temporal_cli": cli.stdout.strip(),
    }


def load_average() -> list[float]:
    return [round(load, 2) for load in os.getloadavg()]


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) so far."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(found.group(1)) / 1024, 1) if found else None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS
