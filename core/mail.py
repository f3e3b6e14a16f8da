"""Sending one mail through the configured SMTP relay (SMTP_* settings), or, with no relay,
keeping it in the mail log file (MAIL_LOG_FILE) for the embedded stack."""

import asyncio
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

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


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as file:
        file.write(text)


async def keep_in_mail_log(settings: Settings, to: str, subject: str, body: str) -> None:
    """Appends the mail a relay would have carried to MAIL_LOG_FILE, when one is set."""
    if settings.mail_log_file is None:
        return
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"--- {stamp}\nTo: {to}\nSubject: {subject}\n\n{body.rstrip()}\n\n"
    await asyncio.to_thread(_append, settings.mail_log_file, text)
