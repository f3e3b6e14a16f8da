"""Identity-provider access tokens for the codec: the Temporal UI, signed in with the
partnership's OpenID Connect provider, passes its user's token (TEMPORAL_CODEC_PASS_ACCESS_TOKEN).

A token is accepted when it is an RS256 JWT signed by a key of CODEC_OIDC_JWKS_URL, from
CODEC_OIDC_ISSUER, for CODEC_OIDC_AUDIENCE, in date; the person is the directory's person with the
token's `email` claim, so who may decode is still decided by the directory, not the provider.
"""

import base64
import json
import time
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Clock difference tolerated between the provider and this service.
LEEWAY_SECONDS = 60
JWKS_TTL_SECONDS = 300


class TokenRefused(Exception):
    """Not a token this service accepts; the message says why (never the token)."""


def _part(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _number(text: str) -> int:
    return int.from_bytes(_part(text), "big")


class ProviderKeys:
    """The provider's signing keys (its JWKS), fetched when needed and kept a while."""

    def __init__(self, jwks_url: str) -> None:
        self.jwks_url = jwks_url
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched = 0.0

    async def _fetch(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                document = (await http.get(self.jwks_url)).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TokenRefused(f"the provider's keys cannot be read: {type(exc).__name__}") from exc
        self._keys = {
            str(key.get("kid", "")): rsa.RSAPublicNumbers(
                _number(key["e"]), _number(key["n"])
            ).public_key()
            for key in document.get("keys", [])
            if key.get("kty") == "RSA" and key.get("use", "sig") == "sig"
        }
        self._fetched = time.monotonic()

    async def key(self, kid: str) -> rsa.RSAPublicKey:
        stale = time.monotonic() - self._fetched > JWKS_TTL_SECONDS
        if stale or kid not in self._keys:  # a new key id: the provider may have rotated
            await self._fetch()
        if kid not in self._keys:
            raise TokenRefused("signed with a key the provider does not publish")
        return self._keys[kid]


async def verified_claims(
    token: str, keys: ProviderKeys, *, issuer: str, audience: str
) -> dict[str, Any]:
    try:
        header_part, payload_part, signature_part = token.split(".")
        header = json.loads(_part(header_part))
        claims: dict[str, Any] = json.loads(_part(payload_part))
        signature = _part(signature_part)
    except ValueError as exc:
        raise TokenRefused("not a JWT") from exc
    if header.get("alg") != "RS256":
        raise TokenRefused("only RS256 tokens are accepted")
    key = await keys.key(str(header.get("kid", "")))
    try:
        key.verify(
            signature,
            f"{header_part}.{payload_part}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as exc:
        raise TokenRefused("bad signature") from exc
    now = time.time()
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if claims.get("iss") != issuer:
        raise TokenRefused("from another issuer")
    if audience not in audiences:
        raise TokenRefused("for another audience")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - LEEWAY_SECONDS:
        raise TokenRefused("expired")
    if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > now + LEEWAY_SECONDS:
        raise TokenRefused("not valid yet")
    return claims
