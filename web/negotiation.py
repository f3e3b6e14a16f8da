"""One address for people and systems: /escalations/{id} is a page for a browser and JSON for
the API's clients. A browser asks for text/html and sends no Authorization header; anything else
is not matched by the page's route and goes on to the API's."""

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


def wants_page(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept", b"").decode("latin-1").lower()
    return b"authorization" not in headers and "text/html" in accept


class BrowserRoute(APIRoute):
    """A route that only browsers reach."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not wants_page(scope):
            return Match.NONE, {}
        return super().matches(scope)
