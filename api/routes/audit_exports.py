"""/audit-export: the inspector's export of the audit trail, for the partnership (board keys)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import CallerDep
from api.problems import PROBLEM_RESPONSES, ProblemError
from casework.dependencies import SessionDep, SettingsDep
from casework.inspection import audit_export, export_filename
from core.export_signing import SigningKeyError, signing_key
from database.directory_people import partnership_name

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES)


@router.get("/audit-export", response_model=dict[str, Any])
async def export_audit_trail(
    caller: CallerDep,
    db: SessionDep,
    settings: SettingsDep,
    start: Annotated[date, Query(alias="from", description="First day, London date.")],
    end: Annotated[date, Query(alias="to", description="Last day (inclusive), London date.")],
) -> JSONResponse:
    """Every escalation's whole audit chain with an event in the period, its head signed with
    the partnership's Ed25519 key; check it with `python -m api verify-export FILE
    --public-key KEY`. The partnership only; the export is recorded on each escalation."""
    try:
        key = signing_key(settings.export_signing_key_file)
    except SigningKeyError as exc:
        raise ProblemError(503, "The partnership's signing key cannot be used.") from exc
    document = await audit_export(
        db,
        caller,
        start,
        end,
        key=key,
        partnership=await partnership_name(db),
    )
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(start, end)}"',
            "Cache-Control": "no-store",
        },
    )
