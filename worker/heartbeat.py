"""The worker's heartbeat: its row in worker_heartbeat, refreshed every few seconds while it runs.

/healthz and the business unit's alert read it (docs/operations.md#worker-health): a row is
fresher and steadier than Temporal's list of pollers, whose last access an idle worker's long
poll leaves up to a minute old (bench/worker_liveness.py).
"""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from database.engine import session_factory
from database.worker_health import beat

log = structlog.get_logger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def _beat(
    sessions: async_sessionmaker[AsyncSession], worker_id: str, task_queue: str
) -> None:
    try:
        async with sessions() as db:
            await beat(db, worker_id, task_queue)
    except (SQLAlchemyError, OSError) as exc:  # the database away: try again next beat
        log.warning("worker heartbeat not written", error=type(exc).__name__)


async def _beat_forever(
    sessions: async_sessionmaker[AsyncSession], worker_id: str, task_queue: str, every: float
) -> None:
    while True:
        await asyncio.sleep(every)
        await _beat(sessions, worker_id, task_queue)


@asynccontextmanager
async def heartbeat(engine: AsyncEngine, task_queue: str, every: float) -> AsyncIterator[str]:
    """Beats now and every `every` seconds until the block ends; answers this worker's id."""
    worker_id, sessions = worker_identity(), session_factory(engine)
    await _beat(sessions, worker_id, task_queue)
    task = asyncio.create_task(_beat_forever(sessions, worker_id, task_queue, every))
    try:
        yield worker_id
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
