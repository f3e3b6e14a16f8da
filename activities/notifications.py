"""Telling people: minimal messages by SMTP, webhook or the log, every delivery recorded.

A message names the escalation reference, the agencies, the stage, the deadline and a link, never
the child or the summary of concerns. Transient failures make the activity retry with backoff
(recipients already reached are not sent again); permanent ones are recorded and given up on.
The activity heartbeats while it works, so when its worker dies Temporal hands it to another
within the workflow's heartbeat timeout, not after the whole start-to-close timeout.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.languages import (
    N_,
    Language,
    gettext,
    joined,
    moment_text,
    policy_name,
    reader_languages,
    use_policy_names,
    written_in,
)
from core.mail import keep_in_mail_log, send_mail
from core.settings import Settings
from database.audit_chain import append_event_in
from database.directory_people import Recipient, recipients
from database.engine import session_factory
from database.tables import Delivery, utc_now
from workflows.actions import ACTIONS
from workflows.models import NOTIFY, NOTIFY_MAX_ATTEMPTS, NotificationInput, NotificationResult
from workflows.policy import Nation

log = structlog.get_logger(__name__)

# Each message's subject line: the clock's own, and each action's from workflows/actions.py
# (the table's words are in the catalogue through core/action_words.py).
HEADLINES: dict[str, str] = {
    "raised": N_("New escalation at stage {stage}: {stage_name}"),
    "reminder": N_("Reminder: stage {stage} ({stage_name}) time limit approaching"),
    "overdue": N_("Overdue at stage {stage}: {stage_name}"),
    "cancelled": N_("Cancelled by operations at stage {stage}: {stage_name}"),
    "acknowledgement_reminder": N_("Reminder: stage {stage} ({stage_name}) not yet acknowledged"),
} | {
    action.notifies: action.headline
    for action in ACTIONS.values()
    if action.notifies and action.headline
}
# Well inside any heartbeat timeout the workflow sets (the SDK throttles what it sends).
HEARTBEAT_EVERY_SECONDS = 2.0

# The link opens the escalation's page; people sign in there with their work email.
LINK_LINE = N_("Open the escalation (you sign in with your work email): %(link)s")


class TransientDeliveryError(Exception):
    """Worth trying again later (server down, busy, timed out)."""


class PermanentDeliveryError(Exception):
    """Will not succeed by retrying (address refused, bad request)."""


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    payload: dict[str, object]


def _written(request: NotificationInput, link: str) -> tuple[str, str]:
    """The headline and the body, in the task's language."""
    stage_name = policy_name(request.stage_name)
    headline = gettext(HEADLINES[request.kind]).format(stage=request.stage, stage_name=stage_name)
    lines = [
        headline,
        "",
        gettext("Escalation: %(id)s") % {"id": request.escalation_id},
        gettext("Raised by: %(agency)s") % {"agency": request.raising_agency},
        gettext("Disagreement with: %(agency)s") % {"agency": request.receiving_agency},
        gettext("Stage: %(stage)s (%(stage_name)s)")
        % {"stage": request.stage, "stage_name": stage_name},
    ]
    if request.stage_deadline:
        due = moment_text(request.stage_deadline)
        lines.append(gettext("Time limit: %(when)s (London time)") % {"when": due})
    if request.dispute_until:
        until = moment_text(request.dispute_until)
        lines.append(
            gettext("The raising agency may dispute the outcome until %(when)s (London time)")
            % {"when": until}
        )
    lines += ["", gettext(LINK_LINE) % {"link": link}]
    return headline, "\n".join(lines) + "\n"


def compose(
    request: NotificationInput, public_url: str, languages: tuple[Language, ...] = ("en",)
) -> Message:
    """One message in `languages`, in that order: one language, or both (a bilingual message
    for a recipient whose language is not known). The webhook's fields stay English; in any
    other case than English alone it also carries the texts in each language."""
    link = f"{public_url.rstrip('/')}/escalations/{request.escalation_id}"
    written = written_in(languages, lambda: _written(request, link))
    texts = {"messages": {k: {"subject": s, "body": b} for k, (s, b) in written.items()}}
    subject, body = joined(written)
    return Message(
        subject=f"[{request.escalation_id}] {subject}",
        body=body,
        payload={
            "event": request.kind,
            "escalation_id": request.escalation_id,
            "raising_agency": request.raising_agency,
            "receiving_agency": request.receiving_agency,
            "stage": request.stage,
            "stage_name": request.stage_name,
            "stage_deadline": request.stage_deadline.isoformat()
            if request.stage_deadline
            else None,
            "link": link,
            **(
                {"dispute_until": request.dispute_until.isoformat()}
                if request.dispute_until
                else {}
            ),
            **(texts if languages != ("en",) else {}),
        },
    )


class Outbox:
    """Sends one message to one contact by the contact's channel."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        # The worker passes one client (one connection pool) for its whole life.
        self._http = http or httpx.AsyncClient()

    def channel(self, contact: Recipient) -> str:
        if contact.webhook is not None:
            return "webhook"
        return "email" if self._settings.smtp_host else "log"

    async def send(self, contact: Recipient, message: Message) -> str:
        channel = self.channel(contact)
        if channel == "webhook":
            await self._post(str(contact.webhook), message)
            return "sent"
        if channel == "email":
            await self._mail(str(contact.email), message)
            return "sent"
        log.info(
            "notification logged", channel="log", recipient=contact.address, subject=message.subject
        )
        await keep_in_mail_log(self._settings, contact.address, message.subject, message.body)
        return "logged"

    async def _mail(self, address: str, message: Message) -> None:
        s = self._settings
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.smtp_from, address, message.subject
        mail.set_content(message.body)
        try:
            await send_mail(s, mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # A 4xx answer (greylisting, mailbox busy) is worth another try; only 5xx is final.
            if any(refused.code < 500 for refused in exc.recipients):
                raise TransientDeliveryError(f"recipient deferred: {exc}") from exc
            raise PermanentDeliveryError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentDeliveryError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientDeliveryError(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"SMTP unavailable: {type(exc).__name__}: {exc}") from exc

    async def _post(self, url: str, message: Message) -> None:
        try:
            response = await self._http.post(
                url, json=message.payload, timeout=self._settings.webhook_timeout_seconds
            )
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"webhook unavailable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise TransientDeliveryError(f"webhook answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentDeliveryError(f"webhook answered {response.status_code}")


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeats now and every few seconds until the block ends, slow deliveries included."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Notifier:
    """Sends one notification to everyone it is for, and records each delivery.

    Database work per attempt: one look-up of the deliveries earlier attempts recorded, and one
    transaction at the end with the rest and the "notified" receipt. A message that left the
    service (status sent) is committed on its own before the next send: a worker that dies
    mid-batch resends at most the one message in flight, and a retried activity never sends a
    recorded one again. Logged, failed and retrying rows wait for the end: redoing them after a
    crash sends nothing to anyone.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Outbox,
        public_url: str,
        nation: Nation = "england",
        policy_names: Mapping[str, str] | None = None,
    ):
        self._sessions = session_factory(engine)
        self._outbox = outbox
        self._public_url = public_url
        self._nation = nation
        # The policy file's Welsh names (core.languages.welsh_names), for Welsh messages.
        self._policy_names = policy_names or {}

    def _languages(self, contact: Recipient) -> tuple[Language, ...]:
        # A reader of no known language (a shared mailbox, a webhook): both, where in Wales.
        return reader_languages(contact.language, self._nation)

    async def _deliveries(
        self, request: NotificationInput
    ) -> tuple[list[Recipient], dict[str, Delivery]]:
        """Who is told, read from the directory now (someone added a minute ago is, someone
        deactivated is not), and the deliveries earlier attempts recorded, by recipient."""
        async with self._sessions() as db:
            told = await recipients(db, request)
            found = await db.exec(
                select(Delivery).where(Delivery.notification_key == request.notification_key)
            )
            return told, {delivery.recipient: delivery for delivery in found.all()}

    def _new_delivery(self, request: NotificationInput, contact: Recipient) -> Delivery:
        return Delivery(
            notification_key=request.notification_key,
            escalation_id=request.escalation_id,
            recipient=contact.address,
            channel=self._outbox.channel(contact),
            status="pending",
            updated_at=utc_now(),
        )

    @activity.defn(name=NOTIFY)
    async def notify(self, request: NotificationInput) -> NotificationResult:
        use_policy_names(self._policy_names)  # this activity's task only
        async with heartbeating():
            return await self._notify(request)

    async def _notify(self, request: NotificationInput) -> NotificationResult:
        messages: dict[tuple[Language, ...], Message] = {}
        final_attempt = activity.info().attempt >= NOTIFY_MAX_ATTEMPTS
        result, retry = NotificationResult(), []
        told, recorded = await self._deliveries(request)
        unsaved: list[Delivery] = []
        for contact in told:
            delivery = recorded.setdefault(contact.address, self._new_delivery(request, contact))
            if delivery.status in ("sent", "logged", "failed"):
                result.skipped += 1
                continue
            delivery.attempts += 1
            languages = self._languages(contact)
            if languages not in messages:
                messages[languages] = compose(request, self._public_url, languages)
            try:
                delivery.status = await self._outbox.send(contact, messages[languages])
                delivery.last_error = None
            except PermanentDeliveryError as exc:
                delivery.status, delivery.last_error = "failed", str(exc)[:500]
            except TransientDeliveryError as exc:
                delivery.status = "failed" if final_attempt else "retrying"
                delivery.last_error = str(exc)[:500]
                retry.append(contact.address)
            delivery.updated_at = utc_now()
            if delivery.status == "sent":
                await self._save([delivery])  # on the record before the next message goes
            else:
                unsaved.append(delivery)
            activity.heartbeat()  # one more delivery done
            if delivery.status == "sent":
                result.sent += 1
            elif delivery.status == "logged":
                result.logged += 1
            elif delivery.status == "failed":
                result.failed += 1
            log.info(
                "notification",
                escalation_id=request.escalation_id,
                kind=request.kind,
                channel=delivery.channel,
                status=delivery.status,
                attempt=delivery.attempts,
            )
        if retry and not final_attempt:
            await self._save(unsaved)
            raise ApplicationError(f"{len(retry)} deliveries will be retried", type="DeliveryRetry")
        await self._save(unsaved, receipt=self._receipt(request, recorded.values()))
        return result

    def _receipt(
        self, request: NotificationInput, deliveries: Iterable[Delivery]
    ) -> dict[str, Any]:
        """The "notified" audit event: how all of the notification's deliveries ended."""
        statuses = [delivery.status for delivery in deliveries]
        return {
            "event_key": f"{request.notification_key}:notified",
            "escalation_id": request.escalation_id,
            "action": "notified",
            "at": activity.info().current_attempt_scheduled_time,
            "actor": "system",
            "stage": request.stage,
            "details": {
                "kind": request.kind,
                **{status: statuses.count(status) for status in ("sent", "logged", "failed")},
            },
        }

    async def _save(
        self, deliveries: list[Delivery], receipt: dict[str, Any] | None = None
    ) -> None:
        """The deliveries, and the receipt when given, in one transaction."""
        if not deliveries and receipt is None:
            return
        async with self._sessions() as db:
            if receipt is not None:  # first: it takes the escalation's row lock
                await append_event_in(db, **receipt)
            db.add_all(deliveries)
            await db.commit()
