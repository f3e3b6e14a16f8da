"""One error shape for every answer that is not a success: RFC 9457 problem details.

`{"type": "about:blank", "title": "Unprocessable Content", "status": 422, "detail": "...",
  "errors": [{"field": "summary", "message": "..."}]}` served as application/problem+json.
"""

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.refusals import UNAVAILABLE, FieldProblem, ProblemError
from web.negotiation import wants_page
from web.pages import sorry_page

log = structlog.get_logger(__name__)
MEDIA_TYPE = "application/problem+json"
__all__ = ["FieldProblem", "ProblemError", "install", "problem_response"]


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None


def problem_response(
    status: int,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem_response(400, "The body is not valid JSON.")
    problems = [FieldProblem(field=_field(tuple(err["loc"])), message=err["msg"]) for err in errors]
    fields = ", ".join(dict.fromkeys(p.field for p in problems))
    return problem_response(422, f"Invalid fields: {fields}", problems)


def _http_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


def _app_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, exc.errors, exc.headers)


def _too_deep(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(400, "The body is nested too deeply.")


def _database_unavailable(request: Request, exc: Exception) -> Response:
    # Unreachable, locked, or privileges revoked. The error's text can quote the statement's
    # parameters (child data), so only its class is logged.
    log.error("database unavailable", error=type(exc).__name__)
    if wants_page(request.scope):  # a person's browser: the GOV.UK page, never JSON
        return sorry_page(request)
    return problem_response(503, UNAVAILABLE, headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(ProblemError, _app_problem)
    app.add_exception_handler(RecursionError, _too_deep)
    # DBAPIError covers OperationalError, InterfaceError and the rest the driver raises.
    for database_error in (DBAPIError, PoolTimeout):
        app.add_exception_handler(database_error, _database_unavailable)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_media_type(generate())
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def _document_media_type(document: dict[str, Any]) -> None:
    """FastAPI files a response model under application/json; problems are never sent as that."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if MEDIA_TYPE in content and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")


# Documented on every route that can fail, so the OpenAPI document names the error shape (413
# too: api/body_limit.py answers an oversize body as a problem, announced or streamed).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "content": {MEDIA_TYPE: {}},
        "description": HTTPStatus(status).phrase,
    }
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
