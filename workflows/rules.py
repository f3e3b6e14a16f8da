"""Who may act on an escalation: one rule, used by the workflow's validator and the API."""

from workflows.models import ActionKind
from workflows.policy import Role, role_rank


def may_see(agency: str, role: Role, *, raising_agency: str, receiving_agency: str) -> bool:
    """The involved agencies and the partnership see an escalation; nobody else does."""
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
    if action in ("withdraw", "dispute"):
        return agency == raising_agency
    involved = may_see(
        agency, role, raising_agency=raising_agency, receiving_agency=receiving_agency
    )
    if action == "note":
        return involved
    if action == "acknowledge":  # the agency that received the escalation, or the partnership
        return role == "board" or (
            agency == receiving_agency and role_rank(role) >= role_rank(stage_role)
        )
    # Resolve, escalate or extend: the stage's level or above at an involved agency, or the
    # partnership.
    return role == "board" or (involved and role_rank(role) >= role_rank(stage_role))


_WHAT: dict[ActionKind, str] = {
    "resolved": "resolve",
    "escalate": "escalate",
    "acknowledge": "acknowledge",
    "extend": "extend the time limit",
    "withdraw": "withdraw this escalation",
    "dispute": "dispute the outcome",
    "note": "add a note",
}
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
    if action in ("withdraw", "dispute"):
        who, what = raising_agency, _WHAT[action]
    elif action == "note":
        who, what = f"{involved}, or the partnership,", "add a note"
    else:
        what = f"{_WHAT[action]} at stage {stage} ({stage_name})"
        agencies = receiving_agency if action == "acknowledge" else involved
        who = (
            "the partnership"
            if stage_role == "board"
            else f"{_A_ROLE[stage_role]} or above of {agencies}, or the partnership,"
        )
    return f"Only {who} may {what}; you are {_A_ROLE[role]} of {agency}."
