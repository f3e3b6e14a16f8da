"""The business unit is told when escalations stop moving: one mail when no worker has been seen
for WORKER_ALERT_AFTER_SECONDS, one when a worker is back, however many API processes look."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from casework.directory_seed import seed
from casework.worker_alerts import WorkerAlerts
from core.directory import Directory
from database.engine import session_factory
from database.tables import WorkerHeartbeat, utc_now
from database.worker_health import beat
from tests.conftest import isolated_settings
from tests.engine_helpers import DIRECTORY
from tests.ladders import BUSINESS_UNIT, PARTNERSHIP
from tests.test_notifications import Mailbox, smtp_server
from workflows.policy import Nation

API_PROCESSES = 3


async def test_one_alert_and_one_recovery_mail_per_outage(
    database_url: str, engine: AsyncEngine
) -> None:
    box = Mailbox()
    async with smtp_server(box) as smtp:
        await _outage_told_once(database_url, engine, box, smtp)


async def _outage_told_once(
    database_url: str, engine: AsyncEngine, box: Mailbox, smtp: dict[str, Any]
) -> None:
    queue = f"alerts-{uuid.uuid4()}"
    settings = isolated_settings(
        database_url=database_url,
        task_queue=queue,
        worker_alert_after_seconds=60,
        worker_stale_after_seconds=30,
        **smtp,
    )
    await seed(session_factory(engine), DIRECTORY)  # as the API's start does
    processes = [WorkerAlerts(engine, settings) for _ in range(API_PROCESSES)]

    async def every_process_looks(times: int = 2) -> None:
        for _ in range(times):
            await asyncio.gather(*(p.look() for p in processes))

    await every_process_looks()  # no worker ever: a new installation, nothing to say
    gone = utc_now() - timedelta(minutes=7)
    async with session_factory(engine)() as db:
        db.add(
            WorkerHeartbeat(worker_id="w1", task_queue=queue, started_at=gone, last_seen_at=gone)
        )
        await db.commit()
    await every_process_looks(3)
    assert [m["Subject"] for m in box.messages] == [
        "Escalations have stopped moving: no worker is running"
    ]
    alert = box.messages[0]
    assert alert["To"] == BUSINESS_UNIT
    assert "for 7 minutes, since" in alert.get_content()

    async with session_factory(engine)() as db:
        await beat(db, "w1", queue)  # the worker is back
    await every_process_looks(3)
    assert [m["Subject"] for m in box.messages][1:] == [
        "Escalations are moving again: a worker is back"
    ]
    assert "for 7 minutes" in box.messages[1].get_content()
    assert all(m["To"] == BUSINESS_UNIT for m in box.messages)


WELSH_READER, ENGLISH_READER = "uned.rhybudd@scp.example.org", "unit.alerts@scp.example.org"
READERS = Directory.model_validate(
    {
        "partnership": {
            "name": PARTNERSHIP,
            "business_unit": [
                {"name": "Uned fusnes", "email": WELSH_READER, "language": "cy"},
                {"name": "Business unit", "email": ENGLISH_READER, "language": "en"},
            ],
        },
    }
)


async def stopped_worker_alerts(
    database_url: str,
    engine: AsyncEngine,
    smtp: dict[str, Any],
    readers: Directory,
    nation: Nation = "england",
) -> WorkerAlerts:
    """An API process's alerts, with `readers` in the directory and its queue's only worker
    last seen 7 minutes ago."""
    queue = f"alerts-{uuid.uuid4()}"
    settings = isolated_settings(
        database_url=database_url, task_queue=queue, worker_alert_after_seconds=60, **smtp
    )
    await seed(session_factory(engine), readers)
    gone = utc_now() - timedelta(minutes=7)
    async with session_factory(engine)() as db:
        db.add(WorkerHeartbeat(worker_id="w", task_queue=queue, started_at=gone, last_seen_at=gone))
        await db.commit()
    return WorkerAlerts(engine, settings, nation)


async def test_an_alert_refused_for_some_readers_goes_again_only_to_them(
    database_url: str, engine: AsyncEngine
) -> None:
    """One mail per language: when the Welsh one is refused, the next look sends that one only."""
    box = Mailbox(refuse_once={WELSH_READER})
    async with smtp_server(box) as smtp:
        alerts = await stopped_worker_alerts(database_url, engine, smtp, READERS)
        await alerts.look()
        assert len(box.to(ENGLISH_READER)) == 1 and box.to(WELSH_READER) == []
        await alerts.look()
        await alerts.look()
    assert len(box.to(ENGLISH_READER)) == 1 and len(box.to(WELSH_READER)) == 1
    assert "Mae uwchgyfeiriadau wedi peidio" in str(box.to(WELSH_READER)[0]["Subject"])
