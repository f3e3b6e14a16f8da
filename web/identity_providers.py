"""The OpenID Connect providers people may sign in with, beside the mailed link.

They come from OIDC_PROVIDERS_FILE (TOML, `[[providers]]`, config/identity-providers.example.toml)
and, for a single provider, from OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and
OIDC_PROVIDER_NAME. Each is an Authlib client (Starlette integration) with the service's own
checks on top: the discovery document must name the configured issuer, ID tokens must be signed
with an asymmetric algorithm (never `none`, never HS256 keyed with the client secret), and the
provider's keys come from the app's one cache (core/signing_keys.py).
"""

import os
import tomllib
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.starlette_client import StarletteIntegration, StarletteOAuth2App
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from core.directory import normalised
from core.settings import Settings
from core.signing_keys import KeysUnavailable, SigningKeys, keys_for
from database.directory_people import Person
from workflows.policy import Role, role_rank

SCOPES = "openid email profile"
CALLBACK_PATH = "/sign-in/oidc/callback"
# Public-key signatures only: `none` and the HMAC family (keyed with the client secret) are out.
ID_TOKEN_ALGORITHMS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "EdDSA"),
)
LOCAL_HOSTS = ("localhost", "127.0.0.1")
ENV_PROVIDER_ID = "oidc"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class IdentityProvider(BaseModel):
    """One provider as configured: who it is, how to reach it and whom it may sign in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")  # in addresses; never "callback"
    name: str = Field(min_length=1, max_length=100)  # "Sign in with <name>"
    issuer: str = Field(max_length=500)
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: SecretStr | None = None
    client_secret_env: str | None = None  # the secret from this environment variable instead
    # Whom it may sign in: people of these agencies, or whose address is at these domains;
    # all_agencies for a partnership-wide provider.
    agencies: list[str] = Field(default_factory=list)
    email_domains: list[str] = Field(default_factory=list)
    all_agencies: bool = False
    # Work accounts whose addresses the organisation verifies (Entra ID): no `email_verified`
    # needed; `email`, else `preferred_username`, is the address.
    email_verified_by_organisation: bool = False
    # Roles for directory people the directory gives none: group id or name -> role.
    groups_claim: str = "groups"
    group_roles: dict[str, Role] = Field(default_factory=dict)

    @field_validator("issuer")
    @classmethod
    def _https_or_local(cls, issuer: str) -> str:
        parts = urlsplit(issuer)
        local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and parts.port
        if not (parts.scheme == "https" and parts.hostname) and not local:
            raise ValueError("must be https:// (or http://localhost:PORT, http://127.0.0.1:PORT)")
        return issuer

    @field_validator("group_roles")
    @classmethod
    def _agency_roles(cls, roles: dict[str, Role]) -> dict[str, Role]:
        # The partnership's people are the directory's board and business unit, never a group's.
        if "board" in roles.values():
            raise ValueError(
                "groups give practitioner, manager or executive; board is the directory's"
            )
        return roles

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.id == "callback":
            raise ValueError("id 'callback' is taken by the callback address")
        if self.client_secret is None and not self.client_secret_env:
            raise ValueError("give client_secret or client_secret_env")
        if not (self.agencies or self.email_domains or self.all_agencies):
            raise ValueError("say whom it may sign in: agencies, email_domains or all_agencies")
        return self

    def secret(self) -> str:
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        value = os.environ.get(self.client_secret_env or "")
        if not value:
            missing = self.client_secret_env
            raise IdentityProviderError(f"provider {self.id!r}: {missing} is not set")
        return value

    def vouched_email(self, claims: dict[str, Any]) -> str | None:
        """The address the token vouches for: `email` with `email_verified` true or, from an
        organisation that verifies its accounts' addresses, `email` else `preferred_username`."""
        if self.email_verified_by_organisation:
            email = claims.get("email") or claims.get("preferred_username")
        else:
            email = claims.get("email") if claims.get("email_verified") is True else None
        return email if isinstance(email, str) and "@" in email else None

    def may_sign_in(self, person: Person) -> bool:
        domain = person.email.rpartition("@")[2].casefold()
        return (
            self.all_agencies
            or domain in {d.casefold() for d in self.email_domains}
            or normalised(person.agency) in {normalised(a) for a in self.agencies}
        )

    def role_from_groups(self, claims: dict[str, Any]) -> Role | None:
        """The highest role the token's groups map to (None when none maps)."""
        groups = claims.get(self.groups_claim)
        if not isinstance(groups, list):
            return None
        roles: list[Role] = [
            self.group_roles[g] for g in groups if isinstance(g, str) and g in self.group_roles
        ]
        if not roles:
            return None
        return max(roles, key=role_rank)


class IdentityProviderError(ValueError):
    pass


class ProvidersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[IdentityProvider] = Field(default_factory=list)


def load_providers(settings: Settings) -> list[IdentityProvider]:
    """The file's providers, then the one of the environment; ids are unique."""
    found: list[IdentityProvider] = []
    path: Path | None = settings.oidc_providers_file
    try:
        if path is not None:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
            found += ProvidersFile.model_validate(document).providers
        if settings.oidc_issuer:
            found.append(
                IdentityProvider(
                    id=ENV_PROVIDER_ID,
                    name=settings.oidc_provider_name,
                    issuer=settings.oidc_issuer,
                    client_id=settings.oidc_client_id or "",
                    client_secret=settings.oidc_client_secret,
                    all_agencies=True,
                    email_verified_by_organisation=settings.oidc_email_verified_by_organisation,
                )
            )
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise IdentityProviderError(f"{path}: cannot read providers file: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            ".".join(str(p) for p in err["loc"]) + f": {err['msg']}" for err in exc.errors()
        )
        raise IdentityProviderError(f"identity providers: {problems}") from exc
    ids = [p.id for p in found]
    if len(set(ids)) != len(ids):
        raise IdentityProviderError(f"identity providers: ids must differ ({', '.join(ids)})")
    return found


class ProviderUnusable(Exception):
    """The provider's discovery cannot be used (the message says why)."""


class ProviderClient(StarletteOAuth2App):
    """Authlib's OpenID Connect client for one provider, with the service's checks."""

    def __init__(self, provider: IdentityProvider, signing_keys: dict[str, SigningKeys]) -> None:
        super().__init__(
            StarletteIntegration(provider.id),
            name=provider.id,
            client_id=provider.client_id,
            client_secret=provider.secret(),
            server_metadata_url=provider.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "timeout": 10},
        )
        self.provider = provider
        self._signing_keys = signing_keys

    async def load_server_metadata(self) -> dict[str, Any]:
        if "_loaded_at" in self.server_metadata:
            return dict(self.server_metadata)
        metadata: dict[str, Any] = await super().load_server_metadata()
        if metadata.get("issuer") != self.provider.issuer or not metadata.get("jwks_uri"):
            self.server_metadata.clear()  # looked at again next time
            raise ProviderUnusable("its discovery document names another issuer or no keys")
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        self.server_metadata["id_token_signing_alg_values_supported"] = [
            alg for alg in offered if alg in ID_TOKEN_ALGORITHMS
        ]
        await self.keys(metadata).current()  # the keys are fetched on discovery
        return dict(self.server_metadata)

    def keys(self, metadata: dict[str, Any]) -> SigningKeys:
        return keys_for(self._signing_keys, str(metadata["jwks_uri"]))

    async def sign_out_url(self, come_back_to: str) -> str | None:
        """Where the browser ends its session at the provider (RP-initiated logout); None when
        the provider publishes no end_session_endpoint or cannot be reached."""
        try:
            if not (await self.load_server_metadata()).get("end_session_endpoint"):
                return None
            logout = await self.create_logout_url(
                post_logout_redirect_uri=come_back_to, client_id=self.client_id
            )
        except (httpx2.HTTPError, KeysUnavailable, ProviderUnusable):
            return None
        return str(logout["url"])

    async def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        """Authlib asks again with force=True for an unknown key id: at most once a minute."""
        keys = self.keys(await self.load_server_metadata())
        return await (keys.refreshed() if force else keys.current())


def provider_clients(
    providers: list[IdentityProvider], signing_keys: dict[str, SigningKeys]
) -> dict[str, ProviderClient]:
    return {p.id: ProviderClient(p, signing_keys) for p in providers}
