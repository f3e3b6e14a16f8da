"""Every action people and operations staff take on an escalation, described once.

For each: its signal (the name and model operations staff use from the Temporal UI or CLI, and
the `action` of the API's update), who may take it at which stage (workflows/rules.py reads
`who`), the request the API and the pages send, how the record and the timeline name it, what it
notifies and the subject of that message, and the wording of its page and API route. The API's
routes (api/routes/escalations.py), the pages' question and confirmation pages
(web/routes/escalation_page.py), the timeline (web/presenting.py) and the notifications
(activities/notifications.py) are generated from or look up this table; docs/adding-a-step.md
says what else a new step needs (its workflow handler).
"""

from dataclasses import dataclass
from typing import Literal

from workflows.action_requests import (
    AcknowledgeRequest,
    ExtendRequest,
    NoteRequest,
    ReasonRequest,
    ResolveRequest,
    Strict,
)
from workflows.models import (
    AcknowledgeSignal,
    ActionKind,
    AuditAction,
    DisputeSignal,
    EscalateSignal,
    ExtendSignal,
    NoteSignal,
    NotificationKind,
    ResolvedSignal,
    Signal,
    WithdrawSignal,
)

# Who may take an action (the partnership, role `board`, may take every one but withdraw and
# dispute): the raising agency; either agency involved; the receiving agency, or either, at the
# stage's level or above.
Who = Literal["raising", "involved", "receiving at the stage", "involved at the stage"]
# What the action does to the escalation, as its confirmation page says.
Effect = Literal["ends", "moves", "stays"]


@dataclass(frozen=True)
class FormField:
    """One answer on the action's question page."""

    name: str
    label: str
    # text: a paragraph; lines: one item a line; days: a whole number; hours: a number of hours.
    kind: Literal["text", "lines", "days", "hours"]
    # What to tell a person who leaves it out or gets it wrong.
    problem: str
    hint: str = ""
    optional: bool = False

    @property
    def sends(self) -> str:
        """The request's field it fills: hours go as an ISO 8601 duration."""
        return "duration" if self.kind == "hours" else self.name


@dataclass(frozen=True)
class ActionDefinition:
    kind: ActionKind
    signal: type[Signal]
    request: type[Strict]
    who: Who
    # "Only … may <verb>": the refusal sentence.
    verb: str
    # The record's event, and how the timeline names it.
    recorded: AuditAction
    timeline: str
    # The message it sends (None: nobody is told) and that message's subject line.
    notifies: NotificationKind | None
    headline: str | None
    # /escalations/{id}/<path> in the API; /escalations/{id}/actions/<path> on the pages.
    path: str
    api_summary: str
    # The pages: the button on the escalation page, the question page, the confirmation page
    # (what the action does), and the panel once it is done.
    button: str
    question: str
    intro: str
    fields: tuple[FormField, ...]
    effect: Effect
    consequence: str
    done: str


ACTIONS: dict[ActionKind, ActionDefinition] = {
    action.kind: action
    for action in (
        ActionDefinition(
            kind="acknowledge",
            signal=AcknowledgeSignal,
            request=AcknowledgeRequest,
            who="receiving at the stage",
            verb="acknowledge",
            recorded="acknowledged",
            timeline="Acknowledged",
            notifies="acknowledged",
            headline="Acknowledged at stage {stage}: {stage_name}",
            path="acknowledge",
            api_summary="Acknowledge at the current stage (the receiving agency at the stage's "
            "level, or the partnership); once a stage.",
            button="Acknowledge",
            question="Acknowledge the escalation",
            intro="Tell the raising agency you have it in hand at this stage.",
            fields=(),
            effect="stays",
            consequence="The raising agency is told. Acknowledging does not change the time "
            "limit, and is done once a stage.",
            done="You have acknowledged the escalation. The raising agency is told.",
        ),
        ActionDefinition(
            kind="resolved",
            signal=ResolvedSignal,
            request=ResolveRequest,
            who="involved at the stage",
            verb="resolve",
            recorded="resolved",
            timeline="Resolved",
            notifies="resolved",
            headline="Resolved at stage {stage}: {stage_name}",
            path="resolve",
            api_summary="Resolve at the current stage, with the agreed actions.",
            button="Resolve the escalation",
            question="Resolve the escalation",
            intro="Record the outcome both agencies agreed, and the actions that follow.",
            fields=(
                FormField("outcome", "Outcome agreed", "text", "Enter the outcome agreed"),
                FormField(
                    "agreed_actions",
                    "Agreed actions (optional)",
                    "lines",
                    "Enter each agreed action on its own line, up to 2,000 characters",
                    hint="One action on each line",
                    optional=True,
                ),
            ),
            effect="ends",
            consequence="The escalation closes as resolved and both agencies are told the "
            "outcome. A receiving agency's resolution below the top stage may be disputed by "
            "the raising agency for a while.",
            done="The escalation is resolved. Both agencies are told the outcome.",
        ),
        ActionDefinition(
            kind="escalate",
            signal=EscalateSignal,
            request=ReasonRequest,
            who="involved at the stage",
            verb="escalate",
            recorded="escalated",
            timeline="Escalated",
            notifies="escalated",
            headline="Escalated to stage {stage}: {stage_name}",
            path="escalate",
            api_summary="Raise it to the next stage now, without waiting for the time limit.",
            button="Escalate to the next stage",
            question="Escalate to the next stage now",
            intro="The next stage's people take it on, with a fresh time limit.",
            fields=(
                FormField(
                    "reason",
                    "Why it needs the next stage",
                    "text",
                    "Enter why it needs the next stage",
                ),
            ),
            effect="moves",
            consequence="The escalation moves to the next stage now, with a fresh time limit. "
            "Its people are told.",
            done="The escalation has moved to the next stage. Its people are told.",
        ),
        ActionDefinition(
            kind="dispute",
            signal=DisputeSignal,
            request=ReasonRequest,
            who="raising",
            verb="dispute the outcome",
            recorded="disputed",
            timeline="Outcome disputed",
            notifies="disputed",
            headline="Outcome disputed at stage {stage}: {stage_name}",
            path="dispute",
            api_summary="The raising agency disputes the outcome while `dispute_until` lasts: "
            "it reopens at the next stage.",
            button="Dispute the outcome",
            question="Dispute the outcome",
            intro="If you disagree with the outcome, the escalation goes to the next stage.",
            fields=(
                FormField(
                    "reason",
                    "Why you disagree with the outcome",
                    "text",
                    "Enter why you disagree with the outcome",
                    hint="It goes to the next stage, with a fresh time limit",
                ),
            ),
            effect="moves",
            consequence="The escalation opens again at the next stage, with a fresh time "
            "limit. Its people are told.",
            done="The outcome is disputed: the escalation is open again at the next stage. "
            "Its people are told.",
        ),
        ActionDefinition(
            kind="extend",
            signal=ExtendSignal,
            request=ExtendRequest,
            who="involved at the stage",
            verb="extend the time limit",
            recorded="extended",
            timeline="Time limit extended",
            notifies="extended",
            headline="Time limit extended at stage {stage}: {stage_name}",
            path="extend",
            api_summary="Agree a longer time limit at the current stage, from its current "
            "deadline. A stage allows `max_extensions` (409 past it), each at most "
            "`max_extension` (422).",
            button="Extend the time limit",
            question="Extend the time limit",
            intro="Working days, or hours for an urgent stage: one of the two, counted on from "
            "the current time limit.",
            fields=(
                FormField(
                    "reason",
                    "Why it needs longer",
                    "text",
                    "Enter why the time limit is extended",
                    hint="For example, the needs of the child or a meeting being arranged",
                ),
                FormField(
                    "working_days",
                    "Working days",
                    "days",
                    "Enter the working days as a whole number from 1 to 120",
                    optional=True,
                ),
                FormField(
                    "hours",
                    "Or hours",
                    "hours",
                    "Enter the hours as a number more than 0, like 12",
                    optional=True,
                ),
            ),
            effect="stays",
            consequence="The escalation stays at this stage with the later time limit. Both "
            "agencies are told the new one.",
            done="The time limit is extended. Both agencies are told the new one.",
        ),
        ActionDefinition(
            kind="note",
            signal=NoteSignal,
            request=NoteRequest,
            who="involved",
            verb="add a note",
            recorded="note",
            timeline="Note added",
            notifies=None,
            headline=None,
            path="notes",
            api_summary="Add a note to the record; the clock is not affected.",
            button="Add a note",
            question="Add a note to the record",
            intro="Notes do not change the time limit.",
            fields=(FormField("text", "Note", "text", "Enter the note"),),
            effect="stays",
            consequence="The note goes on the record. Nobody is told, and the time limit "
            "does not change.",
            done="Your note is on the record.",
        ),
        ActionDefinition(
            kind="withdraw",
            signal=WithdrawSignal,
            request=ReasonRequest,
            who="raising",
            verb="withdraw this escalation",
            recorded="withdrawn",
            timeline="Withdrawn",
            notifies="withdrawn",
            headline="Withdrawn at stage {stage}: {stage_name}",
            path="withdraw",
            api_summary="Withdraw (the raising agency only).",
            button="Withdraw the escalation",
            question="Withdraw the escalation",
            intro="Withdraw it when the disagreement no longer stands.",
            fields=(
                FormField(
                    "reason", "Why it is withdrawn", "text", "Enter why the escalation is withdrawn"
                ),
            ),
            effect="ends",
            consequence="The escalation closes as withdrawn. Both agencies are told.",
            done="The escalation is withdrawn.",
        ),
    )
}
BY_PATH = {action.path: action for action in ACTIONS.values()}
