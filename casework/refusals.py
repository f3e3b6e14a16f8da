"""Refusals: what casework answers when it will not do what was asked, with the fields named.

The API turns them into RFC 9457 problems, the pages into a GOV.UK error summary.
"""

from typing import Any

from pydantic import BaseModel

from core.text import Said


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemError(Exception):
    """An answer other than success: its HTTP status, a sentence, and the fields at fault.

    The sentence given as `Said` is the API's `detail` in English and the pages' in their
    language; `said` may also say, for the pages, what an English `detail` from the workflow
    says. `code` is the workflow's error type (workflows/rules.py), when it refused, and
    `values` what it decided on (what a receipt keeps to say it again)."""

    def __init__(
        self,
        status: int,
        detail: str | Said,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        said: Said | None = None,
        code: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.status, self.detail, self.errors, self.headers = status, str(detail), errors, headers
        self.said = said or (detail if isinstance(detail, Said) else None)
        self.code, self.values = code, values


UNAVAILABLE = "The escalation service is unavailable; try again."
