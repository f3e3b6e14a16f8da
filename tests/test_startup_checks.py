"""What the worker, the API and create-key refuse to start on, each in one line: a directory
file that cannot be read, a database without the schema or behind head, names with control
characters that would reach mail headers."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from core.directory import DirectoryFileError, load_directory
from core.policy_files import PolicyFileError, load_policies
from core.settings import Settings
from database.engine import migrate
from tests.ladders import BUSINESS_UNIT
from tests.test_policies import POLICY_FILE
from tests.test_worker_config import DIRECTORY_FILE

# Every test here runs the service's commands in processes of their own.
pytestmark = pytest.mark.slow

EXAMPLE_DIRECTORY = Path(__file__).resolve().parent.parent / "config" / "directory.example.toml"
KEY = ["create-key", "--agency", "Northshire Police", "--role", "manager", "--name", "DS Patel"]


def run(command: list[str], cwd: Path, **settings: object) -> subprocess.CompletedProcess[str]:
    """`python -m ...` with only `settings`, in a directory with no .env."""
    mine = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in mine}
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", *command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(finished: subprocess.CompletedProcess[str]) -> str:
    assert finished.returncode == 2, (finished.stdout, finished.stderr)
    assert "Traceback" not in finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["worker"], ["api"]])
def test_a_directory_file_that_cannot_be_read_no_start(tmp_path: Path, command: list[str]) -> None:
    # DIRECTORY_FILE is a seed and may be unset; one that is set must be readable.
    database = f"sqlite:///{tmp_path / 'escalations.db'}"
    gone = tmp_path / "gone.toml"
    missing = one_line(run(command, tmp_path, database_url=database, directory_file=gone))
    assert missing.startswith(f"{command[0]}: {gone}: cannot read directory file")


def stale(url: str) -> None:
    """A database migrated by an older release: its schema is behind this code's head."""
    migrate(url)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE alembic_version SET version_num = '0000_before'")


@pytest.mark.parametrize("schema", ["none", "behind"])
def test_a_database_without_the_schema_is_named_with_the_fix(
    dev_env: WorkflowEnvironment, tmp_path: Path, schema: str
) -> None:
    url = f"sqlite:///{tmp_path / 'escalations.db'}"
    if schema == "behind":
        stale(url)
    settings = {
        "database_url": url,
        "directory_file": EXAMPLE_DIRECTORY,
        "temporal_address": dev_env.client.service_client.config.target_host,
        "payload_key_file": tmp_path / "keys.json",
    }
    for command, name in ((["worker"], "worker"), (["api"], "api"), (["api", *KEY], "api")):
        line = one_line(run(command, tmp_path, **settings))
        assert line.startswith(f"{name}: the database")
        assert line.endswith("run `alembic upgrade head` on DATABASE_URL")
        if schema == "behind":
            assert "0000_before" in line
    if schema == "none":  # nothing was created on the way
        assert not (tmp_path / "escalations.db").exists()


@pytest.mark.parametrize(
    ("original", "changed", "where"),
    [
        (
            'name = "Northshire Police"',
            'name = "Northshire Police\\r\\nBcc: x"',
            "agency 'Northshire Police\\r\\nBcc: x', field agencies.0.name",
        ),
        (
            'name = "DS Patel"',
            'name = "DS\\tPatel"',
            "agency 'Northshire Police', field agencies.0.contacts.1.name",
        ),
        (
            f'email = "{BUSINESS_UNIT}"',
            f'email = "{BUSINESS_UNIT}" }}, {{ name = "Unit\\u2028B", email = "b@p.example"',
            "partnership.business_unit.1.name",
        ),
    ],
)
def test_directory_names_for_mail_headers_are_one_line(
    tmp_path: Path, original: str, changed: str, where: str
) -> None:
    path = tmp_path / "directory.toml"
    path.write_text(DIRECTORY_FILE.replace(original, changed), encoding="utf-8")
    with pytest.raises(DirectoryFileError) as refused:
        load_directory(path)
    assert str(refused.value).startswith(
        f"{path}: {where}: Value error, must not contain control characters"
    )


@pytest.mark.parametrize(
    ("original", "changed", "where"),
    [
        ('name = "Line managers"', 'name = "Line managers\\r\\nBcc: x"', "stage 2, field 'name'"),
        (
            'title = "Resolution of professional disagreements"',
            'title = "Resolution\\u0085of disagreements"',
            "field 'title'",
        ),
    ],
)
def test_policy_text_for_mail_headers_is_one_line(
    tmp_path: Path, original: str, changed: str, where: str
) -> None:
    path = tmp_path / "policies.toml"
    path.write_text(POLICY_FILE.replace(original, changed, 1), encoding="utf-8")
    with pytest.raises(PolicyFileError) as refused:
        load_policies(path)
    assert str(refused.value).startswith(f"{path}: policy 'westyorks', {where}: must not contain")


def test_the_api_names_an_unusable_identity_provider_and_does_not_start(tmp_path: Path) -> None:
    example = EXAMPLE_DIRECTORY.parent / "identity-providers.example.toml"
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'escalations.db'}",
        "directory_file": EXAMPLE_DIRECTORY,
        "oidc_providers_file": example,
    }
    secretless = one_line(run(["api"], tmp_path, **settings))
    assert secretless == "api: provider 'northshire': NORTHSHIRE_ENTRA_SECRET is not set"
    del settings["oidc_providers_file"]
    plain_http = {**settings, "oidc_issuer": "http://login.example.org", "oidc_client_id": "c"}
    refused = one_line(run(["api"], tmp_path, **plain_http))
    assert refused.startswith("api: identity providers: issuer: Value error, must be https://")
