"""`make run`'s launcher (launcher/stack.py), started from a clean copy of the tree as a newcomer
would: the printed demo key raises an escalation, one Ctrl-C stops everything with no process
left behind, a second launcher is refused, and a restart keeps the escalations and the keys.

Ports are free ones, never the defaults, so a developer's own `make run` is left alone.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from launcher.demo import DEMO_KEYS, READY

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
# What a fresh clone does not have.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", ".data", ".env", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis"
)
KEY_LINE = re.compile(r"^  (practitioner|manager|board) .* (esk_\S+)$")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "escalations"
    shutil.copytree(ROOT, copy, ignore=NOT_IN_A_CLONE)
    return copy


def stack_env(**settings: str) -> dict[str, str]:
    """The environment with no setting of the developer's, plus `settings`."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return {**env, **settings}


def ports_env(hold_port: Callable[[], int]) -> dict[str, str]:
    """The stack's ports, held for the test (conftest's `hold_port`)."""
    return {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{hold_port()}",
        "TEMPORAL_UI_PORT": str(hold_port()),
        "API_PORT": str(hold_port()),
    }


class Launcher:
    """`python -m launcher` in `tree`, its output collected as it comes."""

    def __init__(self, tree: Path, env: dict[str, str], stderr: Path) -> None:
        self.lines: list[str] = []
        with stderr.open("a") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "launcher"],
                cwd=tree,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self._stderr = stderr
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines) + "\n--- stderr ---\n" + self._stderr.read_text()[-4000:]

    def wait_ready(self) -> None:
        give_up = time.monotonic() + 90
        while not any(line.startswith(READY) for line in self.lines):
            assert self.process.poll() is None, f"the launcher exited:\n{self.output()}"
            assert time.monotonic() < give_up, f"never ready:\n{self.output()}"
            time.sleep(0.1)

    def stop(self, signum: signal.Signals) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return code

    def line_after(self, heading: str) -> str:
        return self.lines[self.lines.index(heading) + 1].strip()

    def keys(self) -> dict[str, str]:
        return {m[1]: m[2] for line in self.lines if (m := KEY_LINE.match(line))}

    def pids(self) -> dict[str, int]:
        started = (re.match(r"^Started the (.+) \(pid (\d+)\)$", line) for line in self.lines)
        return {m[1]: int(m[2]) for m in started if m}


@pytest.fixture
def launchers() -> Iterator[list[Launcher]]:
    """Launchers a test starts; any still running at the end is stopped."""
    started: list[Launcher] = []
    yield started
    for launcher in started:
        if launcher.process.poll() is None:
            launcher.stop(signal.SIGTERM)


def start(launchers: list[Launcher], tree: Path, env: dict[str, str], log: Path) -> Launcher:
    launcher = Launcher(tree, env, log)
    launchers.append(launcher)
    return launcher


def launch_to_end(tree: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A launcher expected to refuse at once, run until it exits."""
    return subprocess.run(
        [sys.executable, "-m", "launcher"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def process_start(pid: int) -> str | None:
    """The process's start time, which tells it from a later one given the same pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its start time."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            parents.setdefault(parent, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        if (started := process_start(child)) is not None:
            found[child] = started
        todo += parents.get(child, [])
    return found


def still_running(processes: dict[int, str]) -> set[int]:
    return {pid for pid, started in processes.items() if process_start(pid) == started}


def raise_with_printed_curl(line: str) -> dict[str, object]:
    """Sends the printed curl line's request, read as a shell would read it."""
    argv = shlex.split(line)
    assert argv[:4] == ["curl", "-sS", "-X", "POST"]
    headers = dict(argv[i + 1].split(": ", 1) for i, arg in enumerate(argv) if arg == "-H")
    body = argv[argv.index("-d") + 1]
    response = httpx.post(argv[4], headers=headers, content=body, timeout=30)
    assert response.status_code == 201, response.text
    raised: dict[str, object] = response.json()
    return raised


def test_make_run_from_a_clean_tree(
    tree: Path, launchers: list[Launcher], tmp_path: Path, hold_port: Callable[[], int]
) -> None:
    env = stack_env(**ports_env(hold_port))
    api = f"http://127.0.0.1:{env['API_PORT']}"
    first = start(launchers, tree, env, tmp_path / "first.log")
    first.wait_ready()
    data = tree / ".data"
    assert f"Data         {data}" in first.output()
    assert set(first.pids()) == {"Temporal dev server", "worker", "API"}

    # The printed keys are the stored ones, the file private.
    keys = first.keys()
    assert keys == json.loads((data / "demo-keys.json").read_text())
    assert set(keys) == {demo.role for demo in DEMO_KEYS}
    assert (data / "demo-keys.json").stat().st_mode & 0o777 == 0o600

    # A ready sign-in link for each demo person opens the confirm button.
    links = [line.rsplit(": ", 1)[1] for line in first.lines if "/sign-in/" in line]
    assert len(links) == 3 and all(link.startswith(f"{api}/sign-in/") for link in links)
    confirm = httpx.get(links[0], timeout=30)
    assert confirm.status_code == 200 and "Public protection unit" in confirm.text

    # Demo escalations, raised through the API on first start, each named; mails kept whole.
    demo = [line.split()[0] for line in first.lines if re.match(r"^  ESC-[0-9A-Z]+  ", line)]
    assert len(demo) == 6, first.output()
    board = {"Authorization": f"Bearer {keys['board']}"}
    listed = httpx.get(f"{api}/escalations", headers=board, timeout=30).json()
    assert {item["id"] for item in listed["items"]} == set(demo)
    assert f"Mails        {data / 'mail.log'}" in first.output()
    mail_log = data / "mail.log"
    give_up = time.monotonic() + 60  # the notifications go out on the worker's own time
    while not (mail_log.exists() and "Subject:" in mail_log.read_text()):
        assert time.monotonic() < give_up, "no mail kept in mail.log"
        time.sleep(0.2)
    assert mail_log.stat().st_mode & 0o777 == 0o600

    raised = raise_with_printed_curl(first.line_after("Raise an escalation as the practitioner:"))
    assert raised["raising_agency"] == "Northshire Police"
    assert raised["receiving_agency"] == "Northshire Children's Services"
    escalation = f"{api}/escalations/{raised['id']}"
    manager = {"Authorization": f"Bearer {keys['manager']}"}
    read = httpx.get(escalation, headers=manager).json()
    assert (read["status"], read["stage"], read["stage_name"]) == ("open", 1, "Line managers")
    events = httpx.get(f"{escalation}/timeline", headers=manager).json()
    assert events[0]["action"] == "raised"
    assert events[0]["actor"] == "Demo practitioner (Northshire Police)"
    ui = httpx.get(f"http://127.0.0.1:{env['TEMPORAL_UI_PORT']}/", timeout=30)
    assert ui.status_code == 200

    # A second launcher on the same tree is refused, and the first carries on.
    second = launch_to_end(tree, env)
    assert second.returncode == 1
    assert "a stack is already running with data directory" in second.stderr
    assert f"launcher pid {first.process.pid}" in second.stderr
    assert httpx.get(f"{api}/healthz").json()["status"] == "ok"

    # One Ctrl-C stops everything.
    processes = descendants(first.process.pid)
    assert set(first.pids().values()) <= set(processes)
    assert first.stop(signal.SIGINT) == 0, first.output()
    assert first.lines[-1] == "Stack stopped."
    assert not still_running(processes)

    # A restart keeps the escalation (in the record and in Temporal) and the keys.
    again = start(launchers, tree, env, tmp_path / "again.log")
    again.wait_ready()
    assert again.keys() == keys
    assert "Demo API keys (kept in" in again.output()
    assert "Demo escalations" not in again.output()  # the first start's only
    moved = httpx.post(
        f"{escalation}/escalate", json={"reason": "No reply"}, headers=manager, timeout=30
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["stage"] == 2

    # A child that dies takes the stack down, with a message and a non-zero status.
    processes = descendants(again.process.pid)
    os.kill(again.pids()["worker"], signal.SIGKILL)
    assert again.process.wait(timeout=60) == 1
    assert "the worker was killed by SIGKILL; stopping the stack" in again.output()
    assert not still_running(processes)


def test_a_taken_port_stops_the_launcher_before_it_starts_anything(
    tree: Path, launchers: list[Launcher], tmp_path: Path, hold_port: Callable[[], int]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = stack_env(
            **{**ports_env(hold_port), "API_PORT": str(port)}, DATA_DIR=str(tmp_path / "d")
        )
        refused = launch_to_end(tree, env)
    assert refused.returncode == 1
    assert f"the API port 127.0.0.1:{port} is not free" in refused.stderr
    assert "API_PORT" in refused.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["stack.lock"]
    assert "Started" not in refused.stdout
