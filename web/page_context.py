"""What every page needs: the signed-in person (read from the directory on every request),
CSRF checks, rendering."""

import hmac
from collections.abc import Sized
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import label
from casework.dependencies import SessionDep, settings_of
from casework.language_choice import choose_language
from casework.refusals import ProblemError
from core.languages import chosen_language
from database.directory_people import Person, agency_names, find_active_person
from database.tables import PersonSession, utc_now
from web.assets import GOVUK_TEMPLATES, TEMPLATES
from web.i18n import (
    LANGUAGES,
    N_,
    NAMES,
    asked_language,
    clicked_here,
    current_language,
    gettext,
    just_chosen_language,
    keep_language_cookie,
    long_date,
    ngettext,
    policy_name,
    said,
    said_all,
    use_language,
)
from web.listing import waiting_count
from web.presenting import role_name, when
from web.sessions import current_session

SERVICE_NAME = N_("Safeguarding escalations")
SESSION_COOKIE = "escalations_session"
# More choices than this are a long list: a searchable select rather than radios (GOV.UK's radios
# are for a short list; a partnership has hundreds of agencies).
SHORT_LIST_AT_MOST = 12
# Before sign-in there is no session to hold a CSRF token: the confirm form carries one that
# must match this cookie's (double submit).
SIGN_IN_CSRF_COOKIE = "escalations_sign_in_csrf"

templates = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(TEMPLATES),
            PrefixLoader({"govuk_frontend_jinja": FileSystemLoader(GOVUK_TEMPLATES)}),
        ]
    ),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
templates.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]


def _choice_items(
    choices: list[tuple[str, str]] | list[str], selected: str | None, marked: str = "checked"
) -> list[dict[str, Any]]:
    """GOV.UK radios' items (the chosen one `checked`), or a select's (`marked="selected"`),
    from (value, text) pairs or from names that are both."""
    pairs = [(c, c) if isinstance(c, str) else c for c in choices]
    return [{"value": value, "text": text, marked: value == selected} for value, text in pairs]


def _searchable(choices: Sized) -> dict[str, str]:
    """A long list's select attributes: static/init.js makes it GOV.UK's accessible
    autocomplete, saying these words (with {name} placeholders) in the page's language."""
    if len(choices) <= SHORT_LIST_AT_MOST:
        return {}
    return {
        "data-module": "app-autocomplete",
        "data-no-results": gettext("No results found"),
        "data-assistive-hint": gettext(
            "When results are available, use the up and down arrows to review them and Enter "
            "to choose one. On a touch device, explore by touch or with swipe gestures."
        ),
        "data-query-too-short": gettext("Type %(count)s or more characters for results")
        % {"count": "{count}"},
        "data-status-no-results": gettext("No search results"),
        "data-status-selected": gettext("%(option)s, %(position)s of %(total)s, is highlighted")
        % {"option": "{option}", "position": "{position}", "total": "{total}"},
        "data-status-results": gettext("Results available: %(count)s.") % {"count": "{count}"},
    }


def _long_date(day: str | date) -> str:
    return long_date(date.fromisoformat(day) if isinstance(day, str) else day)


def _language_links(request: Request) -> list[dict[str, Any]]:
    """The header's "English | Cymraeg": this page's address in each language."""
    here = current_language()
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [
        {
            "code": code,
            "name": NAMES[code],
            "current": code == here,
            "href": request.url.path + "?" + urlencode([*query, ("lang", code)]),
        }
        for code in LANGUAGES
    ]


templates.globals["choice_items"] = _choice_items
templates.globals["searchable"] = _searchable
templates.globals["role_name"] = role_name
templates.globals["policy_name"] = policy_name
templates.globals["when"] = when
templates.globals["said_all"] = said_all
templates.filters["long_date"] = _long_date


class PageError(Exception):
    """A refusal shown as a page: its status, heading and what to do next."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        may_request_access: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.title, self.message, self.headers = status, title, message, headers
        # Someone the directory lacks: the page offers /request-access.
        self.may_request_access = may_request_access


class SignInNeeded(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and their session (an Actor for casework: name, agency, role)."""

    person: Person
    session: PersonSession
    # How many escalations wait on this person, for the navigation ("Your escalations (3)").
    waiting: int | None = None

    @property
    def name(self) -> str:
        return self.person.name

    @property
    def agency(self) -> str:
        return self.person.agency

    @property
    def role(self) -> str:
        return self.person.role


async def other_agencies(db: AsyncSession, viewer: Viewer) -> list[str]:
    """The directory's agencies (read now: a change counts at once), but the viewer's own."""
    return [name for name in await agency_names(db) if name != viewer.agency]


async def signed_in_viewer(request: Request, db: AsyncSession) -> Viewer | None:
    """The person this browser's session cookie belongs to, if it is live, and the page in
    their language. Writes nothing (the error pages and the codec look people up too)."""
    session = await current_session(db, request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        return None
    # Read on every request: a person deactivated a moment ago is signed out by now.
    person = await find_active_person(db, session.email, session.provider_role)
    if person is None:
        return None
    # The directory's language decides, but on the page that asks for one: they are the same
    # after a switch (_keep_switched_language), and the cookie follows, so the page after
    # sign-out is in it too. "both" (a shared mailbox): the browser's.
    chosen = asked_language(request) or chosen_language(person.language)
    if chosen is not None:
        use_language(chosen)
        keep_language_cookie(request, chosen)
    return Viewer(person=person, session=session)


async def _keep_switched_language(request: Request, db: AsyncSession, viewer: Viewer) -> Viewer:
    """A page's step, and the one place a signed-in click on the switch is written: the
    language clicked on a page of ours (clicked_here) becomes the person's in the directory. A
    link from elsewhere only shows the page in it; a shared mailbox keeps "both"
    (choose_language)."""
    asked = asked_language(request)
    if asked is None or asked == viewer.person.language:
        return viewer
    if not clicked_here(request.method, request.headers):
        return viewer
    if not await choose_language(db, viewer.person.email, asked, label(viewer.person)):
        return viewer
    return replace(viewer, person=replace(viewer.person, language=asked))


async def adopt_language_just_chosen(request: Request, db: AsyncSession, person: Person) -> None:
    """At sign-in: a language chosen on the switch just before (this hour, in this browser) is
    the person's from now on, written to the directory as a switch after sign-in is."""
    chosen = just_chosen_language(request)
    if chosen is not None:
        await choose_language(db, person.email, chosen, label(person))


async def _maybe_viewer(request: Request, db: SessionDep) -> Viewer | None:
    """The signed-in person of a page (MaybeViewerDep, ViewerDep), their switch kept."""
    viewer = await signed_in_viewer(request, db)
    if viewer is None:
        return None
    return await _keep_switched_language(request, db, viewer)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _viewer(
    request: Request, viewer: Annotated[Viewer | None, Depends(_maybe_viewer)], db: SessionDep
) -> Viewer:
    if viewer is not None:
        return replace(viewer, waiting=await waiting_count(db, viewer.person, utc_now()))
    if request.method != "GET":
        raise PageError(
            401,
            N_("You need to sign in again"),
            N_(
                "You are not signed in, or your session has ended. Nothing was changed. "
                "Sign in and try again."
            ),
        )
    raise SignInNeeded(_here(request))


MaybeViewerDep = Annotated[Viewer | None, Depends(_maybe_viewer)]
ViewerDep = Annotated[Viewer, Depends(_viewer)]

# GOV.UK's title for a page that cannot be served because of a fault of ours.
SORRY = N_("Sorry, there is a problem with the service")
FORM_REFUSED = N_(
    "This form could not be sent because it did not come from this service's page (its security "
    "token is missing or out of date). Nothing was changed. Go back, reload the page and try again."
)


def refusal_text(problem: ProblemError) -> str:
    """What a refusal from casework says, in the page's language (its `detail` is the API's
    English: a refusal with no `said` has no words of its own for the pages)."""
    return said(problem.said) if problem.said is not None else problem.detail


def same_origin(request: Request) -> bool:
    """A browser's Origin header, when it sends one, names this service."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    public = urlsplit(settings_of(request).public_url)
    sent = urlsplit(origin)
    return (sent.scheme, sent.netloc) == (public.scheme, public.netloc) or (
        sent.netloc == request.headers.get("host")
    )


def check_csrf(request: Request, form: Any, expected: str) -> None:
    """Refuses a POST whose token is not this session's, or that comes from another site."""
    sent = form.get("csrf_token")
    if (
        not isinstance(sent, str)
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
        or not same_origin(request)
    ):
        raise PageError(403, N_("Your form could not be sent"), FORM_REFUSED)


def safe_next(value: str | None) -> str:
    """A path on this service to go on to after sign-in; anything else goes home."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(char) < 32 for char in value) or urlsplit(value).netloc:
        return "/"
    return value[:500]


def secure_cookies(request: Request) -> bool:
    return settings_of(request).public_url.startswith("https://")


def render(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    title = context.pop("title", None)
    if title is not None:  # a catalogue message (N_), or a title already translated
        context["title"] = gettext(title)
    page = templates.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=viewer.session.csrf_token if viewer else "",
        service_name=gettext(SERVICE_NAME),
        path=request.url.path,
        htmlLang=current_language(),
        languages=_language_links(request),
        **context,
    )
    return HTMLResponse(page, status_code=status)
