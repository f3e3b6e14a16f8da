"""Where the worker and the API spend their time: py-spy samples, summed by component.

py-spy samples a running process from outside (no code change), 100 times a second, taking
only the thread that holds the GIL: Python code running, not threads waiting. A sample counts
for a component when any frame of its stack is in that component's code, so the shares overlap
(workflow code in the sandbox runs pydantic, for instance) and do not add up to 100.
"""

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PY_SPY = Path(sys.prefix) / "bin" / "py-spy"
COMPONENTS = {
    "workflow code in the sandbox (and its per-run imports)": ("workflow_sandbox",),
    "pydantic (models, validation, JSON)": ("pydantic",),
    "payload encryption (AES-GCM codec)": ("core/payload_crypto.py", "cryptography"),
    "database (SQLAlchemy, aiosqlite)": ("sqlalchemy", "aiosqlite", "sqlmodel"),
    "logging (structlog, logging)": ("structlog", "/logging/"),
    "HTTP (uvicorn, Starlette, FastAPI)": ("uvicorn", "starlette", "fastapi", "h11", "httptools"),
    "Temporal SDK": ("temporalio",),
    "asyncio event loop": ("/asyncio/",),
}


def start(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    """Samples `pid` for `seconds` in the background, into `output` (collapsed stacks)."""
    return subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "100",
            "--format",
            "raw",
            "--gil",
            "--nonblocking",  # never pause the process being measured
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarize(raw: Path, top: int = 12) -> dict[str, Any]:
    stacks: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            stacks[stack] += int(count)
    total = sum(stacks.values())
    if not total:
        return {"samples": 0}
    shares = {
        name: round(
            100 * sum(n for stack, n in stacks.items() if any(m in stack for m in markers)) / total,
            1,
        )
        for name, markers in COMPONENTS.items()
    }
    innermost: Counter[str] = Counter()
    for stack, n in stacks.items():
        innermost[stack.rsplit(";", 1)[-1]] += n
    return {
        "samples": total,
        "share_percent": shares,
        "top_frames_percent": {
            frame: round(100 * n / total, 1) for frame, n in innermost.most_common(top)
        },
    }


@dataclass
class Profiling:
    """py-spy on some of the stack's processes during a phase, when asked for (`--profile`)."""

    seconds: int  # 0: no profiling
    directory: Path
    running: dict[str, tuple[subprocess.Popen[bytes], Path]] = field(default_factory=dict)

    def start(self, phase: str, pids: dict[str, int]) -> None:
        for name, pid in pids.items() if self.seconds else ():
            raw = self.directory / f"{phase}-{name}.raw".replace(" ", "-")
            self.running[f"{phase}: {name}"] = (start(pid, self.seconds, raw), raw)

    def summaries(self) -> dict[str, Any]:
        found = {}
        for name, (process, raw) in self.running.items():
            process.wait()
            found[name] = summarize(raw) if raw.exists() else {"samples": 0}
        return found
