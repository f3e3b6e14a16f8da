"""The inspector's export: whole chains with a head signed by the partnership, and the verifier
an inspector runs (`python -m api verify-export FILE --public-key KEY`), which catches an
edited, a removed and a truncated chain; SQLite and PostgreSQL."""

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from casework.inspection import audit_export
from casework.refusals import ProblemError
from core.export_signing import load_public_key, public_pem, signing_key
from database.audit_export import export_problems
from database.engine import session_factory
from tests.test_audit_tamper import record_ladder

# record_ladder writes its events on 21 December 2026.
DAY = date(2026, 12, 21)


@dataclass(frozen=True)
class Person:
    name: str
    agency: str
    role: str


CHAIR = Person("Independent chair", "Northshire Safeguarding Children Partnership", "board")


def verify_export(document: dict[str, Any], public_key: Path, tmp_path: Path) -> list[str]:
    """What the verifier prints for `document`, run as an inspector runs it."""
    file = tmp_path / "export.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "api", "verify-export", str(file), "--public-key", str(public_key)],
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,  # no database, no settings: the file and the key only
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    assert (run.returncode == 0) == run.stdout.endswith("intact and signed.\n"), run.stdout
    return run.stdout.splitlines()[:-1]


async def test_the_verifier_catches_edited_removed_and_truncated_chains(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    escalations = [await record_ladder(engine) for _ in range(4)]
    key = signing_key(tmp_path / "signing.pem")
    public_key = tmp_path / "partnership.pub.pem"
    public_key.write_text(public_pem(key))
    async with session_factory(engine)() as db:
        document = await audit_export(db, CHAIR, DAY, DAY, key=key, partnership=CHAIR.agency)
        with pytest.raises(ProblemError) as refused:
            await audit_export(
                db,
                Person("DS Patel", "Northshire Police", "manager"),
                DAY,
                DAY,
                key=key,
                partnership=CHAIR.agency,
            )
    assert refused.value.status == 403
    assert sorted(document["heads"]) == sorted(escalations)
    assert verify_export(document, public_key, tmp_path) == []

    edited, removed, truncated, dropped = escalations
    tampered = json.loads(json.dumps(document))
    chains = tampered["chains"]
    chains[edited][1]["details"] = {"text": "Nothing of concern"}
    del chains[removed][1]
    del chains[truncated][-1]
    del chains[dropped]

    problems = verify_export(tampered, public_key, tmp_path)

    note = {e: document["chains"][e][1] for e in (edited, removed)}
    after = document["chains"][removed][2]
    assert sorted(problems) == sorted(
        [
            f"{dropped}: its chain is missing from the export",
            f"{edited}: event {note[edited]['id']} ({note[edited]['event_key']}): content changed",
            f"{removed}: event {after['id']} ({after['event_key']}): "
            "previous event missing or changed",
            f"{removed}: 3 events, the signed head has 4: events were removed from or added to "
            "its end",
            f"{truncated}: 3 events, the signed head has 4: events were removed from or added "
            "to its end",
        ]
    )

    # Cutting the tail and re-writing the head to match: the signature no longer does.
    rewritten = json.loads(json.dumps(document))
    del rewritten["chains"][truncated][-1]
    rewritten["heads"][truncated] = {
        "events": 3,
        "head": rewritten["chains"][truncated][-1]["hash"],
    }
    forged = [
        "the signature does not match the export's head: the head was altered, or it was "
        "signed with another key"
    ]
    assert export_problems(rewritten, load_public_key(public_key.read_bytes())) == forged
    other = signing_key(tmp_path / "other.pem").public_key()
    assert export_problems(document, other) == forged
