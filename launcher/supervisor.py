"""Process supervision for the embedded stack: children in their own process groups, one lock
per data directory, free ports checked before anything starts."""

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

START_TIMEOUT_SECONDS = 60.0
# Longer than the worker's graceful shutdown (10 s), so running activities can finish.
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.25

T = TypeVar("T")


class StackError(Exception):
    """The stack cannot start or keep running; the message says why and what to do."""


# --- one stack per data directory and ports ----------------------------------------------------


@contextlib.contextmanager
def hold_lock(data_dir: Path) -> Iterator[None]:
    """Holds DATA_DIR/stack.lock while the launcher lives (the kernel drops it when it dies)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(data_dir / "stack.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            raise StackError(
                f"a stack is already running with data directory {data_dir} "
                f"(launcher pid {holder}). Stop it with Ctrl-C in its terminal, or run a second "
                "stack with its own DATA_DIR, TEMPORAL_ADDRESS, TEMPORAL_UI_PORT and API_PORT"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def check_ports(wanted: list[tuple[str, str, int, str]]) -> None:
    """Refuses to start anything when a port the stack needs is taken: (what, host, port,
    the setting that moves it)."""
    for what, host, port, setting in wanted:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # As the servers themselves bind: connections closing on the port do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise StackError(
                    f"the {what} port {host}:{port} is not free ({exc.strerror}). Is another "
                    f"stack or Temporal server running? Stop it, or choose another port with "
                    f"{setting}"
                ) from None


# --- the children ------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path | None = None

    def exit_message(self) -> str:
        code = self.process.returncode
        assert code is not None
        ended = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
        message = f"the {self.name} {ended}"
        if self.log is not None:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            message += f"; the end of its log ({self.log}):\n" + "\n".join(tail)
        return message


class Children:
    """The stack's processes, each the leader of its own process group."""

    def __init__(self) -> None:
        self._started: list[Child] = []

    async def start(
        self, name: str, command: list[str], env: dict[str, str], log: Path | None = None
    ) -> None:
        with contextlib.ExitStack() as files:
            output = files.enter_context(log.open("w")) if log else None
            process = await asyncio.create_subprocess_exec(
                *command,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                # Out of the terminal's group: Ctrl-C reaches the launcher, which stops them.
                process_group=0,
            )
        self._started.append(Child(name, process, log))
        print(f"Started the {name} (pid {process.pid})")

    def check_alive(self) -> None:
        for child in self._started:
            if child.process.returncode is not None:
                raise StackError(child.exit_message())

    async def first_exit(self) -> Child:
        waits = {asyncio.ensure_future(child.process.wait()): child for child in self._started}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in pending:
            wait.cancel()
        return waits[done.pop()]

    async def stop(self) -> None:
        """Stops the children, last started first, so the worker finishes before Temporal goes."""
        for child in reversed(self._started):
            process = child.process
            if process.returncode is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
                except TimeoutError:
                    print(f"The {child.name} did not stop in {STOP_TIMEOUT_SECONDS:.0f} s: killed")
            # Whatever the child left behind in its group goes too.
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()

    def kill(self) -> None:
        for child in self._started:
            _signal_group(child.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


async def wait_for(what: str, attempt: Callable[[], Awaitable[T | None]], children: Children) -> T:
    """The first answer of `attempt`, while every child stays up."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + START_TIMEOUT_SECONDS
    while True:
        children.check_alive()
        answer = await attempt()
        if answer is not None:
            return answer
        if loop.time() > give_up:
            raise StackError(f"{what} did not answer within {START_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(POLL_SECONDS)
