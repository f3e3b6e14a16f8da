"""The README's curl session runs as written, against a running API, worker and Temporal."""

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

from tests.api_stack import ApiStack
from tests.engine_helpers import steps_of

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
DOCUMENTED_API = "http://127.0.0.1:8000"


def curl_session() -> str:
    """The sh block under "A session with curl"."""
    section = README.read_text(encoding="utf-8").split("## A session with curl", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "no sh block in the README's curl session"
    return found.group(1)


def answers(output: str) -> list[Any]:
    """The JSON documents curl printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


async def test_the_readme_curl_session_runs_as_written(api_stack: ApiStack) -> None:
    session = curl_session()
    assert DOCUMENTED_API in session
    # The same commands, pointed at this test's API and database.
    script = "set -euo pipefail\n" + session.replace(DOCUMENTED_API, str(api_stack.http.base_url))
    env = {
        **{k: v for k, v in os.environ.items() if k.upper() != "DATABASE_URL"},
        "DATABASE_URL": api_stack.settings.database_url,
    }
    shell = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(shell.communicate(), timeout=120)
    assert shell.returncode == 0, stderr.decode()

    read, resolved, timeline = answers(stdout.decode())
    # The id captured from the raise named the escalation every later command acted on.
    assert read["id"].startswith("ESC-") and resolved["id"] == read["id"]
    assert (read["status"], read["stage"], read["child_reference"]) == ("open", 1, "NP-2291")
    assert (resolved["status"], resolved["outcome"]) == ("resolved", "Strategy discussion agreed")
    assert [e["action"] for e in steps_of(timeline)] == ["raised", "resolved"]
