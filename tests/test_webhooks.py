"""Webhook contacts: a real HTTP receiver gets the minimal JSON, and its answers decide retries."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.exceptions import ApplicationError

from activities.notifications import Outbox
from core.directory import Directory
from tests import conftest
from tests.api_stack import serve
from tests.engine_helpers import (
    RAISING,
    RECEIVING,
    SQLITE_ONLY,
    audit_trail,
    deliveries,
    notifier_for,
)
from tests.ports import listening_socket, port_of
from tests.test_notifications import PUBLIC_URL, attempt, raised_notice

pytestmark = SQLITE_ONLY


class Receiver:
    """An agency's webhook endpoint that answers each POST with the next status in `answers`."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.received: list[dict[str, Any]] = []

    async def hook(self, request: Request) -> Response:
        self.received.append(await request.json())
        return Response(
            status_code=self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        )


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    sock = listening_socket()
    port = port_of(sock)
    server, task = await serve(
        Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])]), sock
    )
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        await task


def directory_with(url: str) -> Directory:
    return Directory.model_validate(
        {
            "agencies": [
                {
                    "name": RAISING,
                    "contacts": [{"name": "Safeguarding hub", "role": "manager", "webhook": url}],
                },
                {"name": RECEIVING, "contacts": []},
            ]
        }
    )


async def test_a_webhook_gets_the_minimal_message(engine: AsyncEngine) -> None:
    receiver = Receiver(204)
    async with receiving(receiver) as url:
        notifier = await notifier_for(
            engine, directory_with(url), Outbox(conftest.isolated_settings()), PUBLIC_URL
        )
        result = await attempt(1).run(notifier.notify, raised_notice("ESC-HOOKED"))

    assert result.sent == 1
    assert receiver.received == [
        {
            "event": "raised",
            "escalation_id": "ESC-HOOKED",
            "raising_agency": RAISING,
            "receiving_agency": RECEIVING,
            "stage": 1,
            "stage_name": "Line managers",
            "stage_deadline": "2026-12-30T10:00:00+00:00",
            "link": f"{PUBLIC_URL}/escalations/ESC-HOOKED",
        }
    ]
    [delivery] = (await deliveries(engine, "ESC-HOOKED:1")).values()
    assert (delivery.channel, delivery.status, delivery.recipient) == ("webhook", "sent", url)


@pytest.mark.parametrize(
    ("answers", "first_status", "retried"),
    [((503, 200), "retrying", True), ((429, 200), "retrying", True), ((404,), "failed", False)],
)
async def test_webhook_answers_decide_whether_to_retry(
    engine: AsyncEngine, answers: tuple[int, ...], first_status: str, retried: bool
) -> None:
    receiver = Receiver(*answers)
    request = raised_notice(f"ESC-HOOK{answers[0]}")
    async with receiving(receiver) as url:
        notifier = await notifier_for(
            engine, directory_with(url), Outbox(conftest.isolated_settings()), PUBLIC_URL
        )
        if retried:
            with pytest.raises(ApplicationError):
                await attempt(1).run(notifier.notify, request)
        else:
            await attempt(1).run(notifier.notify, request)
        [delivery] = (await deliveries(engine, request.notification_key)).values()
        assert delivery.status == first_status
        if retried:
            await attempt(2).run(notifier.notify, request)

    [delivery] = (await deliveries(engine, request.notification_key)).values()
    assert (delivery.status, delivery.attempts) == (("sent", 2) if retried else ("failed", 1))
    assert len(receiver.received) == delivery.attempts
    trail = await audit_trail(engine, request.escalation_id, with_notified=True)
    assert [event.action for event in trail] == ["notified"]
