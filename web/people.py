"""People: each directory contact with an email, with the agency and role they act for.

The partnership's board and business unit act for the partnership (role `board`): they see every
escalation and decide at the top of the ladder, as a board key does. They are also the operators
who may read decoded payloads in the Temporal Web UI.
"""

from dataclasses import dataclass

from core.directory import Contact, Directory
from workflows.policy import Role


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    agency: str
    role: Role

    @property
    def partnership(self) -> bool:
        return self.role == "board"

    @property
    def operator(self) -> bool:
        """May read and write Temporal payloads through the codec (the Temporal Web UI)."""
        return self.partnership


def _person(contact: Contact, agency: str, role: Role) -> Person | None:
    if contact.email is None:
        return None
    return Person(name=contact.name, email=str(contact.email), agency=agency, role=role)


def people(directory: Directory) -> dict[str, Person]:
    """Everyone who may sign in, by case-folded email address (the first entry of one wins)."""
    found: list[Person | None] = []
    partnership = directory.partnership
    for contact in (*partnership.board, *partnership.business_unit):
        found.append(_person(contact, partnership.name, "board"))
    for agency in directory.agencies:
        for contact in agency.contacts:
            if contact.role is not None:
                found.append(_person(contact, agency.name, contact.role))
    by_email: dict[str, Person] = {}
    for person in found:
        if person is not None:
            by_email.setdefault(person.email.casefold(), person)
    return by_email


def unranked(directory: Directory) -> dict[str, Person]:
    """Agency contacts with an email and no role, by case-folded email (role still to be given).

    Only an identity provider whose groups map to a role signs them in (web/identity_providers.py);
    the role they are given is the session's."""
    found: dict[str, Person] = {}
    for agency in directory.agencies:
        for contact in agency.contacts:
            if contact.role is None and contact.email is not None:
                found.setdefault(
                    str(contact.email).casefold(),
                    Person(contact.name, str(contact.email), agency.name, "practitioner"),
                )
    return found
