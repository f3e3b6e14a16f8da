"""The rules of an escalation, pure and deterministic: who sees it, who may take which action at
which stage (from each action's `who` in workflows/actions.py), and the checks the workflow's
validator and main loop apply to an action before it is taken."""

from temporalio.exceptions import ApplicationError

from workflows.actions import ACTIONS
from workflows.models import ActionKind, ActionRequest, EscalationState
from workflows.policy import Role, role_rank


def may_see(agency: str, role: Role, *, raising_agency: str, receiving_agency: str) -> bool:
    """The involved agencies and the partnership see an escalation; nobody else does (and
    nobody a pending one: casework/visibility.py)."""
    return role == "board" or agency in (raising_agency, receiving_agency)


def may_act(
    action: ActionKind,
    agency: str,
    role: Role,
    *,
    raising_agency: str,
    receiving_agency: str,
    stage_role: Role,
) -> bool:
    who = ACTIONS[action].who
    if who == "raising":
        return agency == raising_agency
    involved = may_see(
        agency, role, raising_agency=raising_agency, receiving_agency=receiving_agency
    )
    if who == "involved":
        return involved
    # At the stage: its level or above at the receiving (or either) agency, or the partnership.
    agencies = agency == receiving_agency if who == "receiving at the stage" else involved
    return role == "board" or (agencies and role_rank(role) >= role_rank(stage_role))


_A_ROLE: dict[Role, str] = {
    "practitioner": "a practitioner",
    "manager": "a manager",
    "executive": "an executive",
    "board": "a board member",
}


def refusal(
    action: ActionKind,
    agency: str,
    role: Role,
    *,
    raising_agency: str,
    receiving_agency: str,
    stage: int,
    stage_name: str,
    stage_role: Role,
) -> str:
    """The sentence for an action `may_act` refuses: who may take it, and who asked."""
    involved = f"{raising_agency} or {receiving_agency}"
    taken = ACTIONS[action]
    if taken.who == "raising":
        who, what = raising_agency, taken.verb
    elif taken.who == "involved":
        who, what = f"{involved}, or the partnership,", taken.verb
    else:
        what = f"{taken.verb} at stage {stage} ({stage_name})"
        agencies = receiving_agency if taken.who == "receiving at the stage" else involved
        who = (
            "the partnership"
            if stage_role == "board"
            else f"{_A_ROLE[stage_role]} or above of {agencies}, or the partnership,"
        )
    return f"Only {who} may {what}; you are {_A_ROLE[role]} of {agency}."


# Error types the API maps to HTTP answers.
CLOSED = "EscalationClosed"
NOT_PERMITTED = "NotPermitted"
AT_TOP_STAGE = "AtTopStage"
INVALID_ACTION = "InvalidAction"
ALREADY_ACKNOWLEDGED = "AlreadyAcknowledged"
NO_EXTENSIONS_LEFT = "NoExtensionsLeft"
EXTENSION_TOO_LONG = "ExtensionTooLong"
NOT_DISPUTABLE = "NotDisputable"
# The API's request came after its `respond_by`: the caller was told it was not applied.
TOO_LATE = "TooLate"


def check_action(state: EscalationState, request: ActionRequest) -> None:
    """Whether `request` may act on the escalation now; raises ApplicationError if not."""
    if request.action == "dispute":
        check_dispute_window(state)
    elif state.status != "open":
        raise ApplicationError(f"escalation is already {state.status}", type=CLOSED)
    required = {
        "resolved": "outcome",
        "escalate": "reason",
        "withdraw": "reason",
        "note": "text",
        "extend": "reason",
        "dispute": "reason",
    }
    field = required.get(request.action)
    if field and not (getattr(request, field) or "").strip():
        raise ApplicationError(f"{field} is required to {request.action}", type=INVALID_ACTION)
    if request.action == "escalate" and state.at_top:
        raise ApplicationError(
            "already at the top stage: the partnership decides", type=AT_TOP_STAGE
        )
    check_policy_step(state, request)
    if request.operations:
        return  # operations staff, from the Temporal UI or CLI
    assert request.agency is not None and request.role is not None
    if not may_act(
        request.action,
        request.agency,
        request.role,
        raising_agency=state.raising_agency,
        receiving_agency=state.receiving_agency,
        stage_role=state.stage_role,
    ):
        raise ApplicationError(
            refusal(
                request.action,
                request.agency,
                request.role,
                raising_agency=state.raising_agency,
                receiving_agency=state.receiving_agency,
                stage=state.stage,
                stage_name=state.stage_name,
                stage_role=state.stage_role,
            ),
            type=NOT_PERMITTED,
        )


def check_dispute_window(state: EscalationState) -> None:
    if state.status == "open":
        raise ApplicationError("only a resolution can be disputed", type=NOT_DISPUTABLE)
    if state.dispute_until is None:
        raise ApplicationError(
            f"escalation is already {state.status} and the outcome is final", type=CLOSED
        )


def check_policy_step(state: EscalationState, request: ActionRequest) -> None:
    """The limits the policy puts on acknowledging and extending at the current stage."""
    stage = state.policy.stages[state.stage - 1]
    if request.action == "acknowledge" and state.steps_current and state.acknowledged_at:
        raise ApplicationError(
            f"already acknowledged at stage {state.stage} by {state.acknowledged_by}",
            type=ALREADY_ACKNOWLEDGED,
        )
    if request.action != "extend":
        return
    if request.extension is None:
        raise ApplicationError(
            "working_days or duration is required to extend", type=INVALID_ACTION
        )
    used = state.extensions_used if state.steps_current else 0
    if used >= stage.max_extensions:
        raise ApplicationError(
            f"stage {state.stage} allows {stage.max_extensions} extension(s): "
            f"{used} already agreed",
            type=NO_EXTENSIONS_LEFT,
        )
    if request.extension.exceeds(stage.extension_limit):
        raise ApplicationError(
            f"an extension at stage {state.stage} is at most {stage.extension_limit.describe()}",
            type=EXTENSION_TOO_LONG,
        )


def disputable(state: EscalationState, request: ActionRequest) -> bool:
    """A resolution the raising agency may dispute: by the receiving agency, below the top.
    The partnership's, the raiser's own and operations' (no agency) are final at once."""
    return (
        not state.at_top
        and request.role != "board"
        and request.agency == state.receiving_agency
        and request.agency != state.raising_agency
    )
