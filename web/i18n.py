"""The pages' language: `?lang=cy` (or `en`), remembered in a cookie; else the cookie; else
the signed-in person's language in the directory; else the browser's Accept-Language; else
English. The header's switch ("English | Cymraeg") links to the same page in the other language.
"""

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs

from babel.core import negotiate_locale
from starlette.datastructures import MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.languages import (
    DEFAULT,
    LANGUAGES,
    N_,
    Language,
    Said,
    chosen_language,
    current_language,
    gettext,
    long_date,
    moment_text,
    month_and_year,
    ngettext,
    number_text,
    said,
    short_month,
    use_language,
)

__all__ = [
    "LANGUAGES",
    "N_",
    "Language",
    "Said",
    "current_language",
    "gettext",
    "long_date",
    "moment_text",
    "month_and_year",
    "ngettext",
    "number_text",
    "said",
    "said_all",
    "short_month",
    "translated",
    "use_language",
]


def said_all(reasons: Iterable[Said | str]) -> str:
    """Several faults of one row, in the page's language: "a; b"."""
    return "; ".join(said(reason) for reason in reasons)


def translated(words: Mapping[str, str]) -> dict[str, str]:
    """A table of catalogue messages (N_), by key, in the page's language."""
    return {key: gettext(word) for key, word in words.items()}


# What the header's switch shows for each language, in that language.
NAMES: dict[Language, str] = {"en": "English", "cy": "Cymraeg"}
LANGUAGE_COOKIE = "escalations_language"
ONE_YEAR = 365 * 24 * 3600


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
    return chosen_language(negotiate_locale(preferred, list(LANGUAGES), sep="_"))


def browser_chose_language(request: Request) -> bool:
    """`?lang=` or the cookie: the browser's choice, before the person's in the directory."""
    return bool(
        chosen_language(request.query_params.get("lang"))
        or chosen_language(request.cookies.get(LANGUAGE_COOKIE))
    )


def request_language(
    query: Mapping[str, list[str]], cookies: Mapping[str, str], accept_language: str
) -> Language:
    return (
        chosen_language((query.get("lang") or [""])[0])
        or chosen_language(cookies.get(LANGUAGE_COOKIE))
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
        asked = chosen_language((query.get("lang") or [""])[0])

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
