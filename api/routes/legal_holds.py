"""Legal holds: the partnership places and releases them (board keys); the list of holds."""

from fastapi import APIRouter

from api.deps import CallerDep
from api.problems import PROBLEM_RESPONSES
from api.routes.escalations import EscalationId
from api.schemas import EscalationOut, LegalHold
from casework import finding, holding, reading
from casework.dependencies import SessionDep
from casework.refusals import ProblemError
from workflows.action_requests import ReasonRequest

router = APIRouter(tags=["legal holds"], responses=PROBLEM_RESPONSES)


@router.post("/escalations/{escalation_id}/hold", response_model=EscalationOut)
async def place_hold(
    escalation_id: EscalationId, body: ReasonRequest, caller: CallerDep, db: SessionDep
) -> EscalationOut:
    """Place a legal hold, with the reason (the partnership only): the record is not erased
    while it stands, whatever the retention rule. A hold already standing is left as it is."""
    row = await finding.find_visible(db, caller, escalation_id)
    row = await holding.hold(db, caller, row, body.reason)
    return EscalationOut.of(await reading.readable(db, row), with_case=True)


@router.post("/escalations/{escalation_id}/hold/release", response_model=EscalationOut)
async def release_hold(
    escalation_id: EscalationId, body: ReasonRequest, caller: CallerDep, db: SessionDep
) -> EscalationOut:
    """Release the legal hold, with the reason (the partnership only): the retention rule
    applies again, so a record whose retention has ended is erased within a minute or two."""
    row = await finding.find_visible(db, caller, escalation_id)
    row = await holding.release(db, caller, row, body.reason)
    return EscalationOut.of(await reading.readable(db, row), with_case=True)


@router.get("/legal-holds", response_model=list[LegalHold])
async def list_holds(caller: CallerDep, db: SessionDep) -> list[LegalHold]:
    """The escalations under a legal hold, the longest held first (the partnership only)."""
    if caller.role != "board":
        raise ProblemError(403, "Only the partnership sees the legal holds.")
    return [LegalHold.of(row) for row in await holding.holds(db)]
