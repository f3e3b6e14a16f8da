"""Charts as SVG drawn on the server: no script, and nothing a Content-Security-Policy blocks.

Only geometry is worked out here (in the SVG's own units; the picture scales to its column);
templates/_report.html draws it with presentation attributes and the service stylesheet's
classes, never a style attribute. A count shown as "<5" is drawn as long as 5, in a lighter
shade, so the picture gives away no more than the table.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from math import ceil

from casework.publication import Count
from web.i18n import gettext, month_and_year, short_month

WIDTH = 640
ROW = 48  # a bar chart's row: its label above, the bar below
BAR_ROOM = WIDTH - 60  # the longest bar leaves room for its number
PLOT_TOP, PLOT_HEIGHT, PLOT_LEFT = 12, 200, 44
UNDER_FIVE = 5


def drawn(count: Count) -> int:
    return count if isinstance(count, int) else UNDER_FIVE


def nice_top(largest: int) -> tuple[int, int]:
    """An axis top at or above `largest`, and its step: 1, 2 or 5 times a power of ten, so
    the axis has at most five steps."""
    step = 1
    while ceil(largest / step) > 5:
        for factor in (2, 2.5, 2):
            step = int(step * factor)
            if ceil(largest / step) <= 5:
                break
    return max(1, ceil(largest / step)) * step, step


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # as the table shows it
    y: int
    length: float
    suppressed: bool


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    height: int
    summary: str


def bar_chart(what: str, counts: Mapping[str, Count]) -> BarChart:
    """Horizontal bars, one a row, in the order given."""
    top = max((drawn(n) for n in counts.values()), default=0) or 1
    bars = [
        Bar(
            label=label,
            shown=str(count),
            y=row * ROW,
            length=round(BAR_ROOM * drawn(count) / top, 1),
            suppressed=not isinstance(count, int),
        )
        for row, (label, count) in enumerate(counts.items())
    ]
    listed = "; ".join(f"{bar.label}: {bar.shown}" for bar in bars)
    summary = gettext("Bar chart of %(what)s. %(listed)s.") % {"what": what, "listed": listed}
    return BarChart(bars=bars, height=len(bars) * ROW, summary=summary)


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    series: str
    suppressed: bool


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class MonthLabel:
    x: float
    month: str
    year: str


@dataclass(frozen=True)
class ColumnChart:
    columns: list[Column]
    ticks: list[Tick]
    months: list[MonthLabel]
    baseline: int
    height: int
    summary: str


def column_chart(what: str, months: Mapping[str, Mapping[str, Count]]) -> ColumnChart:
    """Columns side by side for each month ("YYYY-MM" → series → count); a label under every
    month, or every few months when there are many."""
    series = list(next(iter(months.values()), {}))
    largest = max((drawn(n) for month in months.values() for n in month.values()), default=0)
    top, step = nice_top(largest)
    baseline = PLOT_TOP + PLOT_HEIGHT
    slot = (WIDTH - PLOT_LEFT) / max(1, len(months))
    width = slot * 0.8 / max(1, len(series))
    every = ceil(len(months) / 12)
    columns: list[Column] = []
    labels: list[MonthLabel] = []
    labelled_year = ""
    for n, (key, counts) in enumerate(months.items()):
        left = PLOT_LEFT + n * slot + slot * 0.1
        for s, name in enumerate(series):
            height = round(PLOT_HEIGHT * drawn(counts[name]) / top, 1)
            columns.append(
                Column(
                    x=round(left + s * width, 1),
                    y=round(baseline - height, 1),
                    width=round(width, 1),
                    height=height,
                    series=name,
                    suppressed=not isinstance(counts[name], int),
                )
            )
        year, month = key.split("-")
        if n % every == 0:  # the year under the first label of each year
            new_year = not labels or year != labelled_year
            labelled_year = year
            labels.append(
                MonthLabel(
                    x=round(PLOT_LEFT + (n + 0.5) * slot, 1),
                    month=short_month(date(int(year), int(month), 1)),
                    year=year if new_year else "",
                )
            )
    ticks = [
        Tick(y=round(baseline - PLOT_HEIGHT * value / top, 1), label=str(value))
        for value in range(0, top + 1, step)
    ]
    keys = list(months)
    span = (
        gettext("%(start)s to %(end)s")
        % {"start": month_text(keys[0]), "end": month_text(keys[-1])}
        if keys
        else ""
    )
    return ColumnChart(
        columns=columns,
        ticks=ticks,
        months=labels,
        baseline=baseline,
        height=baseline + 40,
        summary=gettext("Column chart of %(what)s, %(span)s. The table gives each month's figures.")
        % {"what": what, "span": span},
    )


def month_text(key: str) -> str:
    """ "2026-01" as people read it: "January 2026", "Ionawr 2026"."""
    return month_and_year(date.fromisoformat(key + "-01"))
