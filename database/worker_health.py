"""Worker heartbeats: each worker's row, refreshed while it runs, and when one was last seen."""

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import WorkerHeartbeat, utc_now

# Rows of workers gone this long are removed by the live ones.
FORGET_AFTER = timedelta(days=1)


async def beat(db: AsyncSession, worker_id: str, task_queue: str) -> None:
    """This worker is alive now."""
    now = utc_now()
    refreshed = await db.exec(
        update(WorkerHeartbeat)
        .where(col(WorkerHeartbeat.worker_id) == worker_id)
        .values(last_seen_at=now)
    )
    if refreshed.rowcount == 0:
        db.add(
            WorkerHeartbeat(
                worker_id=worker_id, task_queue=task_queue, started_at=now, last_seen_at=now
            )
        )
        await db.exec(
            delete(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen_at) < now - FORGET_AFTER)
        )
    await db.commit()


async def last_seen(db: AsyncSession, task_queue: str) -> datetime | None:
    """When a worker of `task_queue` was last seen alive; None if none ever was."""
    query = (
        select(WorkerHeartbeat.last_seen_at)
        .where(WorkerHeartbeat.task_queue == task_queue)
        .order_by(col(WorkerHeartbeat.last_seen_at).desc())
        .limit(1)
    )
    return (await db.exec(query)).first()


async def seconds_unseen(db: AsyncSession, task_queue: str) -> float | None:
    """Seconds since a worker of `task_queue` was last seen; None if none ever was."""
    seen = await last_seen(db, task_queue)
    return None if seen is None else max(0.0, (utc_now() - seen).total_seconds())


def worker_check(unseen: float | None, stale_after: float) -> str:
    """/healthz's word on the workers: "ok", or how long none has been seen."""
    if unseen is None:
        return "no worker seen yet"
    if unseen > stale_after:
        return f"no worker seen for {unseen:.0f} s"
    return "ok"
