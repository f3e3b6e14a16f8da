"""/codec: Temporal's remote codec protocol, so an entitled person can read payloads in the UI.

The Temporal Web UI and CLI POST `{"payloads": [{"metadata": {...}, "data": "..."}]}` (protobuf
JSON: bytes in base64) to `<endpoint>/decode` or `<endpoint>/encode`, with an `X-Namespace` header
and, when told to pass an access token, `Authorization: Bearer <token>`. Decoded payloads hold
what practitioners wrote about children, so only CODEC_ROLE keys, or a signed-in partnership
person (database.directory_people.Person.operator: the service's session cookie, sent by the UI
when its "include cross-origin credentials" setting is on), may use it; every use is logged
(who, how many payloads, never what they say). Set-up: docs/security.md and docs/operations.md.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from api.deps import BearerDep, caller_key
from api.keys import TOKEN_PREFIX
from api.oidc import TokenRefused, verified_claims
from api.problems import PROBLEM_RESPONSES, ProblemError
from casework import reading
from casework.dependencies import SessionDep, SettingsDep, TemporalDep
from core.payload_crypto import PayloadDecryptError
from core.settings import Settings
from core.signing_keys import keys_for
from database.case_cipher import sealers, unlock_all
from database.directory_people import find_active_person
from web.page_context import signed_in_viewer
from workflows.policy import Role

log = structlog.get_logger(__name__)

# The partnership: its people decide at the top of every ladder and see every escalation.
CODEC_ROLE: Role = "board"
# Temporal refuses payloads over 2 MB; one request carries an event's payloads, in base64.
# (The app's BodyLimit holds the codec's requests to this.)
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PAYLOADS = 1_000

Base64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/_-]*={0,2}$")]


class CodecPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Base64] = Field(default_factory=dict)
    data: Base64 = ""


class CodecPayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[CodecPayload] = Field(default_factory=list, max_length=MAX_PAYLOADS)


@dataclass(frozen=True)
class CodecUser:
    """Who reads or writes payloads: a key (by id) or a signed-in person (by email)."""

    via: str
    who: str
    name: str
    agency: str


async def _entitled(
    request: Request, db: SessionDep, settings: SettingsDep, credentials: BearerDep
) -> CodecUser:
    if credentials is None and "escalations_session" in request.cookies:
        # Only from the UI's origin (or a same-origin call): a session cookie rides along on
        # any request the browser makes, so other sites must not get to spend it.
        origin = request.headers.get("origin")
        if origin is not None and origin not in (settings.codec_cors_origin, settings.public_url):
            raise ProblemError(403, "The codec takes a session only from the Temporal UI.")
        viewer = await signed_in_viewer(request, db)
        if viewer is not None:
            if not viewer.person.operator:
                raise ProblemError(
                    403, "Reading or writing Temporal payloads needs a partnership person."
                )
            person = viewer.person
            return CodecUser("session", person.email, person.name, person.agency)
    token = credentials.credentials if credentials else ""
    if settings.codec_oidc_issuer and token and not token.startswith(TOKEN_PREFIX):
        return await _provider_person(request, db, settings, token)
    caller = await caller_key(request, db, credentials)
    if caller.role != CODEC_ROLE:
        raise ProblemError(403, f"Reading or writing Temporal payloads needs a {CODEC_ROLE} key.")
    return CodecUser("key", str(caller.id), caller.name, caller.agency)


async def _provider_person(
    request: Request, db: AsyncSession, settings: Settings, token: str
) -> CodecUser:
    """The directory's person named by an identity-provider access token (api/oidc.py)."""
    try:
        claims = await verified_claims(
            token,
            keys_for(request.app.state.signing_keys, settings.codec_oidc_jwks_url or ""),
            issuer=settings.codec_oidc_issuer or "",
            audience=settings.codec_oidc_audience or "",
        )
    except TokenRefused as exc:
        log.info("codec token refused", reason=str(exc))
        raise ProblemError(401, f"The access token is not accepted: {exc}.") from None
    email = claims.get("email")
    person = await find_active_person(db, email) if isinstance(email, str) else None
    if person is None or not person.operator:
        raise ProblemError(403, "Reading or writing Temporal payloads needs a partnership person.")
    return CodecUser("oidc", person.email, person.name, person.agency)


def _codec(temporal: TemporalDep) -> PayloadCodec:
    # The API's own client codec (core.temporal.data_converter): the same keys as the worker.
    codec = temporal.data_converter.payload_codec
    assert codec is not None
    return codec


EntitledDep = Annotated[CodecUser, Depends(_entitled)]
CodecDep = Annotated[PayloadCodec, Depends(_codec)]
Namespace = Annotated[
    str | None,
    Header(
        alias="X-Namespace",
        max_length=1000,
        description="The Temporal namespace the payloads come from (sent by the UI and CLI).",
    ),
]

router = APIRouter(
    prefix="/codec",
    tags=["codec"],
    responses={status: PROBLEM_RESPONSES[status] for status in (400, 401, 403, 413, 422, 429)},
)


def _check_namespace(served: str, namespace: str | None) -> None:
    if namespace is not None and namespace != served:
        raise ProblemError(
            400,
            f"This codec serves the {served!r} namespace only; its keys cannot read another "
            "namespace's payloads.",
        )


def _payloads(body: CodecPayloads) -> Payloads:
    try:
        return json_format.ParseDict(body.model_dump(exclude_defaults=True), Payloads())
    except json_format.ParseError as exc:
        raise ProblemError(400, f"The payloads cannot be read: {exc}") from None


def _answer(payloads: Payloads) -> JSONResponse:
    # Protobuf JSON, as the UI and CLI parse it (an empty list is left out, as protobuf does).
    return JSONResponse(json_format.MessageToDict(payloads))


def _log_use(event: str, caller: CodecUser, count: int) -> None:
    log.info(
        event, via=caller.via, who=caller.who, name=caller.name, agency=caller.agency, count=count
    )


async def _opened(db: AsyncSession, payloads: Sequence[Payload]) -> list[Payload]:
    """The texts sealed with an escalation's own key (notes, reasons, outcomes) opened too;
    "[erased]" once retention has destroyed that key (database/case_cipher.py)."""
    documents: list[Any] = []
    for payload in payloads:
        try:
            sealed = payload.metadata.get("encoding") == b"json/plain"
            documents.append(json.loads(payload.data) if sealed else None)
        except ValueError:
            documents.append(None)
    keys = await reading.case_keys(db, set().union(*(sealers(d) for d in documents)))
    return [
        payload
        if document is None or not sealers(document)
        else Payload(
            metadata=payload.metadata,
            data=json.dumps(unlock_all(keys, document), ensure_ascii=False).encode(),
        )
        for payload, document in zip(payloads, documents, strict=True)
    ]


@router.post("/decode", response_model=CodecPayloads)
async def decode(
    body: CodecPayloads,
    caller: EntitledDep,
    codec: CodecDep,
    settings: SettingsDep,
    db: SessionDep,
    namespace: Namespace = None,
) -> JSONResponse:
    """Decrypt payloads as stored in Temporal's history (plain ones come back unchanged), and
    the texts in them sealed with their escalation's own key, unless erased."""
    _check_namespace(settings.temporal_namespace, namespace)
    try:
        decoded = await codec.decode(_payloads(body).payloads)
    except PayloadDecryptError as exc:
        raise ProblemError(400, f"A payload cannot be decrypted: {exc}") from None
    _log_use("payloads decoded", caller, len(body.payloads))
    return _answer(Payloads(payloads=await _opened(db, decoded)))


@router.post("/encode", response_model=CodecPayloads)
async def encode(
    body: CodecPayloads,
    caller: EntitledDep,
    codec: CodecDep,
    settings: SettingsDep,
    namespace: Namespace = None,
) -> JSONResponse:
    """Encrypt payloads typed into the UI or CLI (a signal's input) before Temporal stores them."""
    _check_namespace(settings.temporal_namespace, namespace)
    encoded = await codec.encode(_payloads(body).payloads)
    _log_use("payloads encoded", caller, len(body.payloads))
    return _answer(Payloads(payloads=encoded))


class CodecCors:
    """CORS on /codec only, for the Temporal UI's origin only: every other route stays same-origin.

    The UI sends credentials and an Authorization header, so its preflight must be answered with
    that exact origin (never `*`); other origins get no CORS headers and a refused preflight.
    """

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=[origin],
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if scope["type"] == "http" and path.startswith(f"{router.prefix}/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
