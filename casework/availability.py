"""Whether an action that needs the worker can be taken now, and the answers when it cannot.

Every action that needs the worker is answered within ACTION_TIMEOUT_SECONDS (plus a second):
done, or 503 with Retry-After and nothing applied (docs/operations.md#bounded-actions).
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from casework.refusals import ProblemError
from core.settings import Settings
from database.worker_health import seconds_unseen, worker_check

RETRY_AFTER = {"Retry-After": "30"}
NO_WORKER = (
    "The escalation service cannot act now: no worker is running ({check}). Nothing was "
    "applied; try again later."
)
TOO_LATE = (
    "The escalation service did not take this in time. Nothing was applied; try again "
    "(with the same Idempotency-Key, it is applied at most once)."
)
NOT_CONFIRMED = (
    "The escalation service has not confirmed this yet. Repeat the request with the same "
    "Idempotency-Key to learn the outcome: it is applied at most once."
)


async def require_worker(db: AsyncSession, settings: Settings) -> None:
    """503 at once when no worker was seen lately: the action is not sent at all."""
    check = worker_check(
        await seconds_unseen(db, settings.task_queue), settings.worker_stale_after_seconds
    )
    if check != "ok":
        raise ProblemError(503, NO_WORKER.format(check=check), headers=RETRY_AFTER)
