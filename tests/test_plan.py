"""What the launcher runs: the dev server's SQLite settings (fast: one dev server at most)."""

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from launcher.plan import plan, temporal_command
from tests.conftest import isolated_settings


def pragmas(command: list[str]) -> list[str]:
    return [command[n + 1] for n, arg in enumerate(command) if arg == "--sqlite-pragma"]


def dev_server_command(data_dir: Path, **settings: object) -> list[str]:
    return temporal_command(plan(isolated_settings(data_dir=data_dir, **settings)))


def test_the_dev_server_gets_wal_and_normal_sync_unless_turned_off(tmp_path: Path) -> None:
    assert pragmas(dev_server_command(tmp_path)) == ["journal_mode=wal", "synchronous=normal"]
    assert pragmas(dev_server_command(tmp_path, temporal_sqlite_pragmas="")) == []
    assert pragmas(dev_server_command(tmp_path, temporal_sqlite_pragmas=" cache_size=-8000 ")) == [
        "cache_size=-8000"
    ]


def journal_mode(database: Path) -> str | None:
    if not database.exists():
        return None
    try:
        with sqlite3.connect(database, timeout=5) as db:
            mode: str = db.execute("PRAGMA journal_mode").fetchone()[0]
            return mode
    except sqlite3.DatabaseError:  # still being created
        return None


def test_the_dev_server_keeps_temporal_db_in_wal_mode(
    tmp_path: Path, hold_port: Callable[[], int]
) -> None:
    command = dev_server_command(
        tmp_path, temporal_address=f"127.0.0.1:{hold_port()}", temporal_ui_port=hold_port()
    )
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        database = tmp_path / "temporal.db"
        give_up = time.monotonic() + 60
        while journal_mode(database) != "wal":
            assert server.poll() is None, "the dev server refused its options"
            assert time.monotonic() < give_up, f"temporal.db is in {journal_mode(database)} mode"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
