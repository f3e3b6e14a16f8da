"""Home: the escalations waiting on this person, raised by their agency, or closed."""

from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from casework.dependencies import PoliciesDep, SessionDep
from web.listing import PAGE_SIZE, VIEWS, Filters, View, escalations_for
from web.page_context import ViewerDep, other_agencies, render
from web.presenting import STATUS_TAGS, stage_text, when

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    policies: PoliciesDep,
    view: str | None = None,
    overdue: bool = False,
    agency: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    # Practitioners decide nothing on the ladder: what their agency raised comes first for them.
    default: View = "raised" if viewer.role == "practitioner" else "waiting"
    chosen: View = view if view in get_args(View) else default  # type: ignore[assignment]
    filters = Filters(view=chosen, overdue=overdue, agency=agency or None, page=page)
    rows, total = await escalations_for(db, viewer.person, filters)
    agencies = await other_agencies(db, viewer)
    pages = max(1, -(-total // PAGE_SIZE))

    def link(**changes: object) -> str:
        params = {"view": chosen, "overdue": "true" if overdue else "", "agency": agency or ""}
        params.update({k: str(v) for k, v in changes.items()})
        return "/?" + urlencode({k: v for k, v in params.items() if v})

    items = [
        {
            "row": row,
            "stage": stage_text(row, policies),
            "deadline": when(row.stage_deadline),
            "status": STATUS_TAGS.get(row.status, (row.status, "govuk-tag--grey")),
        }
        for row in rows
    ]
    return render(
        request,
        "home.html",
        viewer,
        title="Your escalations",
        views=VIEWS,
        filters=filters,
        items=items,
        total=total,
        agencies=agencies,
        pages=pages,
        link=link,
        page_items=[
            {"number": n, "href": link(page=n), "current": n == filters.page}
            for n in range(1, pages + 1)
        ],
    )
