"""Legal holds for the partnership: the records retention may not erase while a hold stands."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from casework import holding
from casework.dependencies import SessionDep
from web.i18n import N_
from web.negotiation import BrowserRoute
from web.page_context import PageError, ViewerDep, render
from web.presenting import STATUS_TAGS

# /legal-holds is the API's too: the page answers browsers only.
page_router = APIRouter(include_in_schema=False, route_class=BrowserRoute)


@page_router.get("/legal-holds", response_class=HTMLResponse)
async def legal_holds_page(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    if viewer.role != "board":
        raise PageError(
            403,
            N_("Legal holds are for the partnership"),
            N_("Only the Safeguarding Children Partnership places and sees legal holds."),
        )
    return render(
        request,
        "legal_holds.html",
        viewer,
        title=N_("Legal holds"),
        holds=await holding.holds(db),
        statuses=STATUS_TAGS,
    )
