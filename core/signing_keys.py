"""An identity provider's published signing keys (its JWKS), kept for every check of its tokens.

The keys are fetched when first needed and again when a token names a key id the set lacks (the
provider may have rotated), but at most once a minute: tokens with made-up key ids cannot make
the service hammer the provider. The pages' sign-in (web/identity_providers.py) and the codec's
access-token check (api/oidc.py) share one cache per JWKS address.
"""

import time
from collections.abc import Collection
from typing import Any, cast

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet, KeySetSerialization

REFETCH_AT_MOST_EVERY_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 10.0


class KeysUnavailable(Exception):
    """The provider's JWKS could not be read (the message names the error type, no more)."""


class SigningKeys:
    def __init__(self, jwks_url: str) -> None:
        self.jwks_url = jwks_url
        self.document: dict[str, Any] | None = None
        self._fetched_at = float("-inf")

    async def _fetch(self) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as http:
                answer = await http.get(self.jwks_url)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            reason = type(exc).__name__
            raise KeysUnavailable(f"the provider's keys cannot be read: {reason}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeysUnavailable("the provider's keys are not a JWK set")
        self.document, self._fetched_at = document, time.monotonic()
        return document

    async def current(self) -> dict[str, Any]:
        """The JWK set as last fetched (fetched now if never)."""
        return self.document if self.document is not None else await self._fetch()

    async def refreshed(self) -> dict[str, Any]:
        """The JWK set fetched again, unless it was fetched less than a minute ago."""
        if time.monotonic() - self._fetched_at < REFETCH_AT_MOST_EVERY_SECONDS:
            return await self.current()
        return await self._fetch()

    async def decode(self, token: str, algorithms: Collection[str]) -> jwt.Token:
        """The token's header and claims, its signature checked (its claims not yet)."""
        try:
            return jwt.decode(token, _key_set(await self.current()), algorithms)
        except InvalidKeyIdError:
            return jwt.decode(token, _key_set(await self.refreshed()), algorithms)


def _key_set(document: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set(cast(KeySetSerialization, document))


def keys_for(cache: dict[str, SigningKeys], jwks_url: str) -> SigningKeys:
    """The one cache of `jwks_url`'s keys in `cache` (an app's, shared by its checks)."""
    if jwks_url not in cache:
        cache[jwks_url] = SigningKeys(jwks_url)
    return cache[jwks_url]
