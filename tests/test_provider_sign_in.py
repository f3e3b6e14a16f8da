"""Signing in with an OpenID Connect provider: a real, certified provider (oidc-provider, run by
tests/openid_provider.mjs) and the real stack over HTTP; a manager in real Chromium; each refusal
by a real flow or by an ID token the test signs with a key it controls.

The service knows two providers (OIDC_PROVIDERS_FILE): the partnership's (the real provider; the
police and children's services, and the partnership's own addresses) and the forger's, an issuer
that hands the callback whatever ID token the test made (its keys, its nonce, its claims).
"""

import base64
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import structlog
from joserfc.jwk import OctKey, RSAKey
from playwright.async_api import Browser, Page, expect
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from database.audit_chain import timeline
from database.engine import session_factory
from database.tables import Escalation, PersonSession
from tests.api_stack import serve
from tests.browser import axe_violations, browser, needs_chromium, screenshot
from tests.ladders import (
    CHILDRENS_SERVICES,
    CS_MANAGER,
    HEALTH,
    HEALTH_MANAGER,
    POLICE,
    PRACTITIONER,
    STRANGER,
    contact,
    directory,
)
from tests.openid_provider import CLIENT_ID, CLIENT_SECRET, OpenIdProvider, running_provider
from tests.pages_stack import PagesStack
from tests.ports import listening_socket, port_of
from tests.test_pages import raise_through_pages

__all__ = ["browser"]  # the module's fixture
pytestmark = pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)

PROVIDER_NAME = "Northshire Council"
# In children's services' list without a role: the provider's groups give one.
DUTY_WORKER = "duty.worker@cs.example.org"
DIRECTORY = directory(
    POLICE,
    CHILDRENS_SERVICES,
    HEALTH,
    more={CHILDRENS_SERVICES: [contact("Duty worker Kim Ali", DUTY_WORKER)]},
)
REFUSED = "You could not be signed in"


class Forger:
    """An issuer that gives the callback the ID token the test made (`next_token`)."""

    def __init__(self, port: int, key: RSAKey) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.key = key
        self.jwks_fetches = 0
        self.nonce = ""
        self.make_token: Callable[[str], str] = lambda nonce: ""

    def app(self) -> Starlette:
        async def discovery(_: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
                }
            )

        async def jwks(_: Request) -> Response:
            self.jwks_fetches += 1
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        async def authorize(request: Request) -> Response:
            self.nonce = request.query_params["nonce"]
            query = urlencode({"code": "forged-code", "state": request.query_params["state"]})
            return RedirectResponse(f"{request.query_params['redirect_uri']}?{query}", 303)

        async def token(_: Request) -> Response:
            id_token = self.make_token(self.nonce)
            return JSONResponse(
                {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
            )

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def app_url(pages_socket: socket.socket) -> str:
    return f"http://127.0.0.1:{port_of(pages_socket)}"


@pytest.fixture(scope="module")
def openid_provider(
    app_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenIdProvider]:
    with running_provider(tmp_path_factory.mktemp("provider"), app_url) as provider:
        yield provider


@pytest.fixture(scope="module")
async def forger() -> AsyncIterator[Forger]:
    sock = listening_socket()
    forger = Forger(port_of(sock), RSAKey.generate_key(2048, parameters={"kid": "forger-key"}))
    server, task = await serve(forger.app(), sock)
    yield forger
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
def pages_overrides(
    app_url: str,
    openid_provider: OpenIdProvider,
    forger: Forger,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    providers = tmp_path_factory.mktemp("providers") / "identity-providers.toml"
    providers.write_text(
        f"""
[[providers]]
id = "northshire"
name = "{PROVIDER_NAME}"
issuer = "{openid_provider.issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
agencies = ["{POLICE}", "{CHILDRENS_SERVICES}"]
email_domains = ["scp.example.org"]
group_roles = {{ "cs-managers" = "manager", "cs-executives" = "executive" }}

[[providers]]
id = "forger"
name = "NHS.net Connect"  # the forger, under a name a real provider might have
issuer = "{forger.issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
all_agencies = true
"""
    )
    return {"oidc_providers_file": providers}


async def through_provider(
    stack: PagesStack, client: httpx.AsyncClient, provider: str, login: str = ""
) -> httpx.Response:
    """A browser's round trip: the service, the provider's login form (as `login`), the callback;
    the service's answer to the callback."""
    answer = await client.get(f"/sign-in/oidc/{provider}")
    while answer.is_redirect:
        location = str(answer.url.join(answer.headers["location"]))
        if location.startswith(f"{stack.url}/sign-in/oidc/callback"):
            return await client.get(location)
        answer = await client.get(location)
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', answer.text)
        if answer.status_code == 200 and form and 'name="login"' in answer.text:
            target = httpx.URL(location).join(form.group(1))
            answer = await client.post(
                target, data={"prompt": "login", "login": login, "password": "any"}
            )
    raise AssertionError(
        f"the flow ended at {answer.status_code}: {answer.url} {answer.text[-600:]}"
    )


async def test_a_person_of_the_directory_signs_in_and_has_a_session(
    pages_stack: PagesStack, openid_provider: OpenIdProvider
) -> None:
    login = openid_provider.account(
        "patel", email=PRACTITIONER.upper(), email_verified=True, groups=["cs-executives"]
    )
    async with pages_stack.browser_client() as client:
        answer = await through_provider(pages_stack, client, "northshire", login)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        home = await client.get("/")
        assert "Signed in as" in home.text and "PC Reyes" in home.text
        # The directory's role wins over the groups' (and the session keeps none of its own).
        async with session_factory(pages_stack.engine)() as db:
            session = (
                await db.exec(select(PersonSession).where(PersonSession.email == PRACTITIONER))
            ).all()[-1]
        assert (session.provider, session.provider_role) == ("northshire", None)

        again = await client.get(answer.request.url)  # the same callback, replayed
        assert again.status_code == 400
        assert "This sign-in cannot be completed" in again.text


async def test_a_role_from_the_providers_groups_for_someone_the_directory_gives_none(
    pages_stack: PagesStack, openid_provider: OpenIdProvider
) -> None:
    login = openid_provider.account(
        "kim", email=DUTY_WORKER, email_verified=True, groups=["staff", "cs-managers"]
    )
    async with pages_stack.browser_client() as client:
        answer = await through_provider(pages_stack, client, "northshire", login)
        assert answer.status_code == 303, answer.text
        home = await client.get("/")
        assert "Duty worker Kim Ali" in home.text
    async with session_factory(pages_stack.engine)() as db:
        session = (
            await db.exec(select(PersonSession).where(PersonSession.email == DUTY_WORKER))
        ).one()
    assert session.provider_role == "manager"


@pytest.mark.parametrize(
    ("claims", "status", "heading"),
    [
        ({"email": CS_MANAGER, "email_verified": False}, 403, "Your email address is not verified"),
        ({"email": CS_MANAGER}, 403, "Your email address is not verified"),
        ({"email": STRANGER, "email_verified": True}, 403, "You do not have access"),
        (
            {"email": HEALTH_MANAGER, "email_verified": True},
            403,
            f"You cannot sign in with {PROVIDER_NAME}",
        ),
        (  # a role from groups only for people the directory holds
            {"email": STRANGER, "email_verified": True, "groups": ["cs-managers"]},
            403,
            "You do not have access",
        ),
    ],
)
async def test_people_the_provider_may_not_sign_in_are_refused(
    pages_stack: PagesStack,
    openid_provider: OpenIdProvider,
    claims: dict[str, Any],
    status: int,
    heading: str,
) -> None:
    login = openid_provider.account(f"refused-{len(openid_provider.accounts)}", **claims)
    async with pages_stack.browser_client() as client:
        with structlog.testing.capture_logs() as logs:
            answer = await through_provider(pages_stack, client, "northshire", login)
        assert answer.status_code == status, answer.text
        assert heading in answer.text
        # Only someone the directory lacks is offered the way to ask for access.
        offered = 'href="/request-access"' in answer.text
        assert offered == (heading == "You do not have access")
        assert (await client.get("/")).status_code == 303  # not signed in
    assert any(line.get("provider") == "northshire" for line in logs)


def _forgeries() -> list[Any]:
    other = RSAKey.generate_key(2048, parameters={"kid": "unknown-key"})
    secret = OctKey.import_key(CLIENT_SECRET)
    return [
        pytest.param({"iss": "https://evil.example"}, {}, "'iss'", id="wrong issuer"),
        pytest.param({"aud": "another-client"}, {}, "'aud'", id="wrong audience"),
        pytest.param({"nonce": "not-the-nonce"}, {}, "'nonce'", id="wrong nonce"),
        pytest.param({"exp": 1_000_000}, {}, "expired", id="expired"),
        pytest.param({}, {"header": {"alg": "none"}}, "'none' is not allowed", id="alg none"),
        pytest.param(
            {}, {"header": {"alg": "HS256"}, "key": secret}, "'HS256' is not allowed", id="HS256"
        ),
        pytest.param(
            {}, {"key": other, "header": {"alg": "RS256", "kid": "unknown-key"}}, "kid", id="kid"
        ),
    ]


@pytest.mark.parametrize(("claims", "signing", "reason"), _forgeries())
async def test_forged_id_tokens_are_refused(
    pages_stack: PagesStack,
    forger: Forger,
    claims: dict[str, Any],
    signing: dict[str, Any],
    reason: str,
) -> None:
    made: list[str] = []

    def make_token(nonce: str) -> str:
        body = {"email": CS_MANAGER, "email_verified": True, "nonce": nonce, **claims}
        fake = OpenIdProvider(forger.issuer, forger.key, Path("/dev/null"))
        header = signing.get("header", {"alg": "RS256", "kid": "forger-key"})
        if header["alg"] == "none":
            made.append(_unsigned(fake.id_token(**body)))
        else:
            made.append(fake.id_token(header=header, key=signing.get("key"), **body))
        return made[-1]

    forger.make_token = make_token
    async with pages_stack.browser_client() as client:
        with structlog.testing.capture_logs() as logs:
            answer = await through_provider(pages_stack, client, "forger")
        assert answer.status_code == 401, answer.text
        assert REFUSED in answer.text
        assert (await client.get("/")).status_code == 303
    [refusal] = [line for line in logs if line.get("provider") == "forger"]
    assert reason in refusal["reason"]
    assert made and all(made[0] not in repr(line) for line in logs)  # never the token


def _unsigned(token: str) -> str:
    """The token with an `alg: none` header and no signature."""
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    return ".".join([header, token.split(".")[1], ""])


async def test_unknown_key_ids_fetch_the_providers_keys_at_most_once_a_minute(
    pages_stack: PagesStack, forger: Forger
) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "another-unknown"})
    fake = OpenIdProvider(forger.issuer, other, Path("/dev/null"))
    forger.make_token = lambda nonce: fake.id_token(
        header={"alg": "RS256", "kid": f"random-{len(nonce)}-{id(nonce)}"},
        email=CS_MANAGER,
        email_verified=True,
        nonce=nonce,
    )
    async with pages_stack.browser_client() as client:
        await through_provider(pages_stack, client, "forger")
        before = forger.jwks_fetches
        for _ in range(3):
            assert (await through_provider(pages_stack, client, "forger")).status_code == 401
    assert forger.jwks_fetches == before


@needs_chromium()
async def test_a_manager_signs_in_with_the_provider_acts_and_signs_out_of_both(
    browser: Browser, pages_stack: PagesStack, openid_provider: OpenIdProvider
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    login = openid_provider.account("sam", email=CS_MANAGER, email_verified=True, name="Sam")
    context = await browser.new_context(base_url=pages_stack.url)
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        await page.goto(f"/escalations/{escalation_id}")  # not signed in: the sign-in page
        button = page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")
        await expect(button).to_be_visible()
        assert await axe_violations(page) == []
        await screenshot(page, "sign-in-with-provider")
        await button.click()
        await _provider_login(page, login)
        await expect(page.get_by_text("Stage 1 of 3")).to_be_visible()  # back where it was going
        assert urlsplit(page.url).path == f"/escalations/{escalation_id}"

        await page.get_by_role("button", name="Resolve the escalation").click()
        await page.get_by_label("Outcome agreed", exact=True).fill("Strategy discussion booked")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("button", name="Resolve the escalation").click()
        await expect(page.get_by_text("The escalation is resolved")).to_be_visible()

        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_role("button", name="Yes, sign me out").click()  # the provider's page
        await expect(page.get_by_text("You have signed out.")).to_be_visible()
        await page.goto("/")  # the service's session has ended
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
        await expect(page.locator('input[name="login"]')).to_be_visible()  # and the provider's

        await context.clear_cookies()
        await page.goto("/sign-in/oidc/callback?state=stale&code=x")
        await expect(
            page.get_by_role("heading", name="This sign-in cannot be completed")
        ).to_be_visible()
        assert await axe_violations(page) == []
        await screenshot(page, "sign-in-with-provider-refused")
    finally:
        await context.close()
    async with session_factory(pages_stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
        assert row is not None and row.status == "resolved"
        events = await timeline(db, escalation_id)
    resolved_by = [e.actor for e in events if e.action == "resolved"]
    assert resolved_by == [f"Team manager Sam Jones ({CHILDRENS_SERVICES})"]
    assert not [m for m in console if "Content Security Policy" in m]  # sign-out's way out too


async def _provider_login(page: Page, login: str) -> None:
    """The provider's own (development) login form."""
    await page.locator('input[name="login"]').fill(login)
    await page.locator('input[name="password"]').fill("any password")
    await page.locator('button[type="submit"]').click()
