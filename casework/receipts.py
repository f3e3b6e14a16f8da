"""Idempotent actions: a receipt per (agency, Idempotency-Key) says what the action was and, once
known, its answer. A repeat gets that answer and no second effect; the same key for another
escalation, action or body is refused (422).

Receipts are written in a session of their own, so a lost race (two requests with one key at
once) never rolls back, and so never expires, the request's own objects.
"""

import hashlib
from typing import Any

import pydantic_core
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.refusals import FieldProblem, ProblemError
from database.tables import ActionReceipt, utc_now

REPLAYED = {"Idempotent-Replayed": "true"}


def request_digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(pydantic_core.to_json(fields)).hexdigest()


def _same_request(receipt: ActionReceipt, escalation_id: str, action: str, digest: str) -> None:
    differs = (
        "escalation"
        if receipt.escalation_id != escalation_id
        else "action"
        if receipt.action != action
        else "body"
        if receipt.request_hash != digest
        else None
    )
    if differs:
        raise ProblemError(
            422,
            f"This Idempotency-Key was used for a different {differs}.",
            errors=[
                FieldProblem(field="Idempotency-Key", message=f"reused with another {differs}")
            ],
        )


async def _find(engine: AsyncEngine, agency: str, key: str) -> ActionReceipt | None:
    async with AsyncSession(engine, expire_on_commit=False) as db:
        query = select(ActionReceipt).where(
            ActionReceipt.agency == agency, ActionReceipt.idempotency_key == key
        )
        return (await db.exec(query)).first()


async def claim(
    engine: AsyncEngine, agency: str, key: str, escalation_id: str, action: str, digest: str
) -> tuple[ActionReceipt, bool]:
    """This request's receipt and whether it is new: the one already there for the key
    (checked to be for the same request), or a new one, still without an answer."""
    existing = await _find(engine, agency, key)
    if existing is None:
        receipt = ActionReceipt(
            agency=agency,
            idempotency_key=key,
            escalation_id=escalation_id,
            action=action,
            request_hash=digest,
            created_at=utc_now(),
        )
        try:
            async with AsyncSession(engine, expire_on_commit=False) as db:
                db.add(receipt)
                await db.commit()
            return receipt, True
        except IntegrityError:  # the same key, at the same moment: the other one won
            existing = await _find(engine, agency, key)
            if existing is None:
                raise
    _same_request(existing, escalation_id, action, digest)
    return existing, False


def replay(receipt: ActionReceipt) -> None:
    """A refusal answered before is answered again; a success returns (the caller reads the
    record as it now stands)."""
    assert receipt.status_code is not None
    if receipt.status_code >= 400:
        refusal = receipt.refusal or {}
        raise ProblemError(
            receipt.status_code,
            receipt.detail or "",
            headers=REPLAYED,
            code=refusal.get("code"),
            values=refusal.get("values"),
        )


async def answered(
    engine: AsyncEngine,
    receipt: ActionReceipt,
    status: int,
    detail: str | None = None,
    code: str | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    """The key's answer; for the workflow's refusal, its code and values too."""
    async with AsyncSession(engine, expire_on_commit=False) as db:
        receipt.status_code, receipt.detail = status, detail
        if code is not None:
            receipt.refusal = {"code": code, "values": values or {}}
        db.add(receipt)
        await db.commit()


async def forget(engine: AsyncEngine, receipt: ActionReceipt) -> None:
    """The action was not applied and never will be: the key is free for a retry."""
    async with AsyncSession(engine) as db:
        await db.exec(delete(ActionReceipt).where(col(ActionReceipt.id) == receipt.id))
        await db.commit()
