"""Mail from the pages (sign-in links, requests for access): by SMTP when SMTP_HOST is set, else
to the log (the embedded stack), so `make run`'s terminal shows the link."""

from collections.abc import Callable
from email.message import EmailMessage

import aiosmtplib
import structlog

from core.languages import chosen_language, in_language, joined, written_in
from core.mail import keep_in_mail_log, send_mail
from core.settings import Settings
from database.directory_people import Person
from web.i18n import Language, gettext

log = structlog.get_logger(__name__)


def sign_in_message(settings: Settings, person: Person, link: str) -> EmailMessage:
    """The link mail, in the task's language."""
    return message(
        settings,
        person.email,
        gettext("Your sign-in link for Safeguarding escalations"),
        [
            gettext("Hello %(name)s,") % {"name": person.name},
            "",
            gettext("Open this link to sign in to Safeguarding escalations:"),
            link,
            "",
            gettext(
                "It works once, for 15 minutes. If you did not ask to sign in, ignore this email."
            ),
        ],
    )


async def send_sign_in_link(
    settings: Settings, person: Person, link: str, language: Language, chosen: Language | None
) -> None:
    """Sends the link in the language chosen on the switch just before (it becomes theirs at
    sign-in), else the person's language in the directory, else (a shared mailbox's "both")
    `language`, the page's it was asked from; a failure is logged, never shown (the answer is
    the same either way)."""
    with in_language(chosen or chosen_language(person.language) or language):
        mail = sign_in_message(settings, person, link)
    if not settings.smtp_host:
        log.info(
            "sign-in link (log-only mode: SMTP_HOST is not set)", email=person.email, link=link
        )
        await keep_in_mail_log(settings, person.email, str(mail["Subject"]), mail.get_content())
        return
    await _send(settings, mail)


def message(settings: Settings, to: str, subject: str, lines: list[str]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.smtp_from, to, subject
    mail.set_content("\n".join(lines) + "\n")
    return mail


def message_in(
    settings: Settings,
    to: str,
    languages: tuple[Language, ...],
    write: Callable[[], tuple[str, list[str]]],
) -> EmailMessage:
    """One mail of what `write` says (its subject and lines) in each of `languages`, in order
    (core.languages.reader_languages picks them for the reader)."""

    def text() -> tuple[str, str]:
        subject, lines = write()
        return subject, "\n".join(lines)

    subject, body = joined(written_in(languages, text))
    return message(settings, to, subject, [body])


async def send_all(settings: Settings, mails: list[EmailMessage]) -> None:
    """Sends each mail (or logs it without SMTP_HOST); a failure is logged, never shown."""
    for mail in mails:
        if not settings.smtp_host:
            log.info(
                "mail (log-only mode: SMTP_HOST is not set)", to=mail["To"], subject=mail["Subject"]
            )
            continue
        await _send(settings, mail)


async def _send(settings: Settings, mail: EmailMessage) -> None:
    try:
        await send_mail(settings, mail)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        log.warning("mail not sent", email=mail["To"], error=type(exc).__name__)
