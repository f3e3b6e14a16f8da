"""Identity-provider access tokens for the codec: the Temporal UI, signed in with the
partnership's OpenID Connect provider, passes its user's token (TEMPORAL_CODEC_PASS_ACCESS_TOKEN).

A token is accepted when it is an RS256 JWT signed by a key of CODEC_OIDC_JWKS_URL, from
CODEC_OIDC_ISSUER, for CODEC_OIDC_AUDIENCE, in date (joserfc checks all of it; the keys come from
the app's one cache, core/signing_keys.py); the person is the directory's person with the token's
`email` claim, so who may decode is still decided by the directory, not the provider.
"""

from typing import Any

from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from core.signing_keys import KeysUnavailable, SigningKeys

# Clock difference tolerated between the provider and this service.
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256"]


class TokenRefused(Exception):
    """Not a token this service accepts; the message says why (never the token)."""


async def verified_claims(
    token: str, keys: SigningKeys, *, issuer: str, audience: str
) -> dict[str, Any]:
    try:
        checked = await keys.decode(token, ALGORITHMS)
        JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
        ).validate(checked.claims)
    except KeysUnavailable as exc:
        raise TokenRefused(str(exc)) from None
    except (JoseError, ValueError) as exc:
        raise TokenRefused(f"{type(exc).__name__}: {getattr(exc, 'description', '')}") from None
    return checked.claims
