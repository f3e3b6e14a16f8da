"""Mailing a sign-in link: by SMTP when SMTP_HOST is set, else to the log (the embedded stack),
so `make run`'s terminal shows the link."""

from email.message import EmailMessage

import aiosmtplib
import structlog

from core.mail import keep_in_mail_log, send_mail
from core.settings import Settings
from web.people import Person

log = structlog.get_logger(__name__)


def sign_in_message(settings: Settings, person: Person, link: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"] = settings.smtp_from, person.email
    mail["Subject"] = "Your sign-in link for Safeguarding escalations"
    mail.set_content(
        "\n".join(
            [
                f"Hello {person.name},",
                "",
                "Open this link to sign in to Safeguarding escalations:",
                link,
                "",
                "It works once, for 15 minutes. If you did not ask to sign in, ignore this email.",
            ]
        )
        + "\n"
    )
    return mail


async def send_sign_in_link(settings: Settings, person: Person, link: str) -> None:
    """Sends the link; a failure is logged, never shown (the answer is the same either way)."""
    if not settings.smtp_host:
        log.info(
            "sign-in link (log-only mode: SMTP_HOST is not set)", email=person.email, link=link
        )
        mail = sign_in_message(settings, person, link)
        await keep_in_mail_log(settings, person.email, str(mail["Subject"]), mail.get_content())
        return
    try:
        await send_mail(settings, sign_in_message(settings, person, link))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        log.warning("sign-in link not sent", email=person.email, error=type(exc).__name__)
