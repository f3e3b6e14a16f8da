"""The codec server: the partnership reads and writes Temporal payloads, nobody else, from the UI's
origin only. Real HTTP, real payloads sealed by the service's own data converter, and the real
Temporal CLI reading a history through it."""

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.routes.codec_server import MAX_BODY_BYTES
from core.payload_crypto import ENCODING, KEY_ID, EncryptionCodec, PayloadKey
from core.temporal import data_converter
from tests.api_stack import ApiStack
from tests.conftest import new_key, revoked
from tests.ladders import CHILDRENS_SERVICES, PARTNERSHIP, POLICE
from workflows.models import NoteSignal

NOTE = NoteSignal(by="Ms Adeyemi (DSL)", text="Disclosed bruising to her upper arm at school")
UI_ORIGIN = "http://127.0.0.1:8233"  # the dev server's Web UI, CODEC_CORS_ORIGIN's default


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    """What the Temporal UI and CLI send: protobuf JSON, bytes in base64."""
    return json_format.MessageToDict(Payloads(payloads=payloads))


def from_json(body: dict[str, Any]) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


async def codec_call(
    stack: ApiStack, operation: str, payloads: list[Payload], headers: dict[str, str]
) -> httpx.Response:
    return await stack.http.post(
        f"/codec/{operation}",
        json=as_json(payloads),
        headers={"X-Namespace": stack.settings.temporal_namespace, **headers},
    )


async def test_the_partnership_reads_what_the_service_sealed(api_stack: ApiStack) -> None:
    converter = data_converter(api_stack.settings)
    board = await api_stack.key(PARTNERSHIP, "board")
    sealed = await converter.encode([NOTE])
    [typed] = converter.payload_converter.to_payloads([{"by": "Ops", "text": "checked"}])
    assert sealed[0].metadata["encoding"] == ENCODING
    assert b"bruising" not in sealed[0].SerializeToString()

    response = await codec_call(api_stack, "decode", [*sealed, typed], board)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    opened, passed_through = from_json(response.json())
    assert converter.payload_converter.from_payloads([opened], [NoteSignal]) == [NOTE]
    assert passed_through == typed  # typed into the UI unencrypted: comes back as it was


async def test_the_partnership_seals_what_it_types_into_the_ui(api_stack: ApiStack) -> None:
    converter = data_converter(api_stack.settings)
    board = await api_stack.key(PARTNERSHIP, "board")
    typed = converter.payload_converter.to_payloads([NOTE])

    response = await codec_call(api_stack, "encode", typed, board)

    assert response.status_code == 200, response.text
    [sealed] = from_json(response.json())
    assert sealed.metadata["encoding"] == ENCODING and KEY_ID in sealed.metadata
    assert "bruising" not in response.text
    assert await converter.decode([sealed], [NoteSignal]) == [NOTE]


@pytest.mark.parametrize("operation", ["decode", "encode"])
async def test_only_partnership_keys_may_use_the_codec(api_stack: ApiStack, operation: str) -> None:
    sealed = await data_converter(api_stack.settings).encode([NOTE])
    former, token = await new_key(
        api_stack.engine, name="Former chair", agency=PARTNERSHIP, role="board"
    )
    assert former.id is not None
    await revoked(api_stack.engine, former.id)
    callers: dict[str, tuple[dict[str, str], int]] = {
        "no key": ({}, 401),
        "not a key": ({"Authorization": "Bearer esk_not-a-key"}, 401),
        "revoked board key": ({"Authorization": f"Bearer {token}"}, 401),
        "practitioner": (await api_stack.key(POLICE, "practitioner"), 403),
        "manager": (await api_stack.key(CHILDRENS_SERVICES, "manager"), 403),
        "executive": (await api_stack.key(POLICE, "executive"), 403),
        "board": (await api_stack.key(PARTNERSHIP, "board"), 200),
    }

    for who, (headers, expected) in callers.items():
        response = await codec_call(api_stack, operation, sealed, headers)

        assert response.status_code == expected, (who, response.text)
        if expected == 200:
            continue
        assert response.headers["content-type"] == "application/problem+json"
        assert "bruising" not in response.text
        if expected == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert (
                response.json()["detail"]
                == "Reading or writing Temporal payloads needs a board key."
            )


async def test_a_payload_that_cannot_be_decrypted_is_a_bad_request(api_stack: ApiStack) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    [sealed] = await data_converter(api_stack.settings).encode([NOTE])
    altered = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    stranger = EncryptionCodec([PayloadKey("someone-elses", bytes(32))])
    [foreign] = await stranger.encode([Payload(data=b"sealed elsewhere")])

    for payload, problem in [
        (altered, "fails authentication"),
        (foreign, "key 'someone-elses', which is not in PAYLOAD_KEYS"),
    ]:
        response = await codec_call(api_stack, "decode", [payload], board)

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert problem in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"payloads": [{"data": "not base64!"}]}', 422),
        ('{"payloads": [{"data": "", "surprise": 1}]}', 422),
        ('{"payloads": "none"}', 422),
        ('{"payloads": [', 400),
    ],
)
async def test_malformed_requests_are_refused(api_stack: ApiStack, body: str, status: int) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    response = await api_stack.http.post(
        "/codec/decode", content=body, headers={**board, "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_codec_takes_bodies_up_to_its_own_larger_limit(api_stack: ApiStack) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    converter = data_converter(api_stack.settings)
    # Well over the limit of the API's other routes, well under the codec's.
    typed = converter.payload_converter.to_payloads(["x" * 2 * api_stack.settings.max_body_bytes])
    assert (await codec_call(api_stack, "encode", typed, board)).status_code == 200

    too_large = b" " * (MAX_BODY_BYTES + 1)
    response = await api_stack.http.post(
        "/codec/encode", content=too_large, headers={**board, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert f"({MAX_BODY_BYTES} bytes)" in response.json()["detail"]


async def test_another_namespace_is_refused(api_stack: ApiStack) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    sealed = await data_converter(api_stack.settings).encode([NOTE])
    response = await codec_call(api_stack, "decode", sealed, {**board, "X-Namespace": "payments"})
    assert response.status_code == 400
    assert "serves the 'default' namespace only" in response.json()["detail"]


# --- the browser: CORS for the Temporal UI's origin, on /codec only ----------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }


async def test_the_ui_origin_may_call_the_codec_from_a_browser(api_stack: ApiStack) -> None:
    assert api_stack.settings.codec_cors_origin == UI_ORIGIN
    board = await api_stack.key(PARTNERSHIP, "board")
    sealed = await data_converter(api_stack.settings).encode([NOTE])

    allowed = await api_stack.http.options("/codec/decode", headers=preflight(UI_ORIGIN))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert {"authorization", "content-type", "x-namespace"} <= {
        header.strip().lower()
        for header in allowed.headers["access-control-allow-headers"].split(",")
    }
    assert "POST" in allowed.headers["access-control-allow-methods"]

    decoded = await codec_call(api_stack, "decode", sealed, {**board, "Origin": UI_ORIGIN})
    assert decoded.status_code == 200
    assert decoded.headers["access-control-allow-origin"] == UI_ORIGIN
    refused = await codec_call(api_stack, "decode", sealed, {"Origin": UI_ORIGIN})
    assert refused.status_code == 401  # and the UI may read why
    assert refused.headers["access-control-allow-origin"] == UI_ORIGIN


async def test_other_origins_and_other_routes_get_no_cors(api_stack: ApiStack) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    sealed = await data_converter(api_stack.settings).encode([NOTE])
    elsewhere = "https://attacker.example"

    refused = await api_stack.http.options("/codec/decode", headers=preflight(elsewhere))
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    answered = await codec_call(api_stack, "decode", sealed, {**board, "Origin": elsewhere})
    assert "access-control-allow-origin" not in answered.headers  # the browser withholds it

    for path in ("/escalations", "/healthz"):
        listed = await api_stack.http.get(path, headers={**board, "Origin": UI_ORIGIN})
        assert listed.status_code == 200
        assert "access-control-allow-origin" not in listed.headers
    not_preflighted = await api_stack.http.options("/escalations", headers=preflight(UI_ORIGIN))
    assert "access-control-allow-origin" not in not_preflighted.headers


# --- the Temporal CLI reads a real history through the codec -----------------------------------


async def temporal_show(
    stack: ApiStack, workflow_id: str, *codec: str
) -> subprocess.CompletedProcess[str]:
    """`temporal workflow show`, in a thread: the codec it calls answers on this event loop."""
    return await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).parent / "temporal"),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            stack.settings.temporal_address,
            "--namespace",
            stack.settings.temporal_namespace,
            "--output",
            "json",
            *codec,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def payload_data(output: str) -> str:
    """Every payload's data in `temporal workflow show --output json`, out of its base64."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if {"metadata", "data"} <= node.keys():
                found.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(output))
    return "\n".join(found)


async def test_the_temporal_cli_shows_a_history_through_the_codec(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    board = await api_stack.key(PARTNERSHIP, "board")
    raised = await api_stack.http.post(
        "/escalations",
        json={
            "receiving_agency": CHILDRENS_SERVICES,
            "child_reference": "NP-4410",
            "summary": "Referral closed as threshold not met.",
        },
        headers=raiser,
    )
    escalation = raised.json()["id"]
    noted = await api_stack.http.post(
        f"/escalations/{escalation}/notes", json={"text": NOTE.text}, headers=raiser
    )
    assert noted.status_code == 200
    endpoint = f"{api_stack.settings.public_url}/codec"

    plain = await temporal_show(api_stack, escalation)
    through_codec = await temporal_show(
        api_stack,
        escalation,
        "--codec-endpoint",
        endpoint,
        "--codec-auth",
        board["Authorization"],
    )

    assert plain.returncode == 0, plain.stderr
    assert through_codec.returncode == 0, through_codec.stderr
    assert escalation in plain.stdout and NOTE.text not in payload_data(plain.stdout)
    assert NOTE.text in payload_data(through_codec.stdout)
