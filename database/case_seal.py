"""The case details sealed into the audit chain with the escalation's own key.

The `raised` event holds a keyed hash (HMAC-SHA256) of each case detail, a `corrected` event
the hash of the value it sets; `verify-audit` hashes the record's current values and names any
detail that differs. A keyed hash, not a plain one: a plain hash of a reference or a date of
birth would let anyone who guesses the value confirm it.
"""

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any, Literal, get_args

from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import AuditEvent, CaseKey, Escalation, utc_now

# The raise's case details, in the order the record shows them; a correction names one.
CaseField = Literal[
    "child_reference",
    "child_name",
    "child_date_of_birth",
    "summary",
    "category",
    "decision_disputed",
    "desired_outcome",
    "risk_reason",
]
CASE_FIELDS: tuple[CaseField, ...] = get_args(CaseField)
# What erasure clears. The category stays: the oversight report counts by it (a short
# classification, not the story).
ERASED_FIELDS = tuple(field for field in CASE_FIELDS if field != "category")
SEALS = "sealed"


def new_case_key(escalation_id: str) -> CaseKey:
    return CaseKey(
        escalation_id=escalation_id,
        secret=base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        created_at=utc_now(),
    )


def plain(value: Any) -> Any:
    """A case detail as JSON holds it (a date as its ISO text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def seal(key: CaseKey, field: str, value: Any) -> str:
    message = json.dumps([field, plain(value)], ensure_ascii=False, separators=(",", ":"))
    secret = base64.b64decode(key.secret)
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def case_seals(key: CaseKey, row: Escalation) -> dict[str, str]:
    return {field: seal(key, field, getattr(row, field)) for field in CASE_FIELDS}


async def raise_seals(db: AsyncSession, escalation_id: str) -> dict[str, Any]:
    """What the `raised` event adds to its details: the seals of the case as raised (none for a
    record raised before case keys, or without its case in this database)."""
    key = await db.get(CaseKey, escalation_id)
    row = await db.get(Escalation, escalation_id)
    if key is None or row is None:
        return {}
    return {SEALS: case_seals(key, row)}


def case_drift(row: Escalation, key: CaseKey | None, events: Sequence[AuditEvent]) -> list[str]:
    """The case details that differ from the seals on their trail (names only: the values are
    about a child); empty when they agree or the record was raised before seals."""
    if any(event.action == "erased" for event in events):
        # Erased under the retention rule: the key is destroyed and the details gone.
        held = [f for f in ERASED_FIELDS if getattr(row, f) is not None]
        if key is not None or held:
            return ["erased, but its case key or case details are still held"]
        return []
    sealed: dict[str, str] = {}
    for event in events:
        seals = event.details.get(SEALS)
        if event.action == "raised" and isinstance(seals, dict):
            sealed |= seals
        elif event.action == "corrected" and isinstance(seals, str):
            sealed[str(event.details.get("field"))] = seals
    if not sealed:
        return []
    if key is None:
        return ["the case key is missing: its case details cannot be checked"]
    return [
        f"{field} on the record differs from its sealed case details"
        for field in CASE_FIELDS
        if sealed.get(field) != seal(key, field, getattr(row, field))
    ]
