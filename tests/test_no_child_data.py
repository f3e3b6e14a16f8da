"""Data minimisation, end to end: a whole ladder through the API and a worker (real HTTP, the
Temporal dev server, real mail), then every place outside the database is searched for the child.

The child's details may live in the database only (and, sealed, in Temporal's payloads): never
in the worker's or the API's logs, in what Temporal stores in clear (history, search attributes,
summaries and details), or in a notification.
"""

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from casework.reading import readable
from core.directory import load_directory
from core.logs import configure_logging
from core.payload_crypto import ENCODING
from database.engine import session_factory
from database.tables import Escalation, utc_now
from tests import conftest
from tests.api_stack import ApiStack, serve
from tests.engine_helpers import RAISING_PRACTITIONER, STAGE_PEOPLE
from tests.ladders import BUSINESS_UNIT, PARTNERSHIP, SCHOOL, SOCIAL_CARE, directory, directory_file
from tests.ports import listening_socket, port_of
from tests.smtp_listener import Mailbox, smtp_listener
from tests.test_codec import payloads_in, raw_history
from worker.main import running_worker

# Everyone who is told something, so every kind of notification is sent and read.
DIRECTORY = directory(SCHOOL, SOCIAL_CARE)
# Each stage's people, the business unit, and the raiser (told the written outcome).
EVERYONE = set().union(*STAGE_PEOPLE.values(), {BUSINESS_UNIT, RAISING_PRACTITIONER})

# What practitioners write, each with words found nowhere else, so any copy of it is found.
CHILD = {
    "child_name": "Zephyrine Quillfeather",
    "child_date_of_birth": "2016-02-29",
    "child_reference": "NP-QF-8841",
    "summary": "Zephyrine disclosed marmalade-coloured bruising to her forearm at breakfast club",
    "decision_disputed": "Referral about Zephyrine closed: threshold not met (Quillfeather family)",
    "desired_outcome": "Strategy discussion about the Quillfeather household within two days",
}
REASON = "Zephyrine seen again with fingertip bruising; no strategy discussion held"
NOTE = "Mother of Zephyrine Quillfeather phoned the school about the stepfather's visits"
OUTCOME = "Section 47 enquiry opened for Zephyrine; Quillfeather siblings to be seen"
ACTION = "Home visit to the Quillfeather address by Friday"
# Each way the details could be written out.
SECRETS = [
    "Zephyrine",
    "Quillfeather",
    "NP-QF-8841",
    "2016-02-29",
    "29/02/2016",
    "29 Feb 2016",
    "20160229",
    "marmalade",
    "fingertip",
    "stepfather",
    "siblings",
    "Home visit",
    "breakfast club",
]


def leaks(where: str, text: str | bytes) -> list[str]:
    haystack = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
    return [f"{secret!r} in {where}" for secret in SECRETS if secret in haystack]


@contextlib.contextmanager
def production_logging(level: str, fmt: str = "json") -> Iterator[None]:
    """The worker's and the API's structlog set-up, as `python -m worker` and `python -m api`
    configure it (LOG_FORMAT `fmt`), writing to this test's captured stderr; the previous
    set-up comes back after."""
    root = logging.getLogger()
    handlers, previous_level = root.handlers[:], root.level
    configure_logging(fmt, level)
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, previous_level
        structlog.reset_defaults()


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, dict[str, Any]]]:
    box = Mailbox()
    async with smtp_listener(box) as reach:
        yield box, reach


async def test_a_whole_ladder_leaves_no_child_data_outside_the_database(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    payload_key_file: Path,
    tmp_path: Path,
    mailbox: tuple[Mailbox, dict[str, Any]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    box, smtp = mailbox
    directory_path = directory_file(tmp_path / "directory.toml", DIRECTORY)
    sock = listening_socket()
    port = port_of(sock)
    settings = conftest.isolated_settings(
        database_url=database_url,
        task_queue=f"minimal-{uuid.uuid4()}",
        temporal_address=dev_env.client.service_client.config.target_host,
        payload_key_file=payload_key_file,
        directory_file=directory_path,
        smtp_host=smtp["smtp_host"],
        smtp_port=smtp["smtp_port"],
        public_url=f"http://127.0.0.1:{port}",
    )

    # DEBUG: everything INFO (the default) writes, and all a deployer could turn on besides.
    with production_logging("DEBUG"):
        server, serving = await serve(create_app(settings), sock)
        try:
            async with (
                running_worker(dev_env.client, settings, engine, load_directory(directory_path)),
                httpx.AsyncClient(base_url=settings.public_url, timeout=30) as http,
            ):
                stack = ApiStack(
                    http=http, engine=engine, settings=settings, temporal=dev_env.client
                )
                escalation_id = await climb_the_ladder(stack)
                handle = dev_env.client.get_workflow_handle(escalation_id)
                await handle.result()  # every notification sent
                current = await handle.query(
                    "__temporal_workflow_metadata", result_type=WorkflowMetadata
                )
        finally:
            server.should_exit = True
            await serving
    logs = capfd.readouterr()

    found: list[str] = []
    found += leaks("logs", logs.out + logs.err)
    assert escalation_id in logs.err, "the logs were captured"
    found += leaks("notifications", "\n".join(m.as_string() for m in box.messages))
    assert set(box.recipients()) == EVERYONE, "every kind of notice was sent and read"
    assert all(escalation_id in m["Subject"] for m in box.messages)
    found += await leaks_from_temporal(dev_env, escalation_id)
    found += leaks("current details", current.current_details)
    assert current.current_details.startswith("**Resolved**")
    assert not found, found

    # The details are kept where they belong, what people wrote sealed with the escalation's key.
    async with session_factory(engine)() as db:
        row = await db.get(Escalation, escalation_id)
        assert row is not None and row.child_name == CHILD["child_name"]
        assert row.outcome != OUTCOME and (await readable(db, row)).outcome == OUTCOME


async def climb_the_ladder(stack: ApiStack) -> str:
    """Raise with the child's details, then escalate, note, escalate and resolve, each saying
    something about the child; one refused action and one refused raise on the way."""
    practitioner = await stack.key(SCHOOL, "practitioner", "Ms Adeyemi")
    manager = await stack.key(SOCIAL_CARE, "manager", "Team manager Jones")
    executive = await stack.key(SCHOOL, "executive", "Trust CEO Patel")
    board = await stack.key(PARTNERSHIP, "board", "Independent chair")
    post = stack.http.post

    raised = await post(
        "/escalations", json={"receiving_agency": SOCIAL_CARE, **CHILD}, headers=practitioner
    )
    assert raised.status_code == 201, raised.text
    escalation = f"/escalations/{raised.json()['id']}"
    steps = [
        (f"{escalation}/escalate", {"reason": REASON}, manager, 200),
        (f"{escalation}/notes", {"text": NOTE}, practitioner, 200),
        (f"{escalation}/resolve", {"outcome": OUTCOME}, practitioner, 403),  # refused
        (f"{escalation}/escalate", {"reason": REASON}, executive, 200),
        (f"{escalation}/resolve", {"outcome": OUTCOME, "agreed_actions": [ACTION]}, board, 200),
        ("/escalations", {**CHILD, "child_date_of_birth": "2999-01-01"}, practitioner, 422),
    ]
    for path, body, headers, status in steps:
        response = await post(path, json=body, headers=headers)
        assert response.status_code == status, (path, response.text)
    escalation_id: str = raised.json()["id"]
    return escalation_id


async def leaks_from_temporal(env: WorkflowEnvironment, escalation_id: str) -> list[str]:
    """What operations staff see in the UI or CLI with no codec, and the summaries even with one."""
    converter = env.client.data_converter
    found: list[str] = []
    events = await raw_history(env, escalation_id)
    found += leaks("history", b"".join(event.SerializeToString() for event in events))
    plain = Client(env.client.service_client, namespace=env.client.namespace)
    described = await plain.get_workflow_handle(escalation_id).describe()
    found += leaks("description", described.raw_description.SerializeToString())
    found += leaks("search attributes", repr(described.typed_search_attributes))

    # Summaries and details: readable by anyone with the codec, so they must say nothing either.
    opened = await env.client.get_workflow_handle(escalation_id).describe()
    summaries = [await opened.static_summary(), await opened.static_details()]
    for event in events:
        if event.HasField("user_metadata"):
            for field in ("summary", "details"):
                if event.user_metadata.HasField(field):
                    payload = getattr(event.user_metadata, field)
                    summaries += await converter.decode([payload], [str])
    found += leaks("summaries", "\n".join(str(s) for s in summaries))
    assert any("Stage 1 time limit" in str(s) for s in summaries), summaries

    # And the details did travel through Temporal, sealed twice: under the shared payload keys,
    # and inside, with the escalation's own key (erased with it; test_retention.py opens them).
    sealed = [
        p for e in events for _, p in payloads_in(e) if p.metadata.get("encoding") == ENCODING
    ]
    opened_payloads = await converter.payload_codec.decode(sealed)  # type: ignore[union-attr]
    inner = f"erasable:v1:{escalation_id}:".encode()
    assert any(inner in p.data for p in opened_payloads)
    assert not any(NOTE.encode() in p.data for p in opened_payloads)
    return found


async def test_a_database_error_never_quotes_the_child(engine: AsyncEngine) -> None:
    """An error's message reaches the worker's log (and the activity's failure): it names the
    statement, never the values, whatever they were."""

    def case() -> Escalation:
        return Escalation(
            id="ESC-DUPLICATE",
            policy="standard",
            raising_agency=SCHOOL,
            receiving_agency=SOCIAL_CARE,
            raised_by="Ms Adeyemi",
            created_at=utc_now(),
            updated_at=utc_now(),
            child_name=CHILD["child_name"],
            summary=CHILD["summary"],
        )

    async with session_factory(engine)() as db:
        db.add(case())
        await db.commit()

    with pytest.raises(IntegrityError) as refused:
        async with session_factory(engine)() as db:
            db.add(case())
            await db.commit()

    assert "INSERT INTO escalation" in str(refused.value)
    assert not leaks("the error", str(refused.value))
