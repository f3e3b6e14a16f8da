"""Home: the escalations waiting on this person, raised by their agency, or closed; and a search
by an escalation's or a child's reference."""

from datetime import datetime
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework import finding, searching
from casework.actors import label
from casework.attention import days_left, disputable_until, tags
from casework.dependencies import PoliciesDep, SessionDep, TermHasherDep
from casework.refusals import ProblemError
from database.tables import utc_now
from web.i18n import N_, gettext
from web.listing import PAGE_SIZE, VIEWS, Filters, Listed, View, escalations_for
from web.page_context import Viewer, ViewerDep, other_agencies, render
from web.presenting import STATUS_TAGS, days_left_text, stage_text, when
from workflows.action_requests import NO_NUL
from workflows.policy import Policy

router = APIRouter(include_in_schema=False)

# PostgreSQL text holds no NUL: refused as bad input (422), never a database error.
SearchTerm = Annotated[str | None, Query(max_length=100, pattern=NO_NUL)]


def _options(
    anything: str, choices: list[tuple[str, str]], chosen: str | None
) -> list[dict[str, object]]:
    """A filter's options for govukSelect: "any" first, then each choice."""
    first: dict[str, object] = {"value": "", "text": anything}
    return [first] + [
        {"value": value, "text": text, "selected": value == chosen} for value, text in choices
    ]


async def _may_see(db: SessionDep, viewer: Viewer, escalation_id: str) -> bool:
    try:
        await finding.find_visible(db, viewer, escalation_id)
    except ProblemError:
        return False
    return True


def _item(entry: Listed, policies: dict[str, Policy], now: datetime) -> dict[str, object]:
    """One row of the list: its stage, its deadline or dispute window, its tags."""
    row = entry.row
    dispute_by = disputable_until(row, now)
    return {
        "row": row,
        "changed": entry.changed,
        "stage": stage_text(row, policies),
        "deadline": when(row.stage_deadline) if row.status == "open" else "",
        "dispute_by": when(dispute_by),
        "days_left": days_left_text(days_left(dispute_by, now)) if dispute_by else "",
        "tags": tags(row, now),
        "status": STATUS_TAGS.get(row.status, (row.status, "govuk-tag--grey")),
    }


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    policies: PoliciesDep,
    hasher: TermHasherDep,
    view: str | None = None,
    overdue: bool = False,
    agency: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    q: SearchTerm = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    # Practitioners decide nothing on the ladder: what their agency raised comes first for them.
    default: View = "raised" if viewer.role == "practitioner" else "waiting"
    chosen: View = view if view in get_args(View) else default  # type: ignore[assignment]
    search = searching.parse(q or "")
    not_found = ""
    if search is not None and search.kind == "escalation":
        if await _may_see(db, viewer, search.key):
            await searching.record_search(db, hasher, viewer, search, 1)
            return RedirectResponse(f"/escalations/{search.key}", status_code=303)
        await searching.record_search(db, hasher, viewer, search, 0)
        not_found = search.key
    filters = Filters(
        view=chosen,
        overdue=overdue,
        agency=agency or None,
        status=status if status in STATUS_TAGS else None,
        search=search if search is not None and search.kind == "child" else None,
        page=page,
    )
    now = utc_now()
    listed, total = await escalations_for(db, viewer.person, label(viewer), filters, now)
    if filters.search is not None:
        await searching.record_search(db, hasher, viewer, filters.search, total)
    agencies = await other_agencies(db, viewer)
    pages = max(1, -(-total // PAGE_SIZE))

    def link(**changes: object) -> str:
        params = {
            "view": chosen,
            "overdue": "true" if overdue else "",
            "agency": agency or "",
            "status": filters.status or "",
            "q": q if filters.search else "",
        }
        params.update({k: str(v) for k, v in changes.items()})
        return "/?" + urlencode({k: v for k, v in params.items() if v})

    heading = (
        gettext("Escalations about child reference %(reference)s") % {"reference": q.strip()}
        if filters.search is not None and q
        else gettext(VIEWS[chosen])
    )
    return render(
        request,
        "home.html",
        viewer,
        title=N_("Your escalations"),
        views=VIEWS,
        filters=filters,
        heading=heading,
        q=q or "",
        not_found=not_found,
        agency_items=_options(
            gettext("All agencies"), [(name, name) for name in agencies], filters.agency
        ),
        status_items=_options(
            gettext("Any status"),
            [(key, gettext(text)) for key, (text, _) in STATUS_TAGS.items()],
            filters.status,
        ),
        items=[_item(entry, policies, now) for entry in listed],
        total=total,
        pages=pages,
        link=link,
        page_items=[
            {"number": n, "href": link(page=n), "current": n == filters.page}
            for n in range(1, pages + 1)
        ],
    )
