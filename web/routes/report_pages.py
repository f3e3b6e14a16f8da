"""The oversight report for people: the page with its period picker and charts, its printable
view for the annual report, and its CSV downloads (the API's, for a signed-in person)."""

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from casework.dependencies import NationDep, SessionDep, SettingsDep
from casework.inspection import audit_export, export_filename
from casework.oversight import (
    NO_CATEGORY,
    EscalationReport,
    escalation_lines,
    escalation_report,
)
from casework.oversight_csv import aggregate_csv, csv_filename, escalations_csv
from casework.refusals import ProblemError
from core.export_signing import SigningKeyError, signing_key
from database.directory_people import partnership_name
from web.charts import bar_chart, column_chart, month_text
from web.i18n import N_, gettext, number_text
from web.page_context import PageError, Viewer, ViewerDep, refusal_text, render
from web.periods import Period, financial_year, london_today, read_period
from web.presenting import STATUS_TAGS, when
from workflows.policy import Nation

router = APIRouter(include_in_schema=False)

TABLES = ("aggregate", "escalations")
NO_CATEGORY_SHOWN = N_("not recorded")  # casework's NO_CATEGORY, as the catalogue holds it
SIGNING_KEY = N_("The partnership's signing key cannot be used. Ask the service's operators.")


def _publication(request: Request) -> bool:
    return request.query_params.get("publication") == "on"


def _number(value: float | None) -> str:
    return "—" if value is None else number_text(value)


def _charts(report: EscalationReport) -> list[dict[str, Any]]:
    """The bar charts, each with the figures its table shows."""
    outcomes = {
        gettext(STATUS_TAGS[s][0]) if s in STATUS_TAGS else s: n
        for s, n in report.by_outcome.items()
    }
    stages = {
        gettext("Stage %(stage)s") % {"stage": stage}: n
        for stage, n in report.by_highest_stage.items()
    }
    # Categories are as people typed them; "not recorded" is the report's own.
    categories = {
        gettext(NO_CATEGORY_SHOWN) if name == NO_CATEGORY else name: n
        for name, n in report.by_category.items()
    }
    charts = [
        (
            "raising",
            gettext("By the agency that raised them"),
            gettext("Raising agency"),
            report.by_raising_agency,
        ),
        (
            "receiving",
            gettext("By the agency whose decision was disputed"),
            gettext("Receiving agency"),
            report.by_receiving_agency,
        ),
        ("stage", gettext("By the highest stage reached"), gettext("Highest stage"), stages),
        ("outcome", gettext("By outcome (status now)"), gettext("Outcome"), outcomes),
        ("category", gettext("By category"), gettext("Category"), categories),
    ]
    return [
        {
            "id": key,
            "title": title,
            "heading": heading,
            "counts": counts,
            "chart": bar_chart(gettext("escalations %(chart)s") % {"chart": title.lower()}, counts),
        }
        for key, title, heading, counts in charts
    ]


def _links(period: Period, publication: bool) -> dict[str, str]:
    assert period.start is not None and period.end is not None
    flag = {"publication": "on"} if publication else {}
    base = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    shown = base | flag
    today = london_today()
    this_year = financial_year(today)
    last_year = financial_year(this_year[0].replace(year=this_year[0].year - 1))

    def year(start: date, end: date) -> str:
        return "/reports?" + urlencode({"from": start.isoformat(), "to": end.isoformat()} | flag)

    return {
        "print": "/reports/print?" + urlencode(shown),
        "aggregate": "/reports/download?" + urlencode(shown | {"table": "aggregate"}),
        "escalations": "/reports/download?" + urlencode(base | {"table": "escalations"}),
        "audit_export": "/reports/audit-export?" + urlencode(base),
        "this_year": year(this_year[0], today),
        "last_year": year(*last_year),
    }


async def _report_page(
    request: Request, viewer: Viewer, db: SessionDep, nation: Nation, template: str
) -> Response:
    period = read_period(request.query_params, london_today())
    publication = _publication(request)
    context: dict[str, Any] = {"period": period, "publication": publication}
    if not period.good:
        errors = [
            {"text": message, "href": f"#{name}-day"} for name, message in period.problems.items()
        ]
        return render(
            request,
            "reports.html",
            viewer,
            status=422,
            title=gettext("Escalation reports"),
            errors=errors,
            **context,
        )
    assert period.start is not None and period.end is not None
    report = await escalation_report(db, viewer, period.start, period.end, nation)
    if publication:
        report = report.for_publication()
    return render(
        request,
        template,
        viewer,
        title=gettext("Escalation reports"),
        report=report,
        charts=_charts(report),
        monthly=column_chart(
            gettext("escalations raised and closed each month"),
            {month: figures.model_dump() for month, figures in report.monthly.items()},
        ),
        as_of=when(report.as_of),
        number=_number,
        month_text=month_text,
        links=_links(period, publication),
        **context,
    )


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, viewer: ViewerDep, db: SessionDep, nation: NationDep
) -> Response:
    """How escalation was used in a period: what this person's agency raised or received, or
    everything for the partnership."""
    return await _report_page(request, viewer, db, nation, "reports.html")


@router.get("/reports/print", response_class=HTMLResponse)
async def reports_print(
    request: Request, viewer: ViewerDep, db: SessionDep, nation: NationDep
) -> Response:
    """The same figures laid out to print for the annual report, without the form."""
    return await _report_page(request, viewer, db, nation, "reports_print.html")


@router.get("/reports/download")
async def reports_download(
    request: Request, viewer: ViewerDep, db: SessionDep, nation: NationDep
) -> Response:
    """The report's CSV (the same as GET /reports/escalations?format=csv), for a person."""
    period = read_period(request.query_params, london_today())
    table = request.query_params.get("table", "aggregate")
    publication = _publication(request)
    if not period.good or table not in TABLES or (publication and table == "escalations"):
        raise PageError(
            400,
            N_("That download is not available"),
            N_(
                "Choose the period on the reports page and use its download links. The table of "
                "escalations is never for publication."
            ),
        )
    assert period.start is not None and period.end is not None
    if table == "escalations":
        body = escalations_csv(await escalation_lines(db, viewer, period.start, period.end, nation))
    else:
        report = await escalation_report(db, viewer, period.start, period.end, nation)
        body = aggregate_csv(report.for_publication() if publication else report)
    name = csv_filename(table, period.start, period.end)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/reports/audit-export")
async def audit_export_download(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The inspector's export (the same as GET /audit-export), for the partnership."""
    period = read_period(request.query_params, london_today())
    if not period.good:
        raise PageError(400, N_("That download is not available"), N_("Choose the period first."))
    assert period.start is not None and period.end is not None
    try:
        document = await audit_export(
            db,
            viewer,
            period.start,
            period.end,
            key=signing_key(settings.export_signing_key_file),
            partnership=await partnership_name(db),
        )
    except ProblemError as exc:
        raise PageError(exc.status, N_("The export could not be made"), refusal_text(exc)) from None
    except SigningKeyError:
        raise PageError(503, N_("Sorry, the service is unavailable"), SIGNING_KEY) from None
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": (
                f'attachment; filename="{export_filename(period.start, period.end)}"'
            ),
            "Cache-Control": "no-store",
        },
    )
