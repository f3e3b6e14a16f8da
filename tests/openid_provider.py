"""A real OpenID Provider for the sign-in tests: panva's certified `oidc-provider` (npm, pinned in
package.json) run by tests/openid_provider.mjs on a port it binds itself, with the test's clients,
its signing key and accounts whose claims the test sets."""

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "openid_provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider"
CLIENT_ID = "escalations"
CLIENT_SECRET = "escalations-test-client-secret-0123456789"
KEY_ID = "test-signing-key"


@dataclass
class OpenIdProvider:
    issuer: str
    key: RSAKey
    accounts_file: Path
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def account(self, login: str, **claims: Any) -> str:
        """Gives the provider an account `login` with these claims (from its next sign-in)."""
        self.accounts[login] = claims
        self.accounts_file.write_text(json.dumps(self.accounts))
        return login

    def id_token(
        self, *, header: dict[str, Any] | None = None, key: Any = None, **claims: Any
    ) -> str:
        """An ID token this provider's key (or `key`) signs: the test's own forgeries."""
        now = int(time.time())
        body = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "forged", "iat": now, "exp": now + 300}
        header = header or {"alg": "RS256", "kid": KEY_ID}
        return jwt.encode(header, {**body, **claims}, key or self.key)


@contextmanager
def running_provider(directory: Path, app_url: str) -> Iterator[OpenIdProvider]:
    """The provider, with one client: the service at `app_url`."""
    key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
    accounts = directory / "accounts.json"
    accounts.write_text("{}")
    config = directory / "provider.json"
    config.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": [f"{app_url}/sign-in/oidc/callback"],
                        "post_logout_redirect_uris": [f"{app_url}/signed-out"],
                    }
                ],
                "jwks": {"keys": [key.as_dict(private=True)]},
                "accounts": str(accounts),
            }
        )
    )
    log = (directory / "provider.log").open("w")  # its warnings and errors, for a failing test
    process = subprocess.Popen(
        ["node", str(SCRIPT), str(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once its port is bound
        assert first, "the OpenID Provider did not start (is `npm ci` done?)"
        yield OpenIdProvider(json.loads(first)["issuer"], key, accounts)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
