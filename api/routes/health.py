"""/healthz: whether Temporal and the database answer. No authentication."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import select

from api.schemas import Health
from casework.dependencies import EngineDep, TemporalDep
from database.tables import ApiKey, Escalation

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


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(engine: EngineDep, temporal: TemporalDep) -> JSONResponse:
    temporal_ok = await _answers(temporal.service_client.check_health())
    database_ok = await _answers(_database(engine))
    health = Health(
        status="ok" if temporal_ok and database_ok else "unavailable",
        temporal="ok" if temporal_ok else "unavailable",
        database="ok" if database_ok else "unavailable",
    )
    return JSONResponse(health.model_dump(), status_code=200 if health.status == "ok" else 503)
