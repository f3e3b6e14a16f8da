"""Security headers on every page: a strict Content-Security-Policy and no framing.

Applied to HTML answers only; the API's JSON answers are left as they are. The interactive API
docs (/docs, /redoc) bring their own scripts and are left alone.
"""

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.assets import TEMPLATE_SCRIPT_HASH


def content_security_policy(form_targets: Sequence[str] = ()) -> str:
    """The pages' policy; forms may lead only here and to `form_targets` (origins)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {TEMPLATE_SCRIPT_HASH}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "frame-ancestors 'none'",
            " ".join(["form-action 'self'", *form_targets]),
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Sign-in links carry their token in the path: never pass a page's address to another site.
    # (same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on forms.)
    "Referrer-Policy": "same-origin",
    # Pages show what was written about children: no copies in shared caches or the back button.
    "Cache-Control": "no-store",
}
EXEMPT_PREFIXES = ("/docs", "/redoc")


class PageHeaders:
    def __init__(self, app: ASGIApp, form_targets: Sequence[str] = ()) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(form_targets),
            **PAGE_HEADERS,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in self.headers.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
