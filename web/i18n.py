"""The pages' language: `?lang=cy` (or `en`), remembered in a cookie (and, when a signed-in
person clicks it on a page of ours, in the directory: web/page_context.py); else the signed-in
person's language in the directory; else the cookie; else the browser's Accept-Language; else
English. The header's switch ("English | Cymraeg") links to the same page in the other
language. The cookie follows the signed-in person's language, so the pages read the same after
sign-out.
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
    policy_name,
    said,
    short_month,
    use_language,
    use_policy_names,
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
    "policy_name",
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
# Set with the language cookie by a click on the switch only (clicked_here), for an hour: a
# choice made "just now", which a sign-in makes the person's own (web/page_context.py), and no
# older one (a shared computer).
CHOSEN_COOKIE = "escalations_language_chosen"
JUST_NOW = 3600


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


def asked_language(request: Request) -> Language | None:
    """The language `?lang=` asks for (the switch), if any."""
    return chosen_language(request.query_params.get("lang"))


# What a browser says of a page it fetches ahead of a click (`Sec-Purpose`, or `Purpose` in
# older ones): no one chose it.
AHEAD_OF_A_CLICK = ("prefetch", "prerender")


def clicked_here(method: str, headers: Mapping[str, str]) -> bool:
    """A GET the browser marks as coming from this service's own page (`Sec-Fetch-Site:
    same-origin`, as a click on the switch is), not one fetched ahead of a click: the only
    request that chooses a language for the person. A link opened from a mail, a chat or another
    site, a typed address (`none`, `cross-site`, `same-site`) or a browser that says nothing
    only shows the page in the language asked for. `headers`: lower-case names."""
    if method != "GET" or headers.get("sec-fetch-site") != "same-origin":
        return False
    purpose = f"{headers.get('sec-purpose', '')} {headers.get('purpose', '')}".lower()
    return not any(word in purpose for word in AHEAD_OF_A_CLICK)


def just_chosen_language(request: Request) -> Language | None:
    """The language this browser chose on the switch in the last hour, if it did."""
    if not request.cookies.get(CHOSEN_COOKIE):
        return None
    return chosen_language(request.cookies.get(LANGUAGE_COOKIE))


def keep_language_cookie(request: Request, language: Language) -> None:
    """The response's cookie will remember `language` (if the browser's differs)."""
    if request.cookies.get(LANGUAGE_COOKIE) != language:
        request.state.remembered_language = language


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
        use_policy_names(getattr(scope["app"].state, "policy_names", {}))
        asked = chosen_language((query.get("lang") or [""])[0])

        async def remember(message: Message) -> None:
            # A signed-in person's page may have a language to keep (keep_language_cookie).
            kept = scope.get("state", {}).get("remembered_language") or asked
            if kept and message["type"] == "http.response.start":
                response = MutableHeaders(scope=message)
                if response.get("content-type", "").startswith("text/html"):
                    public_url: str = scope["app"].state.settings.public_url
                    secure = "; Secure" if public_url.startswith("https://") else ""
                    kept_for = [(LANGUAGE_COOKIE, kept, ONE_YEAR)]
                    if asked and clicked_here(scope["method"], headers):
                        kept_for.append((CHOSEN_COOKIE, "1", JUST_NOW))
                    for name, value, seconds in kept_for:
                        response.append(
                            "set-cookie",
                            f"{name}={value}; Max-Age={seconds}; Path=/; "
                            f"HttpOnly; SameSite=Lax{secure}",
                        )
            await send(message)

        await self.app(scope, receive, remember)
