"""The directory's own record: every change to an agency, person or system told, before and
after, hash-chained per subject like an escalation's trail.

The caller writes the row first and then its event in the same transaction: the row's lock (or,
for a new row, its unique key) orders two changes to one subject. `verify-audit` checks each
chain and that every row still reads as its last event left it (someone edited the table).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.audit_chain import GENESIS, broken_links, chained_hash
from database.tables import ContactRoute, DirectoryAgency, DirectoryEvent, DirectoryPerson, utc_now

Snapshot = dict[str, Any]


def agency_snapshot(agency: DirectoryAgency) -> Snapshot:
    return {"name": agency.name, "kind": agency.kind, "email_domains": list(agency.email_domains)}


def person_snapshot(person: DirectoryPerson, agency: str) -> Snapshot:
    return {
        "name": person.name,
        "email": person.email,
        "agency": agency,
        "role": person.role,
        "active": person.active,
        "language": person.language,
    }


def route_snapshot(route: ContactRoute, agency: str) -> Snapshot:
    return {
        "name": route.name,
        "agency": agency,
        "role": route.role,
        "webhook": route.webhook,
        "active": route.active,
    }


def directory_event_hash(event: DirectoryEvent) -> str:
    return chained_hash(
        event.prev_hash,
        {
            "subject": event.subject,
            "action": event.action,
            "at": event.at.astimezone(UTC).isoformat(),
            "actor": event.actor,
            "before": event.before,
            "after": event.after,
        },
    )


async def last_hashes(db: AsyncSession, subjects: Sequence[str]) -> dict[str, str]:
    """The newest event's hash of each subject that has one (for a batch of changes)."""
    found: dict[str, str] = {}
    for start in range(0, len(subjects), 500):
        rows = await db.exec(
            select(DirectoryEvent.subject, DirectoryEvent.hash)
            .where(col(DirectoryEvent.subject).in_(subjects[start : start + 500]))
            .order_by(col(DirectoryEvent.id))
        )
        found.update(dict(rows.all()))
    return found


def chained_event(
    prev_hash: str,
    *,
    subject: str,
    action: str,
    actor: str,
    before: Snapshot | None,
    after: Snapshot | None,
    at: datetime | None = None,
) -> DirectoryEvent:
    event = DirectoryEvent(
        subject=subject,
        action=action,
        at=at or utc_now(),
        actor=actor,
        before=before,
        after=after,
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = directory_event_hash(event)
    return event


async def record_change(
    db: AsyncSession,
    *,
    subject: str,
    action: str,
    actor: str,
    before: Snapshot | None,
    after: Snapshot | None,
) -> DirectoryEvent:
    """One change on the subject's chain, in the caller's transaction."""
    prev = (await last_hashes(db, [subject])).get(subject, GENESIS)
    event = chained_event(
        prev, subject=subject, action=action, actor=actor, before=before, after=after
    )
    db.add(event)
    return event


async def _rows(db: AsyncSession) -> dict[str, Snapshot]:
    """Every directory row as its snapshot, by subject."""
    agencies = {a.id: a for a in (await db.exec(select(DirectoryAgency))).all()}
    found = {f"agency:{a.id}": agency_snapshot(a) for a in agencies.values()}
    for person in (await db.exec(select(DirectoryPerson))).all():
        found[f"person:{person.id}"] = person_snapshot(person, agencies[person.agency_id].name)
    for route in (await db.exec(select(ContactRoute))).all():
        found[f"route:{route.id}"] = route_snapshot(route, agencies[route.agency_id].name)
    return found


async def directory_problems(db: AsyncSession) -> tuple[int, list[str]]:
    """How many subjects were checked, and what is wrong: broken chains, rows edited outside
    the service (they differ from their last event), rows with no record, records with no row."""
    rows = await _rows(db)
    chains: dict[str, list[DirectoryEvent]] = {}
    for event in (await db.exec(select(DirectoryEvent).order_by(col(DirectoryEvent.id)))).all():
        chains.setdefault(event.subject, []).append(event)
    problems: list[str] = []
    for subject in sorted(rows.keys() | chains.keys()):
        events = chains.get(subject, [])
        found = broken_links(events, directory_event_hash, lambda event: event.action)
        if not events:
            found.append("directory row without its record")
        elif subject not in rows:
            found.append("directory record without its row (the row is gone)")
        elif rows[subject] != events[-1].after:
            changed = sorted(
                name
                for name in rows[subject].keys() | (events[-1].after or {}).keys()
                if rows[subject].get(name) != (events[-1].after or {}).get(name)
            )
            found.append(f"the row differs from its record ({', '.join(changed)})")
        problems += [f"directory {subject}: {problem}" for problem in found]
    return len(rows.keys() | chains.keys()), problems
