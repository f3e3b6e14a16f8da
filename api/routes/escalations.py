"""/escalations: raise, read, list, act and see the timeline."""

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse

from api.deps import CallerDep
from api.problems import PROBLEM_RESPONSES
from api.schemas import EscalationOut, EscalationPage, RaiseAcceptedOut, TimelineEvent
from casework import acting, correcting, finding, raising, reading, searching
from casework.actors import label
from casework.dependencies import (
    PoliciesDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
    TermHasherDep,
)
from casework.requests import CorrectionRequest, RaiseRequest
from database.access_log import record_access
from workflows.action_requests import NO_NUL, Strict
from workflows.actions import ACTIONS, ActionDefinition
from workflows.models import ActionKind, Status

router = APIRouter(prefix="/escalations", tags=["escalations"], responses=PROBLEM_RESPONSES)

EscalationId = Annotated[str, Path(pattern=NO_NUL, description="The reference, ESC-…")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Repeat a raise or an action safely: the same key (per agency), escalation, action "
            "and body give the same answer and no second effect (`Idempotent-Replayed: true`); "
            "the key reused for anything else is refused (422)."
        ),
    ),
]
SearchTerm = Annotated[str | None, Query(min_length=1, max_length=100, pattern=NO_NUL)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EscalationOut,
    responses={202: {"model": RaiseAcceptedOut}},
)
async def raise_escalation(
    body: RaiseRequest,
    caller: CallerDep,
    db: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    policies: PoliciesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> EscalationOut:
    """Raise an escalation against another agency's decision. It starts at stage 1 of its ladder
    (the urgent track when there is immediate risk: contact MASH or the police first). 202: its
    workflow is started but no worker recorded it within the time limit; it will be, and a
    repeat with the same Idempotency-Key answers 201 once it is."""
    try:
        row, repeated = await raising.raise_escalation(
            db, temporal, settings, policies, caller, body, idempotency_key
        )
    except raising.RaiseAccepted as accepted:
        reference = accepted.row.id
        return JSONResponse(  # type: ignore[return-value]
            RaiseAcceptedOut(id=reference).model_dump(),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/escalations/{reference}"},
        )
    response.headers["Location"] = f"/escalations/{row.id}"
    if repeated:
        response.headers["Idempotent-Replayed"] = "true"
    return EscalationOut.of(await reading.readable(db, row), with_case=True)


@router.get("", response_model=EscalationPage)
async def list_escalations(
    caller: CallerDep,
    db: SessionDep,
    hasher: TermHasherDep,
    status: Status | None = None,
    stage: Annotated[int | None, Query(ge=1, le=10)] = None,
    agency: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    overdue: bool | None = None,
    child_reference: SearchTerm = None,
    q: SearchTerm = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> EscalationPage:
    """Escalations your agency is involved in (all of them for the partnership), newest first.

    `child_reference` finds a child's escalations (exactly, but for case and spaces); `q` takes
    an escalation's reference (ESC-…) or a child reference. Every search is recorded."""
    search = searching.parse(child_reference, child_only=True) if child_reference else None
    if search is None and q:
        search = searching.parse(q)
    rows, total = await finding.page(
        db,
        caller,
        status=status,
        stage=stage,
        agency=agency,
        overdue=overdue,
        search=search,
        limit=limit,
        offset=offset,
    )
    if search is not None:
        await searching.record_search(db, hasher, caller, search, total)
    return EscalationPage(
        items=[EscalationOut.of(row) for row in await reading.readable_rows(db, rows)],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{escalation_id}", response_model=EscalationOut)
async def read_escalation(
    escalation_id: EscalationId, caller: CallerDep, db: SessionDep
) -> EscalationOut:
    """The escalation with its case details; the read is recorded (who viewed the record)."""
    row = await finding.find_visible(db, caller, escalation_id)
    await record_access(db, actor=label(caller), purpose="api", escalation_id=row.id)
    return EscalationOut.of(await reading.readable(db, row), with_case=True)


@router.get("/{escalation_id}/timeline", response_model=list[TimelineEvent])
async def read_timeline(
    escalation_id: EscalationId, caller: CallerDep, db: SessionDep
) -> list[TimelineEvent]:
    """Every event on the record, oldest first. Entries are never edited or deleted. The read
    is recorded (it holds notes and corrections)."""
    await finding.find_visible(db, caller, escalation_id)
    await record_access(db, actor=label(caller), purpose="api", escalation_id=escalation_id)
    return [TimelineEvent.of(event) for event in await reading.readable_timeline(db, escalation_id)]


class Acting:
    """Acts on one escalation for the caller and answers with the record as it now stands."""

    def __init__(
        self,
        caller: CallerDep,
        db: SessionDep,
        temporal: TemporalDep,
        settings: SettingsDep,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> None:
        self.caller, self.db, self.temporal, self.settings = caller, db, temporal, settings
        self.response, self.idempotency_key = response, idempotency_key

    async def on(self, escalation_id: str, action: ActionKind, **fields: Any) -> EscalationOut:
        row = await finding.find_visible(self.db, self.caller, escalation_id)
        row, repeated = await acting.act(
            self.db,
            self.temporal,
            self.settings,
            self.caller,
            row,
            action,
            idempotency_key=self.idempotency_key,
            **fields,
        )
        if repeated:
            self.response.headers["Idempotent-Replayed"] = "true"
        return EscalationOut.of(await reading.readable(self.db, row), with_case=True)


ActingDep = Annotated[Acting, Depends()]


def _action_route(action: ActionDefinition) -> None:
    """POST /escalations/{id}/<path>: the action's request model as the body."""
    request_model = action.request

    async def take(
        escalation_id: EscalationId,
        body: request_model,  # type: ignore[valid-type]
        acting: ActingDep,
    ) -> EscalationOut:
        fields = cast(Strict, body).action_fields()
        return await acting.on(escalation_id, action.kind, **fields)

    router.add_api_route(
        f"/{{escalation_id}}/{action.path}",
        take,
        methods=["POST"],
        response_model=EscalationOut,
        name=action.path,
        summary=action.question,
        description=action.api_summary,
    )


for _action in ACTIONS.values():
    _action_route(_action)


@router.post("/{escalation_id}/corrections", response_model=EscalationOut)
async def correct_case_detail(
    escalation_id: EscalationId, body: CorrectionRequest, caller: CallerDep, db: SessionDep
) -> EscalationOut:
    """Correct one case detail, with the reason (the raising agency's managers and above, or
    the partnership). The record shows the new value; the audit chain keeps the correction; the
    value it replaced stays readable to the partnership. The same value again changes nothing."""
    row = await finding.find_visible(db, caller, escalation_id)
    row = await correcting.correct(db, caller, row, body)
    return EscalationOut.of(await reading.readable(db, row), with_case=True)
