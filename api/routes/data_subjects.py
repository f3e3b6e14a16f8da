"""/subject-access: everything held about one child, for the partnership (board keys)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep
from api.problems import PROBLEM_RESPONSES
from casework.dependencies import SessionDep
from casework.subject_access import SubjectAccessBundle, SubjectAccessQuery, subject_access
from workflows.action_requests import NO_NUL

router = APIRouter(tags=["subject access"], responses=PROBLEM_RESPONSES)


@router.get("/subject-access", response_model=SubjectAccessBundle)
async def subject_access_bundle(
    caller: CallerDep,
    db: SessionDep,
    child_reference: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=NO_NUL)
    ] = None,
    child_name: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    child_date_of_birth: date | None = None,
) -> SubjectAccessBundle:
    """Every escalation about one child (by reference, also one corrected since; or by name and
    date of birth) with its case details, timeline, corrections and who was told. The
    partnership only; the reading is recorded on each escalation (who has viewed the record)."""
    query = SubjectAccessQuery(
        child_reference=child_reference,
        child_name=child_name,
        child_date_of_birth=child_date_of_birth,
    )
    return await subject_access(db, caller, query)
