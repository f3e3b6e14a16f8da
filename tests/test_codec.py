"""The payload codec: child data sealed before Temporal stores it, keys rotated, bad refused."""

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from core.payload_crypto import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadDecryptError,
    PayloadKey,
    PayloadKeyError,
    codec_from_settings,
    stays_readable,
)
from core.temporal import data_converter
from tests.conftest import isolated_settings as make_settings
from tests.engine_helpers import (
    SQLITE_ONLY,
    actions,
    audit_trail,
    escalation_input,
    escalation_worker,
)
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalateSignal, NoteSignal

# Free text as a practitioner writes it: exactly what must never reach Temporal in clear.
CHILD_NOTE = "Amelia Smith, born 2014-03-02, disclosed bruising to her upper arm at school"
CHILD_REASON = "Amelia Smith (DOB 2014-03-02) seen again with injuries; no strategy meeting held"
PLAIN_OUTCOME = "Strategy meeting held; child protection enquiry opened"

KEY_A = PayloadKey("2024-a", bytes(range(32)))
KEY_B = PayloadKey("2025-b", bytes(range(32, 64)))


def keys_setting(*keys: PayloadKey) -> str:
    return ",".join(f"{key.id}:{key.encoded}" for key in keys)


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_round_trip_through_the_service_converter(tmp_path: Path) -> None:
    key_file = tmp_path / "payload-keys.json"
    settings = make_settings(payload_keys=keys_setting(KEY_A), payload_key_file=key_file)
    converter = data_converter(settings)
    note = NoteSignal(by="Ms Adeyemi (DSL)", text=CHILD_NOTE)

    first, second = await converter.encode([note, note])

    for payload in (first, second):
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID] == b"2024-a"
        assert b"Amelia" not in payload.SerializeToString()
    assert first.data[:12] != second.data[:12], "each payload gets its own nonce"
    assert await converter.decode([first], [NoteSignal]) == [note]
    assert not key_file.exists(), "PAYLOAD_KEYS wins over the key file"


async def test_history_under_the_old_key_still_decodes_after_rotation() -> None:
    note = await EncryptionCodec([KEY_A]).encode([Payload(data=CHILD_NOTE.encode())])
    rotated = EncryptionCodec([KEY_B, KEY_A])

    assert await rotated.decode(note) == [Payload(data=CHILD_NOTE.encode())]
    [fresh] = await rotated.encode([Payload(data=b"new")])
    assert fresh.metadata[KEY_ID] == b"2025-b"
    with pytest.raises(PayloadDecryptError, match="'2025-b', which is not in PAYLOAD_KEYS"):
        await EncryptionCodec([KEY_A]).decode([fresh])


async def test_plain_json_from_the_ui_passes_through() -> None:
    # What the Temporal UI or CLI sends: plain JSON, no codec.
    [typed] = await DataConverter.default.encode([{"by": "Ops", "text": "checked"}])
    converter = data_converter(make_settings(payload_keys=keys_setting(KEY_A)))

    assert await EncryptionCodec([KEY_A]).decode([typed]) == [typed]
    assert await converter.decode([typed], [NoteSignal]) == [NoteSignal(by="Ops", text="checked")]


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag", "truncated"])
async def test_altered_payload_is_refused(where: str) -> None:
    codec = EncryptionCodec([KEY_A])
    [sealed] = await codec.encode([Payload(data=CHILD_NOTE.encode())])
    data = bytearray(sealed.data)
    if where == "truncated":
        del data[5:]
    else:
        data[{"nonce": 0, "ciphertext": 20, "tag": -1}[where]] ^= 1
    altered = Payload(metadata=sealed.metadata, data=bytes(data))

    with pytest.raises(PayloadDecryptError, match="fails authentication"):
        await codec.decode([altered])


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "payload-keys.json"
    settings = make_settings(payload_key_file=key_file)
    umask = os.umask(0)  # the file's mode must not depend on the operator's umask
    try:
        codec = codec_from_settings(settings)
    finally:
        os.umask(umask)

    assert mode_of(key_file) == 0o600
    assert mode_of(key_file.parent) == 0o700
    [entry] = json.loads(key_file.read_text())["keys"]
    assert len(base64.b64decode(entry["key"])) == 32
    assert codec.key_id == entry["id"]
    assert list(key_file.parent.iterdir()) == [key_file], "no draft left behind"
    assert codec_from_settings(settings).key_id == entry["id"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "payload-keys.json"
    codec_from_settings(make_settings(payload_key_file=key_file))
    key_file.chmod(mode)

    with pytest.raises(PayloadKeyError, match=rf"{key_file} is open to other users.*chmod 600"):
        codec_from_settings(make_settings(payload_key_file=key_file))


def test_key_file_with_bad_content_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "payload-keys.json"
    key_file.write_text('{"keys": [{"id": "k1", "key": "c2hvcnQ="}]}')
    key_file.chmod(0o600)

    with pytest.raises(PayloadKeyError, match=rf"PAYLOAD_KEY_FILE {key_file}: key 'k1' is 5 bytes"):
        codec_from_settings(make_settings(payload_key_file=key_file))
    key_file.write_text('{"keys": []}')
    with pytest.raises(PayloadKeyError, match=rf"PAYLOAD_KEY_FILE {key_file}: keys: List should"):
        codec_from_settings(make_settings(payload_key_file=key_file))


SHORT_KEY = base64.b64encode(b"sixteen byte key").decode()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "set but empty"),
        (KEY_A.encoded, "entry 1: expected id:base64key"),
        (f"{keys_setting(KEY_A)},k2", "entry 2: expected id:base64key"),
        ("k1:not base64!", "key 'k1' is not valid base64"),
        (f"k1:{SHORT_KEY}", "key 'k1' is 16 bytes, AES-256 needs 32"),
        (f"{keys_setting(KEY_A)},2024-a:{KEY_B.encoded}", "key id '2024-a' appears twice"),
        (f"k 1:{KEY_A.encoded}", "key id 'k 1' must be"),
    ],
)
def test_bad_payload_keys_are_refused(value: str, problem: str) -> None:
    with pytest.raises(PayloadKeyError, match=f"PAYLOAD_KEYS.*{problem}") as refused:
        codec_from_settings(make_settings(payload_keys=value))
    assert KEY_A.encoded not in str(refused.value), "the message never shows key material"


@pytest.mark.slow  # a process of its own
def test_new_key_command_prints_a_usable_key() -> None:
    def new_key() -> str:
        run = subprocess.run(
            [sys.executable, "-m", "core.payload_crypto", "new-key"],
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip()

    first, second = new_key(), new_key()

    assert first != second
    codec = codec_from_settings(make_settings(payload_keys=f"{second},{first}"))
    assert codec.key_id == second.partition(":")[0]


# --- end to end: what the Temporal server stores -----------------------------------------------


MARKER_BOOKKEEPING = {
    "id",
    "deprecated",
    "seq",
    "attempt",
    "activity_id",
    "activity_type",
    "complete_time",
    "backoff",
    "original_schedule_time",
    "activation_index",
}


def payloads_in(message: Message) -> Iterator[tuple[str, Payload]]:
    """Every payload inside `message`, with the name of the field holding it."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue  # a scalar
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                yield field.name, item
            elif isinstance(item, Message):
                yield from payloads_in(item)


async def raw_history(env: WorkflowEnvironment, workflow_id: str) -> list[HistoryEvent]:
    """The history as the server stores it: straight from the RPC, no data converter involved."""
    events: list[HistoryEvent] = []
    token = b""
    while True:
        page = await env.client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=env.client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
                next_page_token=token,
            )
        )
        events.extend(page.history.events)
        token = page.next_page_token
        if not token:
            return events


@SQLITE_ONLY
async def test_temporal_stores_no_child_data_in_clear(
    time_env: WorkflowEnvironment, engine: AsyncEngine, payload_key_file: Path
) -> None:
    codec = codec_from_settings(make_settings(payload_key_file=payload_key_file))
    # Operations staff in the UI or CLI: a client with no codec at all.
    plain = Client(time_env.client.service_client, namespace=time_env.client.namespace)

    escalation = escalation_input()
    async with escalation_worker(time_env.client, engine) as config:
        # Started here, not with `raised`: describing a closed escalation fails on the
        # time-skipping server (it keeps the unset StageDeadline as a binary/null payload).
        handle = await time_env.client.start_workflow(
            EscalationWorkflow.run,
            escalation,
            id=escalation.escalation_id,
            task_queue=config.task_queue,
            search_attributes=initial_search_attributes(escalation),
        )
        await handle.signal(EscalationWorkflow.note, NoteSignal(by="Ms Adeyemi", text=CHILD_NOTE))
        await handle.signal(
            EscalationWorkflow.escalate, EscalateSignal(by="Ms Adeyemi", reason=CHILD_REASON)
        )
        await plain.get_workflow_handle(handle.id).signal(
            "resolved", {"by": "Head of service", "outcome": PLAIN_OUTCOME}
        )
        final = await handle.result()

    assert (final.status, final.stage, final.outcome) == ("resolved", 2, PLAIN_OUTCOME)
    trail = await audit_trail(engine, handle.id)
    assert actions(trail) == [("raised", 1), ("note", 1), ("escalated", 2), ("resolved", 2)]
    assert trail[1].details["text"] == CHILD_NOTE
    assert trail[2].details["reason"] == CHILD_REASON

    events = await raw_history(time_env, handle.id)
    stored = b"".join(event.SerializeToString() for event in events)
    for secret in ("Amelia", "Smith", "2014-03-02", "bruising", "injuries"):
        assert secret.encode() not in stored, f"{secret!r} stored in clear"
    found = [item for event in events for item in payloads_in(event)]
    # Search attributes are indexed, and summaries are for the UI, so neither is encrypted:
    # they carry references, agencies and clock facts only (the secrets check above covers them).
    summaries = [payload for field, payload in found if field in ("summary", "details")]
    assert summaries and all(stays_readable(payload) for payload in summaries)
    assert any(b"time limit" in payload.data for payload in summaries)
    # The SDK's own markers (patches, local activities) keep their bookkeeping in clear: ids,
    # activity types and times. Their results go through the codec like every other payload.
    bookkeeping = [
        json.loads(payload.data)
        for event in events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        for field, payload in payloads_in(event)
        if field != "summary" and payload.metadata.get("encoding") != ENCODING
    ]
    assert bookkeeping and all(set(entry) <= MARKER_BOOKKEEPING for entry in bookkeeping)
    clear = [
        payload
        for event in events
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED
        for field, payload in payloads_in(event)
        if field not in ("indexed_fields", "summary", "details")
        and payload.metadata.get("encoding") != ENCODING
    ]
    assert [json.loads(payload.data)["outcome"] for payload in clear] == [PLAIN_OUTCOME]
    sealed = [payload for _, payload in found if payload.metadata.get("encoding") == ENCODING]
    assert len(sealed) > 10
    assert {payload.metadata[KEY_ID] for payload in sealed} == {codec.key_id.encode()}
