"""Who was told of each event: by name, by route (an email address or a webhook's name), and how
the delivery went, from the deliveries the notification activity keeps."""

from collections import defaultdict
from dataclasses import dataclass

from core.directory import Contact, Directory
from database.tables import Delivery

DELIVERY_STATUS = {
    "sent": "Sent",
    "logged": "Written to the log (no mail server)",
    "pending": "Sending",
    "retrying": "Not delivered yet: trying again",
    "failed": "Failed",
}


@dataclass(frozen=True)
class Told:
    name: str  # "Team manager Sam Jones, Northshire Children's Services"
    route: str  # "sam.jones@cs.example.org" or "webhook: Referrals hub"
    status: str
    failed: bool


def _contacts(directory: Directory) -> dict[str, tuple[Contact, str]]:
    """Each directory contact by address (case-folded), with the agency it is listed under."""
    found: dict[str, tuple[Contact, str]] = {}
    partnership = directory.partnership
    listed = [(c, partnership.name) for c in (*partnership.board, *partnership.business_unit)]
    listed += [(c, agency.name) for agency in directory.agencies for c in agency.contacts]
    for contact, agency in listed:
        found.setdefault(contact.address.casefold(), (contact, agency))
    return found


def told_by_notification(deliveries: list[Delivery], directory: Directory) -> dict[str, list[Told]]:
    """Each notification's recipients (by notification key), in the order they were recorded."""
    contacts = _contacts(directory)
    found: dict[str, list[Told]] = defaultdict(list)
    for delivery in sorted(deliveries, key=lambda d: d.id or 0):
        known = contacts.get(delivery.recipient.casefold())
        if known is None:  # no longer in the directory: the address is all there is
            name, route = delivery.recipient, delivery.recipient
        else:
            contact, agency = known
            name = f"{contact.name}, {agency}"
            route = str(contact.email) if contact.email else f"webhook: {contact.name}"
        found[delivery.notification_key].append(
            Told(
                name=name,
                route=route,
                status=DELIVERY_STATUS.get(delivery.status, delivery.status),
                failed=delivery.status == "failed",
            )
        )
    return found
