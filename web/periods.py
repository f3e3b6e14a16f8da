"""The report page's period: two GOV.UK date inputs, or `from` and `to` as ISO dates in links.

With neither, the period is the current financial year (1 April to today, London time): the
year partnerships report on.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from casework.oversight import check_period
from casework.refusals import ProblemError
from core.calendar import LONDON
from web.i18n import N_, gettext
from web.page_context import refusal_text
from web.questions import read_date

LABELS = {"from": N_("Start date"), "to": N_("End date")}
MISSING = {"from": N_("Enter the start date"), "to": N_("Enter the end date")}
PARTS = ("day", "month", "year")


def london_today() -> date:
    return datetime.now(LONDON).date()


def financial_year(day: date) -> tuple[date, date]:
    """The financial year (April to March) that `day` falls in."""
    first = day.year if day.month >= 4 else day.year - 1
    return date(first, 4, 1), date(first + 1, 3, 31)


def _parts(day: date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


@dataclass
class Period:
    """The period as asked for: the dates (when they are good), the parts to show in the
    form, and the problems by field ("from", "to")."""

    start: date | None = None
    end: date | None = None
    parts: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def good(self) -> bool:
        return not self.problems and self.start is not None and self.end is not None


def _one(
    query: Mapping[str, str], name: str, default: date
) -> tuple[dict[str, str], date | None, str | None]:
    label = LABELS[name]
    if any(f"{name}-{part}" in query for part in PARTS):
        parts, day, problem = read_date(query, name, label)
        if day is None and problem is None:
            problem = gettext(MISSING[name])
        return parts, day, problem
    if name in query:
        try:
            day = date.fromisoformat(query[name])
        except ValueError:
            return {part: "" for part in PARTS}, None, f"{label} must be a real date"
        return _parts(day), day, None
    return _parts(default), default, None


def read_period(query: Mapping[str, str], today: date) -> Period:
    period = Period()
    defaults = {"from": financial_year(today)[0], "to": today}
    found: dict[str, date | None] = {}
    for name in LABELS:
        parts, day, problem = _one(query, name, defaults[name])
        period.parts[name], found[name] = parts, day
        if problem:
            period.problems[name] = problem
    period.start, period.end = found["from"], found["to"]
    if period.start and period.end and not period.problems:
        try:
            check_period(period.start, period.end)
        except ProblemError as refused:
            for refusal in refused.errors or []:
                period.problems[refusal.field] = refusal_text(refused)
    return period
