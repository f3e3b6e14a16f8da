"""The raise, as GOV.UK question pages: each page's questions, their checks and their messages.

Each page checks its own answers with people's wording; the whole raise is checked again by the
API's model (casework.requests.RaiseRequest) before anything is sent.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from web.i18n import N_, gettext, number_text

Kind = Literal["text", "textarea", "radios", "date", "risk"]
PART_NAMES = {"day": N_("day"), "month": N_("month"), "year": N_("year")}


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    kind: Kind
    missing: str | None = None  # the message when it is required and not answered
    max_length: int = 200
    hint: str = ""


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    questions: tuple[Question, ...]
    next: str
    intro: str = ""
    choices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


# Catalogue messages: the pages translate them where they show them.
STEPS: dict[str, Step] = {
    step.slug: step
    for step in (
        Step(
            "agency",
            N_("Who do you disagree with?"),
            (
                Question(
                    "receiving_agency",
                    N_("The agency whose decision you disagree with"),
                    "radios",
                    N_("Select the agency whose decision you disagree with"),
                ),
                Question(
                    "policy",
                    N_("Which escalation procedure applies?"),
                    "radios",
                    N_("Select the escalation procedure"),
                    hint=N_("Immediate risk goes on the urgent track whatever you choose here."),
                ),
            ),
            "child",
        ),
        Step(
            "child",
            N_("Which child is it about?"),
            (
                Question(
                    "child_reference",
                    N_("Your agency's reference for the child"),
                    "text",
                    N_("Enter your agency's reference for the child"),
                    max_length=100,
                    hint=N_("For example, the case or record number"),
                ),
                Question("child_name", N_("Child's name (optional)"), "text"),
                Question(
                    "child_date_of_birth",
                    N_("Child's date of birth (optional)"),
                    "date",
                    hint=N_("For example, 27 3 2015"),
                ),
            ),
            "disagreement",
        ),
        Step(
            "disagreement",
            N_("What is the disagreement?"),
            (
                Question(
                    "summary",
                    N_("Describe the disagreement"),
                    "textarea",
                    N_("Describe the disagreement"),
                    max_length=10_000,
                    hint=N_(
                        "Keep to the facts and the evidence: what was decided, what you know, "
                        "why you disagree."
                    ),
                ),
                Question(
                    "category",
                    N_("Category of concern (optional)"),
                    "text",
                    max_length=100,
                    hint=N_("For example, neglect"),
                ),
                Question(
                    "decision_disputed",
                    N_("The decision you dispute (optional)"),
                    "textarea",
                    max_length=10_000,
                ),
                Question(
                    "desired_outcome",
                    N_("The outcome you want (optional)"),
                    "textarea",
                    max_length=10_000,
                ),
            ),
            "risk",
        ),
        Step(
            "risk",
            N_("Is the child at immediate risk of significant harm?"),
            (
                Question(
                    "immediate_risk",
                    N_("Is the child at immediate risk of significant harm?"),
                    "risk",
                    N_("Select yes if the child is at immediate risk of significant harm"),
                ),
                Question(
                    "risk_reason",
                    N_("If yes, what is the immediate risk?"),
                    "textarea",
                    N_("Enter what the immediate risk is"),
                    max_length=10_000,
                ),
            ),
            "check",
        ),
    )
}
FIRST_STEP = "agency"


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def read_date(form: Any, name: str, label: str) -> tuple[dict[str, str], date | None, str | None]:
    """A GOV.UK date input's answer: (the parts as typed, the date, the problem). No parts at
    all is no date and no problem; the caller decides whether one was needed."""
    parts = {part: _text(form, f"{name}-{part}") for part in ("day", "month", "year")}
    if not any(parts.values()):
        return parts, None, None
    if not all(parts.values()):
        missing = gettext(" and ").join(gettext(PART_NAMES[p]) for p, v in parts.items() if not v)
        return (
            parts,
            None,
            gettext("%(label)s must include a %(missing)s")
            % {
                "label": gettext(label),
                "missing": missing,
            },
        )
    try:
        day = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        day = None
    if day is None or day.year < 1900:
        return parts, None, gettext("%(label)s must be a real date") % {"label": gettext(label)}
    return parts, day, None


def _date(form: Any, name: str) -> tuple[dict[str, str], str | None, str | None]:
    """(the parts as typed, the ISO date, the problem)."""
    parts, born, problem = read_date(form, name, N_("Date of birth"))
    if born is None:
        return parts, None, problem
    if born > date.today():
        return parts, None, gettext("Date of birth must be today or in the past")
    return parts, born.isoformat(), None


def check_step(
    step: Step, form: Any, choices: dict[str, list[tuple[str, str]]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The step's answers as casework takes them, and the problems by field."""
    answers: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for question in step.questions:
        name = question.name
        if question.kind == "date":
            parts, iso, problem = _date(form, name)
            answers[name] = iso
            answers[f"{name}_parts"] = parts
            if problem:
                problems[name] = problem
            continue
        value = _text(form, name)
        if question.kind == "risk":
            answers[name] = {"yes": True, "no": False}.get(value)
            if answers[name] is None:
                problems[name] = gettext(question.missing) if question.missing else ""
            continue
        if name == "risk_reason" and not answers.get("immediate_risk"):
            answers[name] = None
            continue
        answers[name] = value or None
        if not value:
            if question.missing:
                problems[name] = gettext(question.missing)
        elif question.kind == "radios" and value not in {v for v, _ in choices.get(name, [])}:
            problems[name] = gettext(question.missing) if question.missing else ""
        elif len(value) > question.max_length:
            problems[name] = gettext("%(label)s must be %(most)s characters or fewer") % {
                "label": gettext(question.label),
                "most": number_text(question.max_length),
            }
        elif "\x00" in value:
            problems[name] = gettext("%(label)s must not contain NUL characters") % {
                "label": gettext(question.label)
            }
    return answers, problems
