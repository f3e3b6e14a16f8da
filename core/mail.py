"""Sending one mail through the configured SMTP relay (SMTP_* settings)."""

from email.message import EmailMessage

import aiosmtplib

from core.settings import Settings


async def send_mail(settings: Settings, mail: EmailMessage) -> None:
    """Sends `mail`; aiosmtplib's errors (and OSError, TimeoutError) reach the caller."""
    await aiosmtplib.send(
        mail,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_starttls,
        use_tls=settings.smtp_use_tls,
        timeout=settings.smtp_timeout_seconds,
    )
