"""The stage clock activity: deadlines and reminder times on the working-day calendar."""

from datetime import datetime

from temporalio import activity

from core.calendar import LONDON, shift
from workflows.models import STAGE_CLOCK, StageClock, StageClockInput


def deadline_text(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


@activity.defn(name=STAGE_CLOCK)
async def stage_clock(request: StageClockInput) -> StageClock:
    deadline = shift(request.start, request.time_limit, nation=request.nation)
    reminder_at = None
    if request.reminder_lead is not None:
        reminder_at = shift(deadline, request.reminder_lead, backwards=True, nation=request.nation)
    return StageClock(
        deadline=deadline,
        reminder_at=reminder_at,
        deadline_text=deadline_text(deadline),
        reminder_text=deadline_text(reminder_at) if reminder_at else "",
    )
