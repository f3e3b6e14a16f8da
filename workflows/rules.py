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
