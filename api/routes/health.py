"""/healthz (readiness: the database, Temporal and a live worker) and /livez (the process is up).
No authentication; neither says anything about escalations."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import select

from api.problems import MEDIA_TYPE
from api.schemas import Health, Live
from casework.dependencies import EngineDep, SessionDep, SettingsDep, TemporalDep
from database.tables import ApiKey, Escalation
from database.worker_health import seconds_unseen, worker_check

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 3.0


async def _answers(check: object) -> bool:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception:  # any failure means "not answering"
        return False
    return True


async def _database(engine: EngineDep) -> None:
    # What every request reads: a revoked privilege or a missing table fails here as there.
    async with engine.connect() as connection:
        await connection.execute(select(ApiKey.id).limit(1))
        await connection.execute(select(Escalation.id).limit(1))


async def _worker(db: SessionDep, settings: SettingsDep) -> str:
    try:
        unseen = await asyncio.wait_for(
            seconds_unseen(db, settings.task_queue), CHECK_TIMEOUT_SECONDS
        )
    except Exception:  # the heartbeats live in the database
        return "unknown: the database is unavailable"
    return worker_check(unseen, settings.worker_stale_after_seconds)


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "content": {MEDIA_TYPE: {}}}},
)
async def healthz(
    engine: EngineDep, db: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> JSONResponse:
    """Ready to serve: 200 when the database and Temporal answer and a worker was seen within
    WORKER_STALE_AFTER_SECONDS; else 503 problem+json naming each check."""
    temporal_ok, database_ok = await asyncio.gather(
        _answers(temporal.service_client.check_health()), _answers(_database(engine))
    )
    worker = await _worker(db, settings)
    checks = {
        "database": "ok" if database_ok else "unavailable",
        "temporal": "ok" if temporal_ok else "unavailable",
        "worker": worker,
    }
    ready = all(check == "ok" for check in checks.values())
    health = Health(
        status="ok" if ready else "unavailable",
        temporal="ok" if temporal_ok else "unavailable",
        database="ok" if database_ok else "unavailable",
        worker="ok" if worker == "ok" else "unavailable",
        checks=checks,
    )
    if ready:
        return JSONResponse(health.model_dump())
    failing = ", ".join(f"{name}: {check}" for name, check in checks.items() if check != "ok")
    body = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "detail": f"Not ready: {failing}.",
        **health.model_dump(),
    }
    return JSONResponse(body, status_code=503, media_type=MEDIA_TYPE, headers={"Retry-After": "5"})


@router.get("/livez", response_model=Live)
async def livez() -> Live:
    """The process is up and answering; nothing else is checked (a container's liveness probe)."""
    return Live(status="ok")
