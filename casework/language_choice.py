"""A person's own choice of language (the pages' "English | Cymraeg" switch), written to the
directory so their mails and reminders go in it too: a directory change like any other
(casework/directory_changes.py), on the directory's record with the person as its actor. A
shared mailbox ("both") keeps both: its readers differ, and one of them choosing a page's
language must not stop the others' mails.
"""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.directory_changes import PersonRow, apply, plan
from core.languages import Language
from database.directory_people import DirectoryRole, NoRole, email_key
from database.tables import DirectoryAgency, DirectoryPerson


async def choose_language(db: AsyncSession, email: str, language: Language, actor: str) -> bool:
    """Sets the active person's language in the directory; True if it changed (choosing the
    language they have already, or any for a shared mailbox, changes and records nothing)."""
    found = (
        await db.exec(
            select(DirectoryPerson, DirectoryAgency)
            .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
            .where(DirectoryPerson.email_key == email_key(email), col(DirectoryPerson.active))
            # Two clicks at once: the second waits, then finds the language chosen already
            # (PostgreSQL; SQLite writes one at a time anyway).
            .with_for_update(of=DirectoryPerson)
        )
    ).first()
    if found is None or found[0].language in (language, "both"):
        return False
    person, agency = found
    role: DirectoryRole | NoRole = person.role  # type: ignore[assignment]
    # The person as the directory holds them (their directory role, not a provider's), but the
    # language.
    row = PersonRow(0, agency.name, agency.kind, person.name, person.email, role, True, language)
    changes = await plan(db, [row])
    if not changes.changes:
        return False
    await apply(db, changes, actor)
    return True
