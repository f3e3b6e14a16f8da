"""The inspector's export: whole audit chains with a signed head, and their verifier.

The head lists each escalation's chain by its number of events and its newest hash; the
partnership signs it (Ed25519). The verifier needs only the file and the public key: it
recomputes every chain from its genesis, so an edited event breaks its chain, a removed one
breaks the link after it, and events cut from the end (or a whole chain dropped) no longer
match the signed head.
"""

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.audit_chain import chain_breaks
from database.tables import AuditEvent

FORMAT = "escalation-audit-export/1"
SIGNED = ("format", "partnership", "from", "to", "exported_at", "exported_by", "heads")
_FIELDS = ("id", "event_key", "escalation_id", "action", "actor", "stage", "details")


async def chains_active_between(
    db: AsyncSession, start: datetime, end: datetime
) -> dict[str, list[AuditEvent]]:
    """The whole chain, genesis to newest, of every escalation with an event in [start, end)."""
    active = (
        select(AuditEvent.escalation_id)
        .where(col(AuditEvent.at) >= start, col(AuditEvent.at) < end)
        .distinct()
    )
    rows = await db.exec(
        select(AuditEvent)
        .where(col(AuditEvent.escalation_id).in_(active))
        .order_by(col(AuditEvent.escalation_id), col(AuditEvent.id))
    )
    chains: dict[str, list[AuditEvent]] = {}
    for event in rows.all():
        chains.setdefault(event.escalation_id, []).append(event)
    return chains


def event_record(event: AuditEvent) -> dict[str, Any]:
    return {
        **{name: getattr(event, name) for name in _FIELDS},
        "at": event.at.astimezone(UTC).isoformat(),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _canonical(document: dict[str, Any]) -> bytes:
    signed = {name: document[name] for name in SIGNED}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_export(
    chains: dict[str, list[AuditEvent]], key: Ed25519PrivateKey, **about: str
) -> dict[str, Any]:
    """The export document: `about` gives partnership, from, to, exported_at and exported_by."""
    document: dict[str, Any] = {
        "format": FORMAT,
        **about,
        "heads": {
            escalation: {"events": len(events), "head": events[-1].hash}
            for escalation, events in chains.items()
        },
        "chains": {
            escalation: [event_record(event) for event in events]
            for escalation, events in chains.items()
        },
    }
    document["signature"] = base64.b64encode(key.sign(_canonical(document))).decode("ascii")
    return document


def _event(record: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        **{name: record[name] for name in _FIELDS},
        at=datetime.fromisoformat(record["at"]),
        prev_hash=record["prev_hash"],
        hash=record["hash"],
    )


class ExportFormatError(ValueError):
    """The file is not an audit export this verifier reads."""


def export_problems(document: dict[str, Any], public_key: Ed25519PublicKey) -> list[str]:
    """Everything wrong with the export; empty when every chain is whole and signed."""
    try:
        if document.get("format") != FORMAT:
            raise ExportFormatError(f"not an audit export ({FORMAT})")
        signature = base64.b64decode(document["signature"], validate=True)
        heads: dict[str, dict[str, Any]] = document["heads"]
        chains: dict[str, Sequence[dict[str, Any]]] = document["chains"]
        problems = []
        try:
            public_key.verify(signature, _canonical(document))
        except InvalidSignature:
            problems.append(
                "the signature does not match the export's head: the head was altered, "
                "or it was signed with another key"
            )
        for escalation in sorted(set(heads) - set(chains)):
            problems.append(f"{escalation}: its chain is missing from the export")
        for escalation in sorted(set(chains) - set(heads)):
            problems.append(f"{escalation}: its chain is not in the signed head")
        for escalation in sorted(set(heads) & set(chains)):
            events = [_event(record) for record in chains[escalation]]
            problems += [f"{escalation}: {problem}" for problem in chain_breaks(events)]
            head = heads[escalation]
            if len(events) != head["events"] or (events and events[-1].hash != head["head"]):
                problems.append(
                    f"{escalation}: {len(events)} events, the signed head has "
                    f"{head['events']}: events were removed from or added to its end"
                )
        return problems
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ExportFormatError):
            raise
        raise ExportFormatError(f"not a readable audit export ({type(exc).__name__})") from None
