"""The rules of an escalation, pure and deterministic: who sees it, who may take which action at
which stage (from each action's `who` in workflows/actions.py), and the checks the workflow's
validator and main loop apply to an action before it is taken."""

from dataclasses import dataclass
from typing import ClassVar

from temporalio.exceptions import ApplicationError

from workflows.actions import ACTIONS
from workflows.models import ActionKind, ActionRequest, EscalationState
from workflows.policy import Role, Span, role_rank


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


# How a refusal names a role ("you are a manager of …"), and its sentences by who may take the
# action: English data that floor cannot mark (core/action_words.py puts them in the
# catalogues); the workflow and the API say them in English, the pages in their language.
A_ROLE: dict[Role, str] = {
    "practitioner": "a practitioner",
    "manager": "a manager",
    "executive": "an executive",
    "board": "a board member",
}
REFUSALS: dict[str, str] = {
    "raising": "Only %(raising)s may %(what)s; you are %(role)s of %(agency)s.",
    "involved": (
        "Only %(raising)s or %(receiving)s, or the partnership, may %(what)s; "
        "you are %(role)s of %(agency)s."
    ),
    "partnership at the stage": (
        "Only the partnership may %(what)s at stage %(stage)s (%(stage_name)s); "
        "you are %(role)s of %(agency)s."
    ),
    "receiving at the stage": (
        "Only %(level)s or above of %(receiving)s, or the partnership, may %(what)s at stage "
        "%(stage)s (%(stage_name)s); you are %(role)s of %(agency)s."
    ),
    "involved at the stage": (
        "Only %(level)s or above of %(raising)s or %(receiving)s, or the partnership, may "
        "%(what)s at stage %(stage)s (%(stage_name)s); you are %(role)s of %(agency)s."
    ),
}


@dataclass(frozen=True)
class Refusal:
    """Why `may_act` refuses an action: one of REFUSALS (by who may take it) and its values."""

    who: str
    values: dict[str, str | int]
    # The values that are the service's own words (a verb, a role, a built-in stage's name),
    # translated with the sentence; the others are names and numbers.
    WORDS: ClassVar[tuple[str, ...]] = ("what", "role", "level", "stage_name")

    @property
    def sentence(self) -> str:
        return REFUSALS[self.who]

    def __str__(self) -> str:
        return self.sentence % self.values

    def details(self) -> dict[str, str | int]:
        """The refusal as the workflow's error carries it (`refusal_of` reads it back)."""
        return {"who": self.who, **self.values}


def refusal_of(details: dict[str, str | int]) -> Refusal:
    """A refusal from the values a NOT_PERMITTED error carries."""
    values = dict(details)
    return Refusal(str(values.pop("who")), values)


def refused(
    action: ActionKind,
    agency: str,
    role: Role,
    *,
    raising_agency: str,
    receiving_agency: str,
    stage: int,
    stage_name: str,
    stage_role: Role,
) -> Refusal | None:
    """Why `agency`'s `role` may not take `action` at the stage (None: they may): who may take
    it, and who asked."""
    if may_act(
        action,
        agency,
        role,
        raising_agency=raising_agency,
        receiving_agency=receiving_agency,
        stage_role=stage_role,
    ):
        return None
    taken = ACTIONS[action]
    values: dict[str, str | int] = {
        "raising": raising_agency,
        "receiving": receiving_agency,
        "what": taken.verb,
        "role": A_ROLE[role],
        "agency": agency,
    }
    if taken.who in ("raising", "involved"):
        return Refusal(taken.who, values)
    values |= {"stage": stage, "stage_name": stage_name, "level": A_ROLE[stage_role]}
    who = "partnership at the stage" if stage_role == "board" else taken.who
    return Refusal(who, values)


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
        raise closed(state.status)
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
    refusal = refused(
        request.action,
        request.agency,
        request.role,
        raising_agency=state.raising_agency,
        receiving_agency=state.receiving_agency,
        stage=state.stage,
        stage_name=state.stage_name,
        stage_role=state.stage_role,
    )
    if refusal is not None:
        raise ApplicationError(str(refusal), refusal.details(), type=NOT_PERMITTED)


def check_dispute_window(state: EscalationState) -> None:
    if state.status == "open":
        raise ApplicationError("only a resolution can be disputed", type=NOT_DISPUTABLE)
    if state.dispute_until is None:
        raise ApplicationError(
            f"escalation is already {state.status} and the outcome is final",
            {"status": state.status},
            type=CLOSED,
        )


def check_policy_step(state: EscalationState, request: ActionRequest) -> None:
    """The limits the policy puts on acknowledging and extending at the current stage."""
    stage = state.policy.stages[state.stage - 1]
    if request.action == "acknowledge" and state.steps_current and state.acknowledged_at:
        raise ApplicationError(
            f"already acknowledged at stage {state.stage} by {state.acknowledged_by}",
            {"stage": state.stage, "who": state.acknowledged_by or ""},
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
            {"stage": state.stage, "allowed": stage.max_extensions, "used": used},
            type=NO_EXTENSIONS_LEFT,
        )
    if request.extension.exceeds(stage.extension_limit):
        raise too_long(state.stage, stage.extension_limit)


# The values a refusal carries as its error's one detail, so whoever shows it says what the
# workflow decided on, not what the record or the policy file says later (casework/acting.py).
# Details are not part of what a replay compares: adding them is replay-safe.


def closed(status: str) -> ApplicationError:
    return ApplicationError(f"escalation is already {status}", {"status": status}, type=CLOSED)


def too_long(stage: int, limit: Span) -> ApplicationError:
    """The longest extension `stage` allows, in working days or in seconds."""
    longest: dict[str, int | None] = {
        "working_days": limit.working_days,
        "seconds": int(limit.duration.total_seconds()) if limit.duration is not None else None,
    }
    return ApplicationError(
        f"an extension at stage {stage} is at most {limit.describe()}",
        {"stage": stage, **longest},
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
