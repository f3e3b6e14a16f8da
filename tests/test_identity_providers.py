"""The providers' settings: from a file and from the environment, and which issuers are taken."""

from pathlib import Path

import pytest

from core.settings import Settings
from web.identity_providers import IdentityProvider, IdentityProviderError, load_providers


def test_providers_from_the_environment_and_the_issuer_rule(tmp_path: Path) -> None:
    env = Settings(
        _env_file=None,
        oidc_issuer="http://localhost:9000",
        oidc_client_id="escalations",
        oidc_client_secret="s3cret",
        oidc_provider_name="Northshire Council",
    )
    [provider] = load_providers(env)
    assert (provider.id, provider.name, provider.all_agencies) == (
        "oidc",
        "Northshire Council",
        True,
    )
    base = {"id": "p", "name": "P", "client_id": "c", "client_secret": "s", "all_agencies": True}
    for issuer in ("http://127.0.0.1:8080", "https://login.microsoftonline.com/t/v2.0"):
        assert IdentityProvider.model_validate({**base, "issuer": issuer}).issuer == issuer
    for issuer in ("http://login.example.org", "http://localhost", "ftp://localhost:21"):
        with pytest.raises(ValueError, match="https"):
            IdentityProvider.model_validate({**base, "issuer": issuer})
    (tmp_path / "p.toml").write_text('[[providers]]\nid = "p"\nname = "P"\nissuer = "https://x"')
    with pytest.raises(IdentityProviderError, match="client_id"):
        load_providers(Settings(_env_file=None, oidc_providers_file=tmp_path / "p.toml"))


def test_the_example_file_loads_with_its_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "identity-providers.example.toml"
    monkeypatch.setenv("NORTHSHIRE_ENTRA_SECRET", "entra-secret")
    monkeypatch.setenv("NHS_OIDC_SECRET", "nhs-secret")
    council, nhs = load_providers(Settings(_env_file=None, oidc_providers_file=example))
    assert (council.secret(), nhs.secret()) == ("entra-secret", "nhs-secret")
    assert council.email_verified_by_organisation and not nhs.email_verified_by_organisation
    groups = {"groups": ["someone-else", "22222222-2222-2222-2222-222222222222"]}
    assert council.role_from_groups(groups) == "manager"
    assert council.role_from_groups({"groups": "not-a-list"}) is None
    monkeypatch.delenv("NHS_OIDC_SECRET")
    with pytest.raises(IdentityProviderError, match="NHS_OIDC_SECRET"):
        nhs.secret()


def test_groups_never_give_the_partnerships_role() -> None:
    provider = {"id": "p", "name": "P", "issuer": "https://p.example", "client_id": "c"}
    with pytest.raises(ValueError, match="board is the directory's"):
        IdentityProvider.model_validate(
            {**provider, "client_secret": "s", "all_agencies": True, "group_roles": {"g": "board"}}
        )


def test_the_address_a_token_vouches_for() -> None:
    base = {"id": "p", "name": "P", "issuer": "https://p.example", "client_id": "c"}
    plain = IdentityProvider.model_validate({**base, "client_secret": "s", "all_agencies": True})
    entra = plain.model_copy(update={"email_verified_by_organisation": True})
    assert plain.vouched_email({"email": "a@x.org", "email_verified": True}) == "a@x.org"
    assert plain.vouched_email({"email": "a@x.org", "email_verified": "true"}) is None
    assert plain.vouched_email({"email": "a@x.org"}) is None
    assert plain.vouched_email({"preferred_username": "a@x.org", "email_verified": True}) is None
    assert entra.vouched_email({"email": "a@x.org"}) == "a@x.org"
    assert entra.vouched_email({"preferred_username": "b@x.org"}) == "b@x.org"
    assert entra.vouched_email({"preferred_username": "not-an-address"}) is None
