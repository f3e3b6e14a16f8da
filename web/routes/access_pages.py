"""Requesting access (linked from /sign-in) and deciding requests (/directory/requests).

/request-access asks for a name and a work email, then the agency (the one owning the email's
domain chosen already) and the role. The answer is the same whoever asks, and names no one: the
agency's managers and the business unit are mailed, and the person is mailed their answer.
"""

from email.message import EmailMessage

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from casework import access_requests
from casework.actors import label
from casework.dependencies import NationDep, SessionDep, settings_of
from core.languages import Language, reader_languages
from core.settings import Settings
from database.directory_people import PARTNERSHIP_KIND
from database.tables import DirectoryAgency
from web.dependencies import SignInLimitsDep
from web.forms import done_banner, form_page
from web.i18n import N_, current_language, gettext, said, translated
from web.mailer import message_in, send_all
from web.page_context import PageError, check_csrf, render, same_origin
from web.presenting import role_name
from web.routes.directory_pages import ROLE_NAMES, AdminDep
from web.routes.sign_in import limit_requests, normalised_email

router = APIRouter(include_in_schema=False)

# Catalogue messages (N_): translated where they are shown.
MESSAGES = {
    "name": N_("Enter your full name, up to 200 characters"),
    "email": N_("Enter your work email address, like name@example.org"),
    "agency": N_("Choose the agency you work for"),
    "role": N_("Choose the role you need"),
}
ANSWERED = {
    "approved": N_("The request is approved. The person is told by email."),
    "declined": N_("The request is declined. The person is told by email."),
}


async def _agencies(db: SessionDep) -> dict[str, DirectoryAgency]:
    rows = await db.exec(
        select(DirectoryAgency)
        .where(DirectoryAgency.kind != PARTNERSHIP_KIND)
        .order_by(DirectoryAgency.name)
    )
    return {agency.name: agency for agency in rows.all()}


async def _form(
    request: Request, db: SessionDep, values: dict[str, str], problems: dict[str, str], step: str
) -> HTMLResponse:
    return form_page(
        request,
        "request_access.html",
        None,
        {field: gettext(problem) for field, problem in problems.items()},
        title=N_("Request access"),
        values=values,
        step=step,
        agencies=list(await _agencies(db)),
        roles=[(role, gettext(ROLE_NAMES[role])) for role in access_requests.REQUESTABLE],
    )


@router.get("/request-access", response_class=HTMLResponse)
async def request_page(request: Request, db: SessionDep) -> Response:
    return await _form(request, db, {}, {}, "you")


@router.post("/request-access", response_class=HTMLResponse)
async def send_request(
    request: Request,
    db: SessionDep,
    nation: NationDep,
    background: BackgroundTasks,
    limits: SignInLimitsDep,
) -> Response:
    if not same_origin(request):
        raise PageError(403, N_("Your form could not be sent"), N_("Ask from this service's page."))
    form = await request.form()
    values = {k: str(form.get(k, "")).strip()[:320] for k in ("name", "email", "agency", "role")}
    problems: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > 200 or not values["name"].isprintable():
        problems["name"] = MESSAGES["name"]
    email = normalised_email(values["email"])
    if email is None:
        problems["email"] = MESSAGES["email"]
    if problems or form.get("step") != "details":
        if not problems and email is not None:
            # The agency owning the address's domain, chosen for them.
            values["agency"] = await access_requests.agency_for_domain(db, email) or ""
        return await _form(request, db, values, problems, "details" if not problems else "you")
    agencies = await _agencies(db)
    if values["agency"] not in agencies:
        problems["agency"] = MESSAGES["agency"]
    if values["role"] not in access_requests.REQUESTABLE:
        problems["role"] = MESSAGES["role"]
    if problems:
        return await _form(request, db, values, problems, "details")
    limit_requests(request, limits, email or "")
    agency = agencies[values["agency"]]
    told = await access_requests.ask(
        db,
        name=values["name"],
        email=email or "",
        agency=agency,
        role=values["role"],
        language=current_language(),
    )
    settings = settings_of(request)
    review = f"{settings.public_url.rstrip('/')}/directory/requests"
    asked = {"name": values["name"], "email": email or "", "agency": agency.name}

    def write() -> tuple[str, list[str]]:
        role = role_name(values["role"])
        return gettext("Request for access from %(name)s (%(agency)s)") % asked, [
            gettext(
                "%(name)s (%(email)s) asks for access to Safeguarding escalations as %(role)s "
                "at %(agency)s."
            )
            % (asked | {"role": role}),
            "",
            gettext("Approve or decline the request: %(link)s") % {"link": review},
        ]

    mails = [
        message_in(settings, r.email, reader_languages(r.language, nation), write) for r in told
    ]
    background.add_task(send_all, settings, mails)
    return render(request, "request_access_sent.html", title=N_("Your request has been sent"))


@router.get("/directory/requests", response_class=HTMLResponse)
async def requests_page(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    waiting = await access_requests.waiting_for(db, viewer.person)
    return render(
        request,
        "access_requests.html",
        viewer,
        title=N_("Requests for access"),
        waiting=waiting,
        roles=translated(ROLE_NAMES),
        done=done_banner(request, ANSWERED),
        refusal=None,
    )


@router.post("/directory/requests/{request_id}", response_class=HTMLResponse)
async def decide(
    request: Request,
    request_id: int,
    viewer: AdminDep,
    db: SessionDep,
    nation: NationDep,
    background: BackgroundTasks,
) -> Response:
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    approve = form.get("decision") == "approve"
    decided = await access_requests.decide(db, viewer.person, label(viewer), request_id, approve)
    if decided is None:
        raise PageError(404, N_("Page not found"), N_("There is no such request waiting for you."))
    asked, refused = decided
    if refused:
        return render(
            request,
            "access_requests.html",
            viewer,
            status=422,
            title=N_("Requests for access"),
            waiting=await access_requests.waiting_for(db, viewer.person),
            roles=translated(ROLE_NAMES),
            done=None,
            refusal=said(refused),
        )
    settings = settings_of(request)
    # The language they asked in (the new person's too); not known for a request made before
    # it was recorded.
    languages = reader_languages(asked.language, nation)
    answer = _answer(settings, asked.name, asked.email, approve, languages)
    background.add_task(send_all, settings, [answer])
    return RedirectResponse(
        f"/directory/requests?done={'approved' if approve else 'declined'}", 303
    )


def _answer(
    settings: Settings, name: str, email: str, approved: bool, languages: tuple[Language, ...]
) -> EmailMessage:
    sign_in = f"{settings.public_url.rstrip('/')}/sign-in"

    def write() -> tuple[str, list[str]]:
        hello = gettext("Hello %(name)s,") % {"name": name}
        answer = (
            [gettext("Your request for access is approved. Sign in here:"), sign_in]
            if approved
            else [
                gettext(
                    "Your request for access was not approved. Ask your agency's safeguarding lead."
                )
            ]
        )
        subject = gettext("Your request for access to Safeguarding escalations")
        return subject, [hello, "", *answer]

    return message_in(settings, email, languages, write)
