"""The SMTP listener tests send mail to (aiosmtpd on a local port), and its handler, which keeps
what it accepts or answers as a failing relay would."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from typing import Any

from aiosmtpd.controller import Controller

from tests.ports import reserved_port


class Mailbox:
    """An SMTP server's handler: keeps what it accepts, or answers every recipient with `reply`."""

    def __init__(self, reply: str | None = None, refuse_once: set[str] | None = None) -> None:
        self.reply = reply
        self.refuse_once = set(refuse_once or ())
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.reply:
            return self.reply
        if address in self.refuse_once:
            self.refuse_once.discard(address)
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=email_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def recipients(self, subject: str = "") -> list[str]:
        """Who was sent mail (about `subject`), sorted."""
        return sorted(str(m["To"]) for m in self.messages if subject in str(m["Subject"]))


@asynccontextmanager
async def smtp_listener(mailbox: Mailbox, port: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """A listener handing what it receives to `mailbox`; yields the settings that reach it. On
    `port`, one the caller holds (tests/ports.py); else on one held here until it listens."""
    with ExitStack() as hold:
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port or hold.enter_context(reserved_port())
        )
        await asyncio.to_thread(controller.start)
    try:
        yield {"smtp_host": "127.0.0.1", "smtp_port": controller.port}
    finally:
        await asyncio.to_thread(controller.stop)
