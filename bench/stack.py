"""The embedded stack (`python -m launcher`) on free ports and a data directory of its own."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings
from launcher.demo import READY
from launcher.plan import plan

PROJECT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 120
STARTED = re.compile(r"^Started the (.+) \(pid (\d+)\)$", re.MULTILINE)


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def forget_developer_settings() -> None:
    """The benchmark sets up its own stack: none of the developer's settings apply to it."""
    for name in Settings.model_fields:
        os.environ.pop(name.upper(), None)


def as_env(settings: Settings) -> dict[str, str]:
    """This environment plus the settings that were given explicitly, as variables."""
    given = settings.model_dump(include=settings.model_fields_set)
    return {**os.environ, **{name.upper(): str(value) for name, value in given.items()}}


@dataclass
class RunningStack:
    settings: Settings  # as the worker and the API see them
    keys: dict[str, str]  # demo API keys by role
    pids: dict[str, int]  # "Temporal dev server", "worker", "API", "worker 2", ...
    env: dict[str, str] = field(repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"


def _wait_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    give_up = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < give_up:
        text = log.read_text(errors="replace")
        if READY in text:
            return text
        if process.poll() is not None:
            raise BenchError(f"the stack exited ({process.returncode}):\n{text[-3000:]}")
        time.sleep(0.25)
    raise BenchError(f"the stack was not ready in {START_TIMEOUT_SECONDS} s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the launcher stops its children in order
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def worker_process(env: dict[str, str], log: Path) -> Iterator[int]:
    """One more `python -m worker`, as the stack's own but with `env`; yields its pid."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process.pid
    finally:
        _stop(process)


@contextmanager
def embedded_stack(data_dir: Path, workers: int = 1) -> Iterator[RunningStack]:
    """The stack as `make run` starts it (production-like JSON logs), plus `workers - 1` extra
    worker processes on the same task queue."""
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        api_port=free_port(),
        log_format="json",
    )
    env = as_env(settings)
    # What the launcher gives the worker and the API, so extra workers get the same.
    planned = plan(settings)
    child_env = {**env, **planned.chosen}
    log = data_dir / "stack.log"
    with ExitStack() as stack:
        output = stack.enter_context(log.open("wb"))
        launcher = subprocess.Popen(
            [sys.executable, "-m", "launcher"],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, launcher)
        text = _wait_ready(launcher, log)
        pids = {name: int(pid) for name, pid in STARTED.findall(text)}
        for number in range(2, workers + 1):
            pids[f"worker {number}"] = stack.enter_context(
                worker_process(child_env, data_dir / f"worker-{number}.log")
            )
        keys = json.loads((data_dir / "demo-keys.json").read_text())
        yield RunningStack(settings=planned.settings, keys=keys, pids=pids, env=child_env)
