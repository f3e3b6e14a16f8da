"""/metrics: the service's gauges in the Prometheus text format. No credentials and no personal
data; keep it off the public internet all the same (docs/deploy.md)."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from casework.dependencies import SessionDep, SettingsDep
from casework.service_metrics import exposition, gauges

router = APIRouter(tags=["health"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(db: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """escalations_open and escalations_overdue by stage, notifications_failed and
    worker_last_seen_seconds, for Prometheus to scrape."""
    return PlainTextResponse(
        exposition(await gauges(db, settings.task_queue)), media_type=CONTENT_TYPE
    )
