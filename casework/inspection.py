"""The inspector's export, for the partnership: every audit chain active in a period, whole,
with its head signed by the partnership's key (database/audit_export.py verifies it)."""

from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor, label
from casework.oversight import check_period
from casework.oversight_figures import utc_midnight
from casework.refusals import ProblemError
from core.text import N_, Said
from database.access_log import record_accesses
from database.audit_export import chains_active_between, signed_export
from database.tables import utc_now


def export_filename(start: date, end: date) -> str:
    return f"audit-export-{start.isoformat()}-to-{end.isoformat()}.json"


async def audit_export(
    db: AsyncSession,
    viewer: Actor,
    start: date,
    end: date,
    *,
    key: Ed25519PrivateKey,
    partnership: str,
) -> dict[str, Any]:
    """The signed export of the chains with an event from `start` to `end` (London dates,
    inclusive); its reading is recorded on each escalation it holds."""
    if viewer.role != "board":
        raise ProblemError(403, Said(N_("Only the partnership exports the audit trail.")))
    check_period(start, end)
    chains = await chains_active_between(
        db, utc_midnight(start), utc_midnight(end + timedelta(days=1))
    )
    document = signed_export(
        chains,
        key,
        partnership=partnership,
        **{"from": start.isoformat(), "to": end.isoformat()},
        exported_at=utc_now().isoformat(),
        exported_by=label(viewer),
    )
    await record_accesses(db, actor=label(viewer), purpose="export", escalation_ids=list(chains))
    return document
