"""`python -m worker` refuses a bad policy or directory file before it connects to anything."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from tests.ladders import POLICE, directory, directory_text
from tests.ports import reserved_port
from tests.test_policies import POLICY_FILE

# Every test here runs the service's commands in processes of their own.
pytestmark = pytest.mark.slow

DIRECTORY_FILE = directory_text(directory(POLICE))


def key_file(tmp_path: Path) -> Path:
    """Where the worker's payload key goes: made on first start, once the files are read."""
    return tmp_path / "payload-keys.json"


def run_worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The worker as operators start it, pointed at a Temporal address where nobody listens."""
    clean = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    with reserved_port() as nobody_listens:
        return subprocess.run(
            [sys.executable, "-m", "worker"],
            cwd=tmp_path,  # no .env here
            env={
                **clean,
                "TEMPORAL_ADDRESS": f"127.0.0.1:{nobody_listens}",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'escalations.db'}",
                "PAYLOAD_KEY_FILE": str(key_file(tmp_path)),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=30,
        )


@pytest.mark.parametrize(
    ("setting", "content", "where"),
    [
        (
            "POLICY_FILE",
            POLICY_FILE.replace('role = "executive"', 'role = "chair"', 1),
            "policy 'westyorks', stage 3, field 'role': Input should be",
        ),
        (
            "DIRECTORY_FILE",
            DIRECTORY_FILE.replace('role = "manager"', 'role = "sergeant"'),
            "agency 'Northshire Police', field agencies.0.contacts.1.role: Input should be",
        ),
    ],
)
def test_worker_refuses_a_bad_file_before_connecting(
    tmp_path: Path, setting: str, content: str, where: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(content, encoding="utf-8")
    finished = run_worker(tmp_path, **{setting: str(bad)})
    assert finished.returncode == 2
    assert f"worker: {bad}: {where}" in finished.stderr
    # It stopped at the file: it never made its payload key, nor tried Temporal.
    assert not key_file(tmp_path).exists()
    assert "connect" not in finished.stderr.lower()


def test_with_good_files_the_worker_goes_on_to_connect(tmp_path: Path) -> None:
    policies, directory = tmp_path / "policies.toml", tmp_path / "directory.toml"
    policies.write_text(POLICY_FILE, encoding="utf-8")
    directory.write_text(DIRECTORY_FILE, encoding="utf-8")
    finished = run_worker(tmp_path, POLICY_FILE=str(policies), DIRECTORY_FILE=str(directory))
    # Past the files, it fails only because no Temporal server listens there. (The exit code is
    # 1, or rarely a SIGABRT as the SDK's runtime is torn down after the failed connect.)
    assert finished.returncode not in (0, 2)
    assert key_file(tmp_path).exists()
    assert "worker: cannot reach Temporal at 127.0.0.1:" in finished.stderr
    assert "Failed client connect" in finished.stderr
    assert "Traceback" not in finished.stderr
