"""The record as people read it: the texts sealed with the escalation's key opened
(database/case_cipher.py), or "[erased]" once retention has destroyed the key.

Each answer is a copy outside the session, so nothing opened is ever written back."""

from collections.abc import Iterable, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.correcting import corrections
from database.audit_chain import timeline
from database.case_cipher import opened_row, unlock_all
from database.tables import AuditEvent, CaseCorrection, CaseKey, Escalation


async def case_keys(db: AsyncSession, escalation_ids: Iterable[str]) -> dict[str, CaseKey]:
    ids = set(escalation_ids)
    if not ids:
        return {}
    rows = await db.exec(select(CaseKey).where(col(CaseKey.escalation_id).in_(ids)))
    return {key.escalation_id: key for key in rows.all()}


async def readable(db: AsyncSession, row: Escalation) -> Escalation:
    return opened_row(row, await db.get(CaseKey, row.id))


async def readable_rows(db: AsyncSession, rows: Sequence[Escalation]) -> list[Escalation]:
    keys = await case_keys(db, (row.id for row in rows))
    return [opened_row(row, keys.get(row.id)) for row in rows]


def opened_events(events: Sequence[AuditEvent], keys: dict[str, CaseKey]) -> list[AuditEvent]:
    opened = []
    for event in events:
        copy = AuditEvent.model_validate(event.model_dump())
        copy.details = unlock_all(keys, event.details)
        opened.append(copy)
    return opened


async def readable_corrections(db: AsyncSession, escalation_id: str) -> list[CaseCorrection]:
    """The escalation's corrections, oldest first, their values and reasons opened."""
    keys = await case_keys(db, [escalation_id])
    opened = []
    for correction in await corrections(db, escalation_id):
        copy = CaseCorrection.model_validate(correction.model_dump())
        copy.previous_value = unlock_all(keys, correction.previous_value)
        copy.value = unlock_all(keys, correction.value)
        copy.reason = unlock_all(keys, correction.reason)
        opened.append(copy)
    return opened


async def readable_timeline(db: AsyncSession, escalation_id: str) -> list[AuditEvent]:
    """The escalation's events, oldest first, their texts opened."""
    return opened_events(await timeline(db, escalation_id), await case_keys(db, [escalation_id]))
