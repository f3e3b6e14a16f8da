"""How an escalation reads on a page: its stage "2 of 3", deadline, tags and ladder steps."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from activities.stage_clock import deadline_text
from casework.attention import disputable_until
from core.calendar import LONDON
from database.tables import AccessEvent, AuditEvent, CaseCorrection, Escalation
from web.told import Told
from workflows.actions import ACTIONS
from workflows.policy import Policy, Stage

STATUS_TAGS = {
    "open": ("Open", "govuk-tag--blue"),
    "resolved": ("Resolved", "govuk-tag--green"),
    "withdrawn": ("Withdrawn", "govuk-tag--grey"),
    "cancelled": ("Cancelled", "govuk-tag--grey"),
    "terminated": ("Closed by an operator", "govuk-tag--grey"),
}
# How the timeline names each event: a person's action as its row in workflows/actions.py says.
EVENT_NAMES = {
    "raised": "Raised",
    "escalated": "Escalated",
    "cancelled": "Cancelled",
    "terminated": "Closed by an operator",
    "reminder": "Reminder sent",
    "overdue": "Time limit passed",
    "notified": "People told",
    "acknowledgement overdue": "Acknowledgement overdue",
    "outcome final": "Outcome final",
    "corrected": "Case detail corrected",
    "held": "Legal hold placed",
    "hold released": "Legal hold released",
    "erased": "Case details erased under the retention rule",
} | {action.recorded: action.timeline for action in ACTIONS.values()}
DETAIL_NAMES = {
    "reason": "Reason",
    "outcome": "Outcome",
    "agreed_actions": "Agreed actions",
    "text": "Note",
    "kind": "Message",
    "sent": "Emails sent",
    "logged": "Logged",
    "failed": "Failed",
    "extension": "Extended by",
    "from": "Time limit was",
    "to": "Time limit now",
    "field": "Detail",
    "value": "Now",
    "rule": "Retention rule",
}
# Times kept in ISO form on the record, shown as people read them.
TIME_DETAILS = {"dispute_until": "Open to dispute until", "due": "Was due by"}
# The same moments as the "from" and "to" texts beside them; the case details' keyed seals.
HIDDEN_DETAILS = {"from_deadline", "to_deadline", "sealed"}

DECIDERS = {
    "practitioner": "practitioners",
    "manager": "line managers",
    "executive": "senior and executive managers",
    "board": "the partnership",
}


def when(moment: datetime | None) -> str:
    """A time as people read it, in London time: "Thu 3 Dec 2026 17:00"."""
    return deadline_text(moment) if moment else ""


def iso(moment: datetime) -> str:
    return moment.astimezone(LONDON).isoformat()


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    role: str
    time_limit: str
    state: Literal["done", "current", "to come", "closed here"]
    deadline: str = ""
    overdue: bool = False


def stage_count(row: Escalation, policies: dict[str, Policy]) -> int | None:
    policy = policies.get(row.policy)
    return len(policy.stages) if policy else None


def stage_text(row: Escalation, policies: dict[str, Policy]) -> str:
    count = stage_count(row, policies)
    return f"Stage {row.stage} of {count}" if count else f"Stage {row.stage}"


def current_stage(row: Escalation, policies: dict[str, Policy]) -> Stage | None:
    policy = policies.get(row.policy)
    if policy is None or not 1 <= row.stage <= len(policy.stages):
        return None
    return policy.stages[row.stage - 1]


@dataclass(frozen=True)
class PolicySteps:
    """The policy's own steps at the current stage, as the summary reads them."""

    acknowledgement: str = ""
    extensions: str = ""
    dispute_until: str = ""


def policy_steps(row: Escalation, policies: dict[str, Policy], now: datetime) -> PolicySteps:
    if row.status != "open":
        return PolicySteps(dispute_until=when(disputable_until(row, now)))
    if row.acknowledged_at is not None:
        acknowledgement = f"Acknowledged by {row.acknowledged_by} on {when(row.acknowledged_at)}"
    elif row.acknowledge_by is None:
        acknowledgement = ""  # this stage asks for none
    elif row.acknowledge_by <= now:
        acknowledgement = f"Acknowledgement overdue: due by {when(row.acknowledge_by)}"
    else:
        acknowledgement = f"Acknowledgement due by {when(row.acknowledge_by)}"
    stage = current_stage(row, policies)
    if stage is None:
        extensions = f"{row.extensions_used} used"
    elif stage.max_extensions == 0:
        extensions = "None at this stage"
    else:
        extensions = (
            f"{row.extensions_used} of {stage.max_extensions} used "
            f"(each at most {stage.extension_limit.describe()})"
        )
    return PolicySteps(acknowledgement, extensions)


def steps(row: Escalation, policies: dict[str, Policy]) -> list[Step]:
    """The ladder: stages done, the current one with its deadline, those still to come."""
    policy = policies.get(row.policy)
    if policy is None:
        return []
    found = []
    for number, stage in enumerate(policy.stages, start=1):
        if number < row.stage:
            state: Literal["done", "current", "to come", "closed here"] = "done"
        elif number == row.stage:
            state = "current" if row.status == "open" else "closed here"
        else:
            state = "to come"
        current = state == "current"
        found.append(
            Step(
                number=number,
                name=stage.name,
                role=DECIDERS.get(stage.role, stage.role),
                time_limit=stage.time_limit.describe(),
                state=state,
                deadline=when(row.stage_deadline) if current else "",
                overdue=current and row.overdue,
            )
        )
    return found


@dataclass(frozen=True)
class TimelineEntry:
    what: str
    at: str
    at_iso: str
    by: str
    stage: int
    details: list[tuple[str, str]]
    # Happened since this person last looked, by someone else.
    new: bool = False
    # For "People told": who, by which route, and how delivery went.
    told: tuple[Told, ...] = ()


def _detail(name: str, value: object) -> str:
    if name == "field" and isinstance(value, str):
        return CASE_LABELS.get(value, value)
    if name in TIME_DETAILS and isinstance(value, str):
        return when(datetime.fromisoformat(value))
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def _detail_name(name: str) -> str:
    return TIME_DETAILS.get(name) or DETAIL_NAMES.get(name, name.replace("_", " ").capitalize())


def timeline(
    events: list[AuditEvent],
    since: datetime | None = None,
    me: str = "",
    told: dict[str, list[Told]] | None = None,
) -> list[TimelineEntry]:
    """The record's events as people read them; those after `since` by others than `me` new;
    each "notified" event with who was told (`told`, by notification key)."""
    told = told or {}
    return [
        TimelineEntry(
            what=EVENT_NAMES.get(event.action, event.action.capitalize()),
            at=when(event.at),
            at_iso=iso(event.at),
            by=event.actor,
            stage=event.stage,
            details=[
                (_detail_name(name), _detail(name, value))
                for name, value in event.details.items()
                if value not in (None, "", [], 0) and name not in HIDDEN_DETAILS
            ],
            new=since is not None and event.at > since and event.actor != me,
            told=tuple(told.get(event.event_key.removesuffix(":notified"), ()))
            if event.action == "notified"
            else (),
        )
        for event in events
    ]


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The case details as the record names them (and the correction form offers them).
CASE_LABELS = {
    "child_reference": "Child's reference",
    "child_name": "Child's name",
    "child_date_of_birth": "Date of birth",
    "category": "Category",
    "summary": "The disagreement",
    "decision_disputed": "Decision disputed",
    "desired_outcome": "Outcome wanted",
    "risk_reason": "Immediate risk",
}


@dataclass(frozen=True)
class CorrectionNote:
    """Beside a corrected detail: when, by whom and why; the original for the partnership."""

    text: str
    original: str | None


def correction_notes(
    corrections: Sequence[CaseCorrection], *, partnership: bool
) -> dict[str, CorrectionNote]:
    """The latest correction of each case detail, by field."""
    originals: dict[str, str] = {}
    notes = {}
    for correction in corrections:
        originals.setdefault(correction.field, _case_value(correction.previous_value))
        notes[correction.field] = CorrectionNote(
            text=f"Corrected on {when(correction.at)} by {correction.corrected_by}, "
            f"reason: {correction.reason}",
            original=originals[correction.field] if partnership else None,
        )
    return notes


def _case_value(value: object) -> str:
    """A case detail as the record shows it: a date as "2 April 2015"."""
    if value is None:
        return "Not given"
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return long_date(value)
    return str(value)


def long_date(iso: str) -> str:
    """A date as people read it: "2 April 2015"."""
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class AccessEntry:
    at: str
    at_iso: str
    by: str
    how: str


ACCESS_NAMES = {
    "page": "Escalation page",
    "record": "Printable record",
    "api": "API read",
    "export": "Export",
    "subject access": "Subject access bundle",
}


def access_entries(events: Sequence[AccessEvent]) -> list[AccessEntry]:
    return [
        AccessEntry(
            at=when(event.at),
            at_iso=iso(event.at),
            by=event.actor,
            how=ACCESS_NAMES.get(event.purpose, event.purpose.capitalize()),
        )
        for event in events
    ]
