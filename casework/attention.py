"""What needs a person now: the escalations they may act on, and the tags that say why.

"Waiting on you" is exactly what `workflows.rules.may_act` lets the person do at this moment
(resolve, escalate, extend or acknowledge at the stage's level or above, at an involved agency),
with two turns of the daily work: the partnership is listed only at its own stages or when an
escalation is overdue (it may act at every stage, but stage 1 belongs to line managers), and the
raising agency while its dispute window is open.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from core.calendar import LONDON
from core.text import N_
from database.tables import Escalation
from workflows.policy import ROLES, Role, role_rank


def disputable_until(row: Escalation, now: datetime) -> datetime | None:
    """Until when the raising agency may still dispute the outcome; None once it is final."""
    if row.status == "resolved" and row.dispute_until and row.dispute_until > now:
        return row.dispute_until
    return None


def dispute_open(agency: str, now: datetime) -> ColumnElement[bool]:
    """Resolutions `agency` raised and may still dispute (the SQL twin of `disputable_until`)."""
    return and_(
        col(Escalation.status) == "resolved",
        col(Escalation.raising_agency) == agency,
        col(Escalation.dispute_until) > now,
    )


def waiting_on(agency: str, role: Role, now: datetime) -> ColumnElement[bool]:
    """The escalations this agency's person of this role may act on now."""
    is_open = col(Escalation.status) == "open"
    if role == "board":
        own = or_(col(Escalation.stage_role) == "board", col(Escalation.overdue).is_(True))
        return or_(and_(is_open, own), dispute_open(agency, now))
    involved = or_(
        col(Escalation.raising_agency) == agency, col(Escalation.receiving_agency) == agency
    )
    at_or_below = [level for level in ROLES if role_rank(level) <= role_rank(role)]
    return or_(
        and_(is_open, involved, col(Escalation.stage_role).in_(at_or_below)),
        dispute_open(agency, now),
    )


@dataclass(frozen=True)
class Tag:
    text: str
    colour: str  # a govuk-tag modifier


# Catalogue messages (N_): the pages translate them where they show them.
URGENT = Tag(N_("Urgent"), "govuk-tag--red")
OVERDUE = Tag(N_("Overdue"), "govuk-tag--red")
DISPUTE_OPEN = Tag(N_("Dispute open"), "govuk-tag--yellow")
ACKNOWLEDGEMENT_DUE = Tag(N_("Acknowledgement due"), "govuk-tag--orange")


def tags(row: Escalation, now: datetime) -> list[Tag]:
    """Why an escalation needs looking at, most pressing first."""
    found = []
    if row.status == "open":
        if row.immediate_risk:
            found.append(URGENT)
        if row.overdue:
            found.append(OVERDUE)
        if row.acknowledge_by is not None and row.acknowledged_at is None:
            found.append(ACKNOWLEDGEMENT_DUE)
    elif disputable_until(row, now) is not None:
        found.append(DISPUTE_OPEN)
    return found


def days_left(until: datetime, now: datetime) -> int:
    """Calendar days to a London date, as people count them (0: the last day)."""
    return max(0, (until.astimezone(LONDON).date() - now.astimezone(LONDON).date()).days)
