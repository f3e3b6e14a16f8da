"""A form page: 422 with a GOV.UK error summary linking to each field at fault, or 200."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.i18n import gettext
from web.page_context import Viewer, render


def form_page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    problems: dict[str, str],
    **context: Any,
) -> HTMLResponse:
    """`problems` by field id: the summary links to each, the fields show their own."""
    return render(
        request,
        template,
        viewer,
        status=422 if problems else 200,
        error_for=problems,
        errors=[{"text": text, "href": f"#{field}"} for field, text in problems.items()],
        **context,
    )


def done_banner(request: Request, banners: dict[str, str]) -> str | None:
    """The banner after a change (`?done=`), in the page's language."""
    done = banners.get(request.query_params.get("done", ""))
    return gettext(done) if done else None
