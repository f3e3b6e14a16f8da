"""How an escalation reads on a page: its stage "2 of 3", deadline, tags and ladder steps."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from casework.attention import disputable_until
from core.calendar import LONDON
from core.languages import span_said
from database.tables import AccessEvent, AuditEvent, CaseCorrection, Escalation
from web.i18n import N_, gettext, long_date, moment_text, ngettext, policy_name, said
from web.told import Told
from workflows.actions import ACTIONS
from workflows.policy import Policy, Span, Stage

# Catalogue messages (N_): translated where they are shown.
STATUS_TAGS = {
    "open": (N_("Open"), "govuk-tag--blue"),
    "resolved": (N_("Resolved"), "govuk-tag--green"),
    "withdrawn": (N_("Withdrawn"), "govuk-tag--grey"),
    "cancelled": (N_("Cancelled"), "govuk-tag--grey"),
    "terminated": (N_("Closed by an operator"), "govuk-tag--grey"),
}
# How the timeline names each event: a person's action as its row in workflows/actions.py says.
EVENT_NAMES = {
    "raised": N_("Raised"),
    "escalated": N_("Escalated"),
    "cancelled": N_("Cancelled"),
    "terminated": N_("Closed by an operator"),
    "reminder": N_("Reminder sent"),
    "overdue": N_("Time limit passed"),
    "notified": N_("People told"),
    "acknowledgement overdue": N_("Acknowledgement overdue"),
    "outcome final": N_("Outcome final"),
    "corrected": N_("Case detail corrected"),
    "held": N_("Legal hold placed"),
    "hold released": N_("Legal hold released"),
    "erased": N_("Case details erased under the retention rule"),
} | {action.recorded: action.timeline for action in ACTIONS.values()}
DETAIL_NAMES = {
    "reason": N_("Reason"),
    "outcome": N_("Outcome"),
    "agreed_actions": N_("Agreed actions"),
    "text": N_("Note"),
    "kind": N_("Message"),
    "sent": N_("Emails sent"),
    "logged": N_("Logged"),
    "failed": N_("Failed"),
    "extension": N_("Extended by"),
    "from": N_("Time limit was"),
    "to": N_("Time limit now"),
    "policy": N_("Ladder"),
    "stage": N_("Stage"),
    "from_stage": N_("From stage"),
    "to_stage": N_("To stage"),
    "field": N_("Detail"),
    "value": N_("Now"),
    "rule": N_("Retention rule"),
}
# Times kept in ISO form on the record, shown as people read them.
TIME_DETAILS = {"dispute_until": N_("Open to dispute until"), "due": N_("Was due by")}
# The same moments as the "from" and "to" texts beside them; the case details' keyed seals.
HIDDEN_DETAILS = {"from_deadline", "to_deadline", "sealed"}

DECIDERS = {
    "practitioner": N_("practitioners"),
    "manager": N_("line managers"),
    "executive": N_("senior and executive managers"),
    "board": N_("the partnership"),
}


# The roles as the pages name them ("manager at Northshire Police").
ROLE_NAMES = {
    "practitioner": N_("practitioner"),
    "manager": N_("manager"),
    "executive": N_("executive"),
    "board": N_("board"),
    "business_unit": N_("business unit"),
}


def role_name(role: str) -> str:
    return gettext(ROLE_NAMES.get(role, role))


def when(moment: datetime | None) -> str:
    """A time as people read it, in London time and the page's language: "Thu 3 Dec 2026
    17:00", "Iau 3 Rhag 2026 17:00"."""
    return moment_text(moment) if moment else ""


def days_left_text(days: int) -> str:
    """ "3 days left", "last day", in the page's language."""
    if days <= 0:
        return gettext("last day")
    return ngettext("%(n)s day left", "%(n)s days left", days) % {"n": days}


def span_text(span: Span) -> str:
    """A time limit in the page's language: "5 working days", "24 hours"."""
    return said(span_said(span))


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
    if count:
        return gettext("Stage %(stage)s of %(count)s") % {"stage": row.stage, "count": count}
    return gettext("Stage %(stage)s") % {"stage": row.stage}


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
        acknowledgement = gettext("Acknowledged by %(who)s on %(when)s") % {
            "who": row.acknowledged_by,
            "when": when(row.acknowledged_at),
        }
    elif row.acknowledge_by is None:
        acknowledgement = ""  # this stage asks for none
    elif row.acknowledge_by <= now:
        acknowledgement = gettext("Acknowledgement overdue: due by %(when)s") % {
            "when": when(row.acknowledge_by)
        }
    else:
        acknowledgement = gettext("Acknowledgement due by %(when)s") % {
            "when": when(row.acknowledge_by)
        }
    stage = current_stage(row, policies)
    if stage is None:
        extensions = gettext("%(used)s used") % {"used": row.extensions_used}
    elif stage.max_extensions == 0:
        extensions = gettext("None at this stage")
    else:
        extensions = gettext("%(used)s of %(most)s used (each at most %(longest)s)") % {
            "used": row.extensions_used,
            "most": stage.max_extensions,
            "longest": span_text(stage.extension_limit),
        }
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
                name=policy_name(stage.name),
                role=gettext(DECIDERS.get(stage.role, stage.role)),
                time_limit=span_text(stage.time_limit),
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
        return gettext(CASE_LABELS.get(value, value))
    if name in TIME_DETAILS and isinstance(value, str):
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:  # a reminder's "due" is the stage clock's text, kept as it was
            return value
    if name == "kind" and isinstance(value, str) and value in EVENT_NAMES:
        return gettext(EVENT_NAMES[value])  # a notification's kind: what it told people of
    if name == "stage" and isinstance(value, str):
        return policy_name(value)  # a stage's name
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def _detail_name(name: str) -> str:
    known = TIME_DETAILS.get(name) or DETAIL_NAMES.get(name)
    return gettext(known) if known else name.replace("_", " ").capitalize()


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
            what=gettext(EVENT_NAMES[event.action])
            if event.action in EVENT_NAMES
            else event.action.capitalize(),
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
    "child_reference": N_("Child's reference"),
    "child_name": N_("Child's name"),
    "child_date_of_birth": N_("Date of birth"),
    "category": N_("Category"),
    "summary": N_("The disagreement"),
    "decision_disputed": N_("Decision disputed"),
    "desired_outcome": N_("Outcome wanted"),
    "risk_reason": N_("Immediate risk"),
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
            text=gettext("Corrected on %(when)s by %(who)s, reason: %(reason)s")
            % {
                "when": when(correction.at),
                "who": correction.corrected_by,
                "reason": correction.reason,
            },
            original=originals[correction.field] if partnership else None,
        )
    return notes


def _case_value(value: object) -> str:
    """A case detail as the record shows it: a date as "2 April 2015"."""
    if value is None:
        return gettext("Not given")
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return long_date(date.fromisoformat(value))
    return str(value)


@dataclass(frozen=True)
class AccessEntry:
    at: str
    at_iso: str
    by: str
    how: str


ACCESS_NAMES = {
    "page": N_("Escalation page"),
    "record": N_("Printable record"),
    "api": N_("API read"),
    "export": N_("Export"),
    "subject access": N_("Subject access bundle"),
}


def access_entries(events: Sequence[AccessEvent]) -> list[AccessEntry]:
    return [
        AccessEntry(
            at=when(event.at),
            at_iso=iso(event.at),
            by=event.actor,
            how=gettext(ACCESS_NAMES[event.purpose])
            if event.purpose in ACCESS_NAMES
            else event.purpose.capitalize(),
        )
        for event in events
    ]
