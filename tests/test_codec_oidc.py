"""The codec and the Temporal UI's identity-provider token: an RS256 access token from the
partnership's provider names a directory person; only the partnership may decode. The provider's
keys come from a real HTTP server (its JWKS), the API over real HTTP."""

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_app
from tests.api_stack import serve
from tests.conftest import isolated_settings
from tests.engine_helpers import SQLITE_ONLY
from tests.ladders import CHAIR, CS_MANAGER, directory_file
from tests.pages_stack import DIRECTORY
from tests.ports import listening_socket, port_of

pytestmark = SQLITE_ONLY
ISSUER = "https://login.partnership.example/realms/partnership"
AUDIENCE = "temporal-ui"
PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
# {"a": 1} as json/plain: a signal's input, which the codec encrypts.
BODY = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJhIjoxfQ=="}]}
ENCRYPTED = base64.b64encode(b"binary/encrypted").decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": _b64(n), "e": "AQAB"}


def token(email: str, *, key: rsa.RSAPrivateKey = PROVIDER_KEY, **claims: Any) -> str:
    header = _b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
    body = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "email": email}
    payload = _b64(json.dumps({**body, **claims}).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


@pytest.fixture
async def codec_api(
    database_url: str, tmp_path: Path, payload_key_file: Path, held_port: int
) -> AsyncIterator[httpx.AsyncClient]:
    jwks = Starlette(
        routes=[Route("/certs", lambda _: JSONResponse({"keys": [_jwk(PROVIDER_KEY, "k1")]}))]
    )
    jwks_socket, api_socket = listening_socket(), listening_socket()
    jwks_port, api_port = port_of(jwks_socket), port_of(api_socket)
    jwks_server, jwks_task = await serve(jwks, jwks_socket)
    directory_file(tmp_path / "directory.toml", DIRECTORY)
    settings = isolated_settings(
        database_url=database_url,
        directory_file=tmp_path / "directory.toml",
        payload_key_file=payload_key_file,
        temporal_address=f"127.0.0.1:{held_port}",  # the codec needs no Temporal server
        codec_oidc_issuer=ISSUER,
        codec_oidc_audience=AUDIENCE,
        codec_oidc_jwks_url=f"http://127.0.0.1:{jwks_port}/certs",
    )
    api_server, api_task = await serve(create_app(settings), api_socket)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            yield http
    finally:
        for server, task in ((api_server, api_task), (jwks_server, jwks_task)):
            server.should_exit = True
            await task


async def encode(http: httpx.AsyncClient, bearer: str) -> httpx.Response:
    return await http.post(
        "/codec/encode", json=BODY, headers={"Authorization": f"Bearer {bearer}"}
    )


async def test_a_partnership_persons_provider_token_is_accepted(
    codec_api: httpx.AsyncClient,
) -> None:
    answer = await encode(codec_api, token(CHAIR.upper()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["payloads"][0]["metadata"]["encoding"] == ENCRYPTED


@pytest.mark.parametrize(
    ("bearer", "expected"),
    [
        (lambda: token(CS_MANAGER), 403),  # in the directory, not the partnership
        (lambda: token("stranger@elsewhere.example.org"), 403),
        (lambda: token(CHAIR, key=OTHER_KEY), 401),  # not the provider's signature
        (lambda: token(CHAIR, exp=int(time.time()) - 3600), 401),
        (lambda: token(CHAIR, aud="another-client"), 401),
        (lambda: token(CHAIR, iss="https://evil.example"), 401),
        (lambda: "not.a.jwt", 401),
    ],
)
async def test_other_tokens_are_refused(
    codec_api: httpx.AsyncClient, bearer: Any, expected: int
) -> None:
    answer = await encode(codec_api, bearer())
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
