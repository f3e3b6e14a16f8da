"""The pages' languages: English and Welsh (Cymraeg), from gettext catalogues.

The service's own words go through `gettext` (`_` in templates and here); free text stays as
people wrote it, and machine formats (API problem details, CSV headers and codes) stay English.
The catalogues are `web/translations/<language>/LC_MESSAGES/messages.po`, kept with
`make translations` (pybabel extract, update, compile); the service compiles them in memory at
start, so no .mo file is built or committed.

A request's language: `?lang=cy` (or `en`), remembered in a cookie; else the cookie; else the
browser's Accept-Language; else English.
"""

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import parse_qs

from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.calendar import LONDON
from core.text import N_

__all__ = ["N_"]

Language = Literal["en", "cy"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT: Language = "en"
# What the header's switch shows for each language, in that language.
NAMES: dict[Language, str] = {"en": "English", "cy": "Cymraeg"}
LANGUAGE_COOKIE = "escalations_language"
ONE_YEAR = 365 * 24 * 3600
CATALOGUES = Path(__file__).resolve().parent / "translations"

_current: ContextVar[Language] = ContextVar("language", default=DEFAULT)


@cache
def translations(language: Language) -> Translations:
    """The language's catalogue, compiled from its .po file once per process."""
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def current_language() -> Language:
    return _current.get()


def use_language(language: Language) -> None:
    """Sets the language of what this request (or mail) says from here on."""
    _current.set(language)


def gettext(message: str) -> str:
    # Never the empty message: gettext("") is the catalogue's header.
    return translations(_current.get()).ugettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)


def long_date(day: date) -> str:
    """ "30 November 2026", "30 Tachwedd 2026"."""
    return format_date(day, "d MMMM y", locale=_current.get())


def moment_text(moment: datetime) -> str:
    """A time as people read it, in London time: "Mon 30 Nov 2026 17:00", "Llun 30 Tach 2026
    17:00"."""
    return format_datetime(moment, "EEE d MMM y HH:mm", tzinfo=LONDON, locale=_current.get())


def month_and_year(day: date) -> str:
    """ "November 2026", "Tachwedd 2026"."""
    return format_date(day, "MMMM y", locale=_current.get())


def short_month(day: date) -> str:
    """ "Nov", "Tach": a chart's axis."""
    return format_date(day, "MMM", locale=_current.get())


def number_text(value: float) -> str:
    return format_decimal(value, locale=_current.get())


def chosen(value: str | None) -> Language | None:
    return next((language for language in LANGUAGES if language == value), None)


def from_accept_language(header: str) -> Language | None:
    """The first of the browser's languages (by its q weights) the service speaks."""
    weighted: list[tuple[float, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            weighted.append((-weight + position * 1e-6, tag.replace("-", "_")))
    preferred = [tag for _, tag in sorted(weighted)]
    return chosen(negotiate_locale(preferred, list(LANGUAGES), sep="_"))


def request_language(
    query: Mapping[str, list[str]], cookies: Mapping[str, str], accept_language: str
) -> Language:
    return (
        chosen((query.get("lang") or [""])[0])
        or chosen(cookies.get(LANGUAGE_COOKIE))
        or from_accept_language(accept_language)
        or DEFAULT
    )


class LanguageOfRequest:
    """Sets each request's language; `?lang=` also sets the cookie that remembers it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        cookies = cookie_parser(headers.get("cookie", ""))
        language = request_language(query, cookies, headers.get("accept-language", ""))
        use_language(language)
        asked = chosen((query.get("lang") or [""])[0])

        async def remember(message: Message) -> None:
            if asked and message["type"] == "http.response.start":
                response = MutableHeaders(scope=message)
                if response.get("content-type", "").startswith("text/html"):
                    public_url: str = scope["app"].state.settings.public_url
                    secure = "; Secure" if public_url.startswith("https://") else ""
                    response.append(
                        "set-cookie",
                        f"{LANGUAGE_COOKIE}={asked}; Max-Age={ONE_YEAR}; Path=/; "
                        f"HttpOnly; SameSite=Lax{secure}",
                    )
            await send(message)

        await self.app(scope, receive, remember)
