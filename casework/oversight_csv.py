"""The oversight report as CSV, for spreadsheets: the aggregate table, or one row per escalation.

The aggregate table is long: one row per figure and key (`by_raising_agency,Police,12`), so
every figure fits the same three columns. The per-escalation times are London times with their
offset.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from pydantic import BaseModel

from casework.oversight import EscalationLine, EscalationReport
from casework.oversight_figures import LONDON

AGGREGATE_HEADER = ("figure", "key", "value")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV text, each cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _figures(report: EscalationReport) -> Iterator[tuple[str, str, Any]]:
    for name, value in report.model_dump(mode="json").items():
        if isinstance(getattr(report, name), BaseModel):  # one set of figures: name.part
            for part, figure in value.items():
                yield f"{name}.{part}", "", figure
        elif isinstance(value, dict):  # by key; each a count, or a set of figures
            for key, item in value.items():
                if isinstance(item, dict):
                    for part, figure in item.items():
                        yield f"{name}.{part}", key, figure
                else:
                    yield name, key, item
        else:
            yield name, "", value


def csv_filename(table: str, start: date, end: date) -> str:
    return f"escalations-{table}-{start}-to-{end}.csv"


def aggregate_csv(report: EscalationReport) -> str:
    return csv_text([AGGREGATE_HEADER, *_figures(report)])


def escalations_csv(lines: list[EscalationLine]) -> str:
    header = tuple(EscalationLine.model_fields)

    def row(line: EscalationLine) -> list[Any]:
        values = line.model_dump()
        for moment in ("created_at", "closed_at"):
            if values[moment] is not None:
                values[moment] = values[moment].astimezone(LONDON).isoformat()
        return [values[name] for name in header]

    return csv_text([header, *(row(line) for line in lines)])
