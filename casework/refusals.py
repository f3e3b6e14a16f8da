"""Refusals: what casework answers when it will not do what was asked, with the fields named.

The API turns them into RFC 9457 problems, the pages into a GOV.UK error summary.
"""

from pydantic import BaseModel


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemError(Exception):
    """An answer other than success: its HTTP status, a sentence, and the fields at fault."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers


UNAVAILABLE = "The escalation service is unavailable; try again."
