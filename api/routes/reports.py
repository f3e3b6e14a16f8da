"""/reports: the partnership's oversight figures, as JSON or CSV."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from api.deps import CallerDep
from api.problems import PROBLEM_RESPONSES, FieldProblem, ProblemError
from casework.dependencies import NationDep, SessionDep
from casework.oversight import EscalationReport, escalation_lines, escalation_report
from casework.oversight_csv import aggregate_csv, csv_filename, escalations_csv

router = APIRouter(prefix="/reports", tags=["reports"], responses=PROBLEM_RESPONSES)

CSV = "text/csv"
TABLE_RULE = "escalations is CSV only (format=csv) and never with publication=true"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}}
}


@router.get("/escalations", response_model=EscalationReport, responses=CSV_RESPONSE)
async def escalations_report(
    caller: CallerDep,
    db: SessionDep,
    nation: NationDep,
    start: Annotated[date, Query(alias="from", description="First day, London date.")],
    end: Annotated[date, Query(alias="to", description="Last day (inclusive), London date.")],
    format: Annotated[
        Literal["json", "csv"] | None, Query(description="Overrides the Accept header.")
    ] = None,
    table: Annotated[
        Literal["aggregate", "escalations"],
        Query(description="CSV only: the figures, or one row per escalation behind them."),
    ] = "aggregate",
    publication: Annotated[
        bool, Query(description='For a published table: counts from 1 to 4 show as "<5".')
    ] = False,
    accept: Annotated[str, Header(include_in_schema=False)] = "",
) -> EscalationReport | Response:
    """How escalation was used: escalations raised in the period (dates inclusive, London
    time) that your agency raised or received, or all of them for the partnership.
    JSON, or CSV with `Accept: text/csv` or `format=csv`."""
    as_csv = format == "csv" or (format is None and CSV in accept.lower())
    if table == "escalations":
        if publication or not as_csv:
            raise ProblemError(
                422,
                "The per-escalation table is CSV only, and not for publication.",
                errors=[FieldProblem(field="table", message=TABLE_RULE)],
            )
        body = escalations_csv(await escalation_lines(db, caller, start, end, nation))
    else:
        report = await escalation_report(db, caller, start, end, nation)
        if publication:
            report = report.for_publication()
        if not as_csv:
            return report
        body = aggregate_csv(report)
    name = csv_filename(table, start, end)
    return Response(
        body,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
