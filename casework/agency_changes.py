"""Adding an agency, or changing its kind and email domains, with its event on the directory's
record. An agency is never renamed: escalations keep the name they were raised under."""

from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.directory import normalised
from core.text import N_
from database.directory_people import PARTNERSHIP_KIND
from database.directory_trail import agency_snapshot, record_change
from database.tables import DirectoryAgency, utc_now

# Said to the pages and, in English, the API (a catalogue message: make translations).
ONE_PARTNERSHIP_KIND = N_("The partnership has one agency of its own, of kind partnership")


class AgencyRefused(ValueError):
    """The change would break a rule of the directory; the message says which."""


async def save_agency(
    db: AsyncSession, *, name: str, kind: str, email_domains: list[str], actor: str
) -> tuple[DirectoryAgency, Literal["added", "changed", "unchanged"]]:
    """The agency `name` means (compared normalised) with this kind and these domains."""
    domains = sorted({domain.strip().casefold() for domain in email_domains if domain.strip()})
    agency = (
        await db.exec(select(DirectoryAgency).where(DirectoryAgency.name_key == normalised(name)))
    ).first()
    partnership = (
        await db.exec(select(DirectoryAgency.id).where(DirectoryAgency.kind == PARTNERSHIP_KIND))
    ).first()
    is_partnership = agency is not None and agency.kind == PARTNERSHIP_KIND
    if (kind == PARTNERSHIP_KIND) != is_partnership and (
        partnership is not None or agency is not None
    ):
        raise AgencyRefused(ONE_PARTNERSHIP_KIND)
    before = agency_snapshot(agency) if agency else None
    if agency is None:
        agency = DirectoryAgency(
            name=name.strip(),
            name_key=normalised(name),
            kind=kind,
            email_domains=domains,
            added_by=actor,
            added_at=utc_now(),
        )
    else:
        agency.kind, agency.email_domains = kind, domains
    after = agency_snapshot(agency)
    if before == after:
        return agency, "unchanged"
    db.add(agency)
    await db.flush()
    action: Literal["added", "changed"] = "added" if before is None else "changed"
    await record_change(
        db, subject=f"agency:{agency.id}", action=action, actor=actor, before=before, after=after
    )
    await db.commit()
    await db.refresh(agency)
    return agency, action


async def all_agencies(db: AsyncSession) -> list[DirectoryAgency]:
    return list((await db.exec(select(DirectoryAgency).order_by(col(DirectoryAgency.name)))).all())
