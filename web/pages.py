"""Mounting the pages on the service's FastAPI app: routes, assets, refusals and headers."""

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from casework.dependencies import database_session
from core.settings import Settings
from web.assets import STATIC, autocomplete_dist, govuk_dist
from web.dependencies import SignInLimits
from web.headers import PageHeaders
from web.i18n import N_, LanguageOfRequest, gettext
from web.identity_providers import load_providers, origin, provider_clients
from web.page_context import SORRY, PageError, SignInNeeded, render, signed_in_viewer
from web.routes import (
    access_pages,
    agency_pages,
    correction_pages,
    directory_import,
    directory_pages,
    escalation_page,
    hold_pages,
    home,
    provider_sign_in,
    raise_pages,
    report_pages,
    sign_in,
    subject_access_pages,
)

TRY_LATER = N_(
    "Try again later. If you were sending a form, send it again when the service is back: it "
    "will not be done twice."
)


def sorry_page(request: Request) -> HTMLResponse:
    """GOV.UK's "Sorry, there is a problem with the service" page, for a browser, when a fault of
    ours (the database away) stops the page; API clients get a problem+json instead."""
    response = render(request, "refused.html", status=503, title=SORRY, message=gettext(TRY_LATER))
    response.headers["Retry-After"] = "30"
    return response


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    viewer = None
    if exc.status != 503:  # a fault of ours may be the database: no session look-up then
        async with database_session(request) as db:
            viewer = await signed_in_viewer(request, db)
    # Titles and messages are catalogue messages (marked N_ where raised); a refusal from
    # casework that the catalogue does not hold stays in English.
    response = render(
        request,
        "refused.html",
        viewer,
        status=exc.status,
        title=gettext(exc.title),
        message=gettext(exc.message),
        may_request_access=exc.may_request_access,
    )
    response.headers.update(exc.headers or {})
    return response


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    query = "" if exc.next_path == "/" else "?" + urlencode({"next": exc.next_path})
    return RedirectResponse(f"/sign-in{query}", status_code=303)


def install(app: FastAPI, settings: Settings) -> None:
    """The pages, before the API's routes: /escalations/{id} is a page for browsers only."""
    providers = load_providers(settings)
    app.state.identity_providers = provider_clients(providers, app.state.signing_keys)
    app.state.sign_in_limits = SignInLimits.of(settings)
    app.add_exception_handler(PageError, _refused)
    app.add_exception_handler(SignInNeeded, _to_sign_in)
    for router in (
        sign_in.router,
        provider_sign_in.router,
        home.router,
        raise_pages.router,
        escalation_page.router,
        correction_pages.router,
        report_pages.router,
        access_pages.router,
        agency_pages.router,
        directory_import.router,  # before directory_pages: /directory/import is not a person
        directory_pages.router,
        subject_access_pages.router,
    ):
        app.include_router(router)
    app.include_router(escalation_page.page_router)
    app.include_router(subject_access_pages.page_router)
    app.include_router(hold_pages.page_router)
    dist = govuk_dist()
    # GOV.UK Frontend's CSS asks for its fonts and images under /assets.
    app.mount("/assets", StaticFiles(directory=dist / "assets", check_dir=False), name="assets")
    app.mount("/govuk", StaticFiles(directory=dist, check_dir=False), name="govuk")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(
        "/autocomplete",
        StaticFiles(directory=autocomplete_dist(), check_dir=False),
        name="autocomplete",
    )
    # Sign-out is a form whose answer sends the browser on to the provider's end-session page.
    app.add_middleware(PageHeaders, form_targets=[origin(p.issuer) for p in providers])
    app.add_middleware(LanguageOfRequest)
