"""Signing in with a one-time link mailed to the person, and signing out."""

import secrets
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.dependencies import SessionDep, settings_of
from database.directory_people import find_active_person
from web.dependencies import (
    LIMIT_WINDOW_SECONDS,
    IdentityProvidersDep,
    SignInLimits,
    SignInLimitsDep,
    SignInLinksDep,
)
from web.forms import form_page
from web.i18n import CHOSEN_COOKIE, N_, current_language, gettext, just_chosen_language
from web.identity_providers import IdentityProvider, ProviderClient
from web.page_context import (
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    MaybeViewerDep,
    PageError,
    Viewer,
    ViewerDep,
    adopt_language_just_chosen,
    check_csrf,
    render,
    safe_next,
    same_origin,
    secure_cookies,
)
from web.sessions import (
    LINK_LIFETIME,
    SESSION_LIMIT,
    end_session,
    live_link,
    spend_link,
    start_session,
)

router = APIRouter(include_in_schema=False)

# The provider's post-logout redirect: one plain address, as Entra ID wants it registered.
SIGNED_OUT_PATH = "/signed-out"


def limit_requests(request: Request, limits: SignInLimits, address: str) -> None:
    """Refuses (429) a client or an address that has asked too often in 15 minutes."""
    client = request.client.host if request.client else "unknown"
    if not limits.allow(client, address):
        raise PageError(
            429,
            N_("Too many sign-in requests"),
            N_("You have asked too many times. Wait 15 minutes, then try again."),
            headers={"Retry-After": str(LIMIT_WINDOW_SECONDS)},
        )


def offered(clients: dict[str, ProviderClient]) -> list[IdentityProvider]:
    """The providers offered on the sign-in page, in the order configured."""
    return [client.provider for client in clients.values()]


LINK_REFUSED = N_(
    "This sign-in link has already been used or has expired. Links work once, for 15 minutes. "
    "Ask for a new link."
)


def normalised_email(email: str) -> str | None:
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request, clients: IdentityProvidersDep, next: str | None = None
) -> Response:
    return render(
        request,
        "sign_in.html",
        title=N_("Sign in"),
        next_path=safe_next(next),
        email="",
        error_for={},
        signed_out=request.query_params.get("signed_out") == "1",
        providers=offered(clients),
    )


@router.post("/sign-in", response_class=HTMLResponse)
async def ask_for_link(
    request: Request,
    clients: IdentityProvidersDep,
    links: SignInLinksDep,
    limits: SignInLimitsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Mails a link to a known address; the answer is the same whether or not it is known, in
    what it says, the work it does and so its time."""
    next_path = safe_next(next)
    if not same_origin(request):
        raise PageError(
            403, N_("Your form could not be sent"), N_("Sign in from this service's page.")
        )
    address = normalised_email(email.strip())
    if address is None:
        message = (
            gettext("Enter your email address")
            if not email.strip()
            else gettext("Enter an email address in the correct format, like name@example.org")
        )
        return form_page(
            request,
            "sign_in.html",
            None,
            {"email": message},
            title=N_("Sign in"),
            next_path=next_path,
            email=email,
            providers=offered(clients),
        )
    limit_requests(request, limits, address)
    # The same for every address: the look-up, the link and the mail come after the answer
    # (web/link_requests.py), so neither its time nor a database outage tells who is known.
    links.ask(address, next_path, current_language(), just_chosen_language(request))
    return render(request, "check_email.html", title=N_("Check your email"), email=address)


@router.get("/sign-in/{token}", response_class=HTMLResponse)
async def confirm_page(request: Request, token: str, db: SessionDep) -> Response:
    """The mailed link opens a button, so a mail scanner that fetches links cannot spend it."""
    link = await live_link(db, token)
    person = await find_active_person(db, link.email) if link else None
    if link is None or person is None:
        raise PageError(400, N_("This sign-in link cannot be used"), LINK_REFUSED)
    csrf = secrets.token_urlsafe(32)
    response = render(
        request,
        "confirm_sign_in.html",
        title=N_("Sign in"),
        token=token,
        person=person,
        sign_in_csrf=csrf,
    )
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        csrf,
        max_age=int(LINK_LIFETIME.total_seconds()),
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


@router.post("/sign-in/{token}")
async def spend(request: Request, token: str, db: SessionDep, viewer: MaybeViewerDep) -> Response:
    form = await request.form()
    if await live_link(db, token) is None:  # said first: the clearest answer for a used link
        raise PageError(400, N_("This sign-in link cannot be used"), LINK_REFUSED)
    check_csrf(request, form, request.cookies.get(SIGN_IN_CSRF_COOKIE, ""))
    link = await spend_link(db, token)
    person = await find_active_person(db, link.email) if link else None
    if link is None or person is None:
        raise PageError(400, N_("This sign-in link cannot be used"), LINK_REFUSED)
    response = await signed_in(request, db, viewer, person.email, link.next_path)
    response.delete_cookie(SIGN_IN_CSRF_COOKIE, path="/sign-in")
    return response


async def signed_in(
    request: Request,
    db: AsyncSession,
    viewer: Viewer | None,
    email: str,
    next_path: str,
    provider: str | None = None,
    provider_role: str | None = None,
) -> Response:
    """A new session for `email` (by link or provider) and the way on to `next_path`."""
    if viewer is not None:  # a new session id at every sign-in, never the one the browser had
        await end_session(db, viewer.session)
    session_token, _ = await start_session(db, email, provider, provider_role)
    person = await find_active_person(db, email, provider_role)
    if person is not None:
        await adopt_language_just_chosen(request, db, person)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.delete_cookie(CHOSEN_COOKIE, path="/")  # the person's own now, no one else's
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(SESSION_LIMIT.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


@router.get(SIGNED_OUT_PATH)
async def signed_out_page() -> Response:
    """Where a provider sends the browser back after its own sign-out (registered with it)."""
    return RedirectResponse("/sign-in?signed_out=1", status_code=303)


@router.post("/sign-out")
async def sign_out(
    request: Request, db: SessionDep, viewer: ViewerDep, clients: IdentityProvidersDep
) -> Response:
    check_csrf(request, await request.form(), viewer.session.csrf_token)
    await end_session(db, viewer.session)
    settings = settings_of(request)
    signed_out = f"{settings.public_url.rstrip('/')}{SIGNED_OUT_PATH}"
    client = clients.get(viewer.session.provider or "")
    # RP-initiated logout: the provider's session ends too, where it publishes how.
    leave = await client.sign_out_url(signed_out) if client else None
    response = RedirectResponse(leave or "/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CHOSEN_COOKIE, path="/")  # their choice, not the next person's
    return response
