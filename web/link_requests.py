"""Requests for a sign-in link, handled after the answer by one task per process.

The page's answer does the same for every well-formed address, known or not: it queues the
address and says "Check your email". Only this task looks the person up, writes the link and
mails it, so neither the answer's time nor a database outage tells who is in the directory.
"""

import asyncio

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.languages import Language
from core.settings import Settings
from database.directory_people import find_active_person
from web.mailer import send_sign_in_link
from web.sessions import issue_link

log = structlog.get_logger(__name__)
# Requests waiting beyond this are dropped (the per-client limit keeps it far off).
QUEUE_LIMIT = 1000


class LinkRequests:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> None:
        self.sessions, self.settings = sessions, settings
        self.queue: asyncio.Queue[tuple[str, str, Language, Language | None]] = asyncio.Queue(
            QUEUE_LIMIT
        )

    def ask(
        self, address: str, next_path: str, language: Language, chosen: Language | None = None
    ) -> None:
        """Queues the request; returns at once, whoever `address` is. The mail is in `chosen`
        (the switch's just now), else the person's language, else `language`, the page's."""
        try:
            self.queue.put_nowait((address, next_path, language, chosen))
        except asyncio.QueueFull:
            log.warning("sign-in request dropped: too many waiting")

    async def serve(self) -> None:
        """Handles queued requests until cancelled."""
        while True:
            address, next_path, language, chosen = await self.queue.get()
            try:
                await self._mail_link(address, next_path, language, chosen)
            except (SQLAlchemyError, OSError) as exc:  # the database away: the link is not sent
                log.warning("sign-in link not issued", error=type(exc).__name__)
            finally:
                self.queue.task_done()

    async def _mail_link(
        self, address: str, next_path: str, language: Language, chosen: Language | None
    ) -> None:
        async with self.sessions() as db:
            person = await find_active_person(db, address)  # the directory as it is now
            if person is None:
                return
            token = await issue_link(db, person.email, next_path)
        link = f"{self.settings.public_url.rstrip('/')}/sign-in/{token}"
        await send_sign_in_link(self.settings, person, link, language, chosen)
