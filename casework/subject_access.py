"""A subject access request: every escalation about one child, for the partnership.

Found by the child's reference (as it stands, or as it was before a correction), or by name and
date of birth; the bundle holds each record with its case details, timeline, corrections and who
was told. Each download is recorded on every escalation it holds (who viewed the record).
"""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor, label
from casework.reading import case_keys, readable, readable_corrections, readable_timeline
from casework.refusals import FieldProblem, ProblemError
from casework.visibility import visible_to
from core.text import N_, Said, reference_key
from database.access_log import record_accesses
from database.case_cipher import unlock_all
from database.case_seal import CASE_FIELDS, SEALS
from database.tables import CaseCorrection, Delivery, Escalation, utc_now

PURPOSE = "subject access"


class SubjectAccessQuery(BaseModel):
    """Who the request is about: the child's reference, or name and date of birth."""

    child_reference: str | None = Field(default=None, min_length=1, max_length=100)
    child_name: str | None = Field(default=None, min_length=1, max_length=200)
    child_date_of_birth: date | None = None

    def problems(self) -> list[FieldProblem]:
        if self.child_reference or (self.child_name and self.child_date_of_birth):
            return []
        if self.child_name:
            return [FieldProblem(field="child_date_of_birth", message="give it with the name")]
        if self.child_date_of_birth:
            return [FieldProblem(field="child_name", message="give it with the date of birth")]
        return [FieldProblem(field="child_reference", message="or child_name and date of birth")]


class BundleEvent(BaseModel):
    action: str
    at: datetime
    actor: str
    stage: int
    details: dict[str, Any]


class BundleCorrection(BaseModel):
    field: str
    previous_value: Any
    value: Any
    reason: str
    corrected_by: str
    at: datetime


class BundleNotification(BaseModel):
    """Who was told: one message to one recipient and how its delivery went."""

    about: str
    recipient: str
    channel: str
    status: str
    at: datetime


class BundleEscalation(BaseModel):
    id: str
    status: str
    stage: int
    stage_name: str
    policy: str
    raising_agency: str
    receiving_agency: str
    raised_by: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    outcome: str | None
    agreed_actions: list[str]
    closing_reason: str | None
    case: dict[str, Any]
    timeline: list[BundleEvent]
    corrections: list[BundleCorrection]
    notifications: list[BundleNotification]


class SubjectAccessBundle(BaseModel):
    """Everything the service holds about one child, as the partnership hands it over."""

    request: SubjectAccessQuery
    generated_at: datetime
    generated_by: str
    escalations: list[BundleEscalation]


async def escalations_about(
    db: AsyncSession, viewer: Actor, query: SubjectAccessQuery
) -> list[Escalation]:
    """Every escalation about the child that `viewer` may see (casework/visibility.py: for the
    partnership, every recorded one), oldest first."""
    if query.child_reference:
        reference = reference_key(query.child_reference)
        # A reference corrected since: the request still finds the record under the old one.
        corrections = await db.exec(
            select(CaseCorrection).where(CaseCorrection.field == "child_reference")
        )
        found = corrections.all()
        keys = await case_keys(db, (c.escalation_id for c in found))
        corrected = [
            c.escalation_id
            for c in found
            if reference_key(str(unlock_all(keys, c.previous_value) or "")) == reference
        ]
        match = or_(
            col(Escalation.child_reference_key) == reference,
            col(Escalation.id).in_(corrected),
        )
    else:
        match = (func.lower(col(Escalation.child_name)) == (query.child_name or "").casefold()) & (
            col(Escalation.child_date_of_birth) == query.child_date_of_birth
        )
    rows = await db.exec(
        select(Escalation)
        .where(match, visible_to(viewer))
        .order_by(col(Escalation.created_at), col(Escalation.id))
    )
    return list(rows.all())


async def _entry(db: AsyncSession, row: Escalation) -> BundleEscalation:
    events = [
        BundleEvent(
            action=event.action,
            at=event.at,
            actor=event.actor,
            stage=event.stage,
            details={k: v for k, v in event.details.items() if k != SEALS},
        )
        for event in await readable_timeline(db, row.id)
        if event.action != "notified"
    ]
    corrections = await readable_corrections(db, row.id)
    deliveries = (
        await db.exec(
            select(Delivery).where(Delivery.escalation_id == row.id).order_by(col(Delivery.id))
        )
    ).all()
    row = await readable(db, row)
    return BundleEscalation.model_validate(
        {
            **row.model_dump(),
            "case": {field: getattr(row, field) for field in CASE_FIELDS},
            "timeline": events,
            "corrections": [c.model_dump() for c in corrections],
            "notifications": [
                {
                    "about": d.notification_key.removeprefix(f"{row.id}:"),
                    "recipient": d.recipient,
                    "channel": d.channel,
                    "status": d.status,
                    "at": d.updated_at,
                }
                for d in deliveries
            ],
        }
    )


async def subject_access(
    db: AsyncSession, viewer: Actor, query: SubjectAccessQuery, *, purpose: str = PURPOSE
) -> SubjectAccessBundle:
    """The bundle (the partnership only), its reading recorded on each escalation it holds."""
    if viewer.role != "board":
        raise ProblemError(403, Said(N_("Only the partnership answers subject access requests.")))
    problems = query.problems()
    if problems:
        raise ProblemError(422, Said(N_("Say who the request is about.")), errors=problems)
    rows = await escalations_about(db, viewer, query)
    bundle = SubjectAccessBundle(
        request=query,
        generated_at=utc_now(),
        generated_by=label(viewer),
        escalations=[await _entry(db, row) for row in rows],
    )
    await record_accesses(
        db, actor=label(viewer), purpose=purpose, escalation_ids=[row.id for row in rows]
    )
    return bundle
