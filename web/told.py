"""Who was told of each event: by name, by route (an email address or a webhook's name), and how
the delivery went, from the deliveries the notification activity keeps and the directory's
people and routes (those since deactivated included: they were told then)."""

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import ContactRoute, Delivery, DirectoryAgency, DirectoryPerson
from web.i18n import N_

# Catalogue messages: translated where they are shown (the record's "who was told").
DELIVERY_STATUS = {
    "sent": N_("Sent"),
    "logged": N_("Written to the log (no mail server)"),
    "pending": N_("Sending"),
    "retrying": N_("Not delivered yet: trying again"),
    "failed": N_("Failed"),
}


@dataclass(frozen=True)
class Told:
    name: str  # "Team manager Sam Jones, Northshire Children's Services"
    route: str  # "sam.jones@cs.example.org" or "webhook: Referrals hub"
    status: str
    failed: bool


async def _named(db: AsyncSession, addresses: set[str]) -> dict[str, tuple[str, str]]:
    """(who, route) for each address the directory knows, by case-folded address."""
    people = await db.exec(
        select(DirectoryPerson.email, DirectoryPerson.name, DirectoryAgency.name)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
        .where(col(DirectoryPerson.email_key).in_({a.casefold() for a in addresses}))
    )
    routes = await db.exec(
        select(ContactRoute.webhook, ContactRoute.name, DirectoryAgency.name)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(ContactRoute.agency_id))
        .where(col(ContactRoute.webhook).in_(addresses))
    )
    found = {email.casefold(): (f"{name}, {agency}", email) for email, name, agency in people.all()}
    for webhook, name, agency in routes.all():
        found.setdefault(webhook.casefold(), (f"{name}, {agency}", f"webhook: {name}"))
    return found


async def told_by_notification(db: AsyncSession, escalation_id: str) -> dict[str, list[Told]]:
    """Each notification's recipients (by notification key), in the order they were recorded."""
    deliveries = (
        await db.exec(
            select(Delivery)
            .where(Delivery.escalation_id == escalation_id)
            .order_by(col(Delivery.id))
        )
    ).all()
    named = await _named(db, {delivery.recipient for delivery in deliveries})
    found: dict[str, list[Told]] = defaultdict(list)
    for delivery in deliveries:
        # No longer in the directory at all: the address is all there is.
        who, route = named.get(delivery.recipient.casefold(), (delivery.recipient,) * 2)
        found[delivery.notification_key].append(
            Told(
                name=who,
                route=route,
                status=DELIVERY_STATUS.get(delivery.status, delivery.status),
                failed=delivery.status == "failed",
            )
        )
    return found
