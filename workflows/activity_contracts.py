"""The activities the escalation workflow calls, as typed declarations.

The workflow calls activities by reference to these, so mypy checks every argument and result,
while this package still imports nothing that does I/O. The worker registers the real
implementations (`activities/`) under the same names; tests register stand-ins under them too.
`tests/test_activity_contracts.py` holds each implementation to its declaration.
"""

from temporalio import activity

from workflows.models import (
    NOTIFY,
    RECORD_EVENT,
    STAGE_CLOCK,
    AuditEventInput,
    EventWritten,
    NotificationInput,
    NotificationResult,
    StageClock,
    StageClockInput,
)


@activity.defn(name=STAGE_CLOCK)
async def stage_clock(request: StageClockInput) -> StageClock:
    """Deadline and reminder time on the working-day calendar (activities/stage_clock.py)."""
    raise NotImplementedError


@activity.defn(name=RECORD_EVENT)
async def record_event(event: AuditEventInput) -> EventWritten:
    """One audit event and the read model, in one commit; answers when it was written
    (activities/recorder.py)."""
    raise NotImplementedError


@activity.defn(name=NOTIFY)
async def notify(request: NotificationInput) -> NotificationResult:
    """Tells the people of one event (activities/notifications.py)."""
    raise NotImplementedError
