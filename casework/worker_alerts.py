"""The business unit's alert: no worker seen for WORKER_ALERT_AFTER_SECONDS means escalations
stopped moving. Each API process looks every WORKER_HEARTBEAT_SECONDS; the outage's row in the
database decides which of them mails (the one whose claim updates it), so the business unit
gets one mail when it starts and one when a worker is back, however many API processes run.
Each mail is in its readers' language (one mail for those who share one, both languages for a
shared mailbox in Wales).
"""

import asyncio
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
import structlog
from babel.dates import format_datetime
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from core.calendar import LONDON
from core.languages import (
    Language,
    current_language,
    gettext,
    joined,
    ngettext,
    reader_languages,
    written_in,
)
from core.mail import send_mail
from core.settings import Settings
from database.directory_people import business_unit_readers
from database.tables import WorkerOutage, utc_now
from database.worker_health import last_seen
from workflows.policy import Nation

log = structlog.get_logger(__name__)


# A mail's words in the task's language: its subject and body.
Written = Callable[[], tuple[str, str]]


def _said(moment: datetime) -> str:
    """ "Monday 30 November 2026 10:00:05 GMT", "Dydd Llun 30 Tachwedd 2026 10:00:05 GMT"."""
    return format_datetime(
        moment, "EEEE d MMMM y HH:mm:ss zzz", tzinfo=LONDON, locale=current_language()
    )


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes:
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    return ngettext("%(n)s second", "%(n)s seconds", round(seconds)) % {"n": round(seconds)}


def alert_message(settings: Settings, since: datetime, now: datetime) -> Written:
    def write() -> tuple[str, str]:
        subject = gettext("Escalations have stopped moving: no worker is running")
        said = {"for": _minutes((now - since).total_seconds()), "since": _said(since)}
        health = {"link": f"{settings.public_url.rstrip('/')}/healthz"}
        body = "\n\n".join(
            [
                gettext("No escalation worker has been seen for %(for)s, since %(since)s.") % said,
                gettext(
                    "Until one is back, time limits do not move escalations to the next stage, "
                    "nobody is told of new stages, and actions on the pages and the API are "
                    "refused (nothing is lost: escalations catch up when a worker returns)."
                ),
                gettext("Please ask the service's operators to start a worker. Health: %(link)s")
                % health,
                gettext("Another message follows when a worker is back."),
            ]
        )
        return subject, body

    return write


def recovery_message(since: datetime, now: datetime) -> Written:
    def write() -> tuple[str, str]:
        subject = gettext("Escalations are moving again: a worker is back")
        said = {
            "now": _said(now),
            "since": _said(since),
            "for": _minutes((now - since).total_seconds()),
        }
        body = "\n\n".join(
            [
                gettext(
                    "An escalation worker is running again (%(now)s). None had been seen since "
                    "%(since)s, for %(for)s."
                )
                % said,
                gettext(
                    "Time limits that passed meanwhile are being applied now, each escalation "
                    "moved once."
                ),
            ]
        )
        return subject, body

    return write


class WorkerAlerts:
    def __init__(self, engine: AsyncEngine, settings: Settings, nation: Nation = "england") -> None:
        self.engine, self.settings = engine, settings
        self.nation = nation  # the partnership's: a shared mailbox in Wales reads both
        # The languages already mailed about an outage's alert, while another is still to go:
        # the next look sends only what is missing.
        self._mailed: dict[int | None, set[tuple[Language, ...]]] = {}

    async def watch(self) -> None:
        """Looks every WORKER_HEARTBEAT_SECONDS until cancelled."""
        while True:
            try:
                await self.look()
            except (SQLAlchemyError, OSError) as exc:  # the database away: look again later
                log.warning("worker alert check failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.worker_heartbeat_seconds)

    async def look(self) -> None:
        queue = self.settings.task_queue
        async with AsyncSession(self.engine) as db:
            seen = await last_seen(db, queue)
        if seen is None:
            return  # no worker ever: a new installation, not an outage
        now = utc_now()
        silence = (now - seen).total_seconds()
        if silence > self.settings.worker_alert_after_seconds:
            await self._alert(queue, seen, now)
        elif silence <= self.settings.worker_stale_after_seconds:
            await self._recover(queue, now)

    async def _alert(self, queue: str, seen: datetime, now: datetime) -> None:
        outage = await self._outage(queue, seen)
        if outage.alerted_at is not None or not await self._claim(outage.id, "alerted_at", now):
            return
        mailed = self._mailed.setdefault(outage.id, set())
        if await self._mail(alert_message(self.settings, seen, now), mailed):
            self._mailed.pop(outage.id)
        else:
            await self._claim(outage.id, "alerted_at", None)  # the next look tries again

    async def _recover(self, queue: str, now: datetime) -> None:
        async with AsyncSession(self.engine) as db:
            told = await db.exec(
                select(WorkerOutage).where(
                    WorkerOutage.task_queue == queue,
                    col(WorkerOutage.alerted_at).is_not(None),
                    col(WorkerOutage.recovered_at).is_(None),
                )
            )
            outages = list(told)
        for outage in outages:
            if await self._claim(outage.id, "recovered_at", now):
                await self._mail(recovery_message(outage.last_seen_at, now))

    async def _outage(self, queue: str, seen: datetime) -> WorkerOutage:
        """The outage since `seen`, written by the first process to see it."""
        query = select(WorkerOutage).where(
            WorkerOutage.task_queue == queue, WorkerOutage.last_seen_at == seen
        )
        async with AsyncSession(self.engine, expire_on_commit=False) as db:
            found = (await db.exec(query)).first()
            if found is not None:
                return found
            outage = WorkerOutage(task_queue=queue, last_seen_at=seen)
            db.add(outage)
            try:
                await db.commit()
                return outage
            except IntegrityError:
                await db.rollback()
        async with AsyncSession(self.engine) as db:
            return (await db.exec(query)).one()

    async def _claim(self, outage_id: int | None, column: str, now: datetime | None) -> bool:
        """Sets the column; True for the one process whose update found it still as expected."""
        field = getattr(WorkerOutage, column)
        async with AsyncSession(self.engine) as db:
            claimed = await db.exec(
                update(WorkerOutage)
                .where(
                    col(WorkerOutage.id) == outage_id,
                    col(field).is_(None) if now is not None else col(field).is_not(None),
                )
                .values({column: now})
            )
            await db.commit()
        return claimed.rowcount == 1

    async def _mail(self, write: Written, mailed: set[tuple[Language, ...]] | None = None) -> bool:
        """To the business unit's email contacts, one mail for each set of languages they read
        but those in `mailed`, which gains each one sent; False if one could not be sent."""
        mailed = set() if mailed is None else mailed
        async with AsyncSession(self.engine) as db:
            readers = await business_unit_readers(db)
        groups: dict[tuple[Language, ...], list[str]] = {}
        for email, language in readers:
            groups.setdefault(reader_languages(language, self.nation), []).append(email)
        sent = True
        for languages, recipients in groups.items():
            if languages in mailed:
                continue
            subject, body = joined(written_in(languages, write))
            if not self.settings.smtp_host:
                log.warning(
                    "worker alert (not mailed)", subject=subject, recipients=len(recipients)
                )
                continue
            if await self._send(subject, body, recipients):
                mailed.add(languages)
            else:
                sent = False
        if not readers:
            log.warning("worker alert (not mailed): the business unit has no one")
        return sent

    async def _send(self, subject: str, body: str, recipients: list[str]) -> bool:
        mail = EmailMessage()
        mail["From"], mail["To"] = self.settings.smtp_from, ", ".join(recipients)
        mail["Subject"] = subject
        mail.set_content(body + "\n")
        try:
            await send_mail(self.settings, mail)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning("worker alert not sent", subject=subject, error=type(exc).__name__)
            return False
        log.info("worker alert sent", subject=subject, recipients=len(recipients))
        return True
