"""Signing in with an OpenID Connect provider: Authorization Code with PKCE, `state` and `nonce`.

`/sign-in/oidc/{provider}` starts (the flow is kept in the database, the browser holds its
`state` in a cookie); the provider sends the browser back to `{PUBLIC_URL}/sign-in/oidc/callback`,
the same for every provider: the `state` says which. The person is the directory's person with
the ID token's email, verified, of an agency the provider may sign in. Every refusal is a page and
a log line (why, never the token).
"""

import hmac
from typing import Any

import httpx2
import structlog
from authlib.common.errors import AuthlibBaseError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError

from casework.dependencies import SessionDep, settings_of
from core.signing_keys import KeysUnavailable
from database.directory_people import Person, find_active_person
from web.dependencies import IdentityProvidersDep
from web.i18n import N_, gettext
from web.identity_providers import CALLBACK_PATH, IdentityProvider, ProviderUnusable
from web.page_context import (
    MaybeViewerDep,
    PageError,
    safe_next,
    secure_cookies,
)
from web.provider_flows import FLOW_LIFETIME, begin_flow, new_state, spend_flow
from web.routes.sign_in import signed_in

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)

FLOW_COOKIE = "escalations_oidc_state"
FLOW_COOKIE_PATH = "/sign-in/oidc"
LEEWAY_SECONDS = 60
FLOW_REFUSED = N_(
    "This sign-in was started in another browser, took longer than 10 minutes or has been used "
    "already. Nothing was changed. Sign in again."
)


def _callback_url(request: Request) -> str:
    return settings_of(request).public_url.rstrip("/") + CALLBACK_PATH


def _unreachable(provider: IdentityProvider) -> PageError:
    return PageError(
        503,
        gettext("%(provider)s cannot be reached") % {"provider": provider.name},
        gettext(
            "This service cannot reach %(provider)s just now. Try again in a few minutes, or "
            "ask for a sign-in link by email."
        )
        % {"provider": provider.name},
    )


def _refused(provider: IdentityProvider, reason: str) -> PageError:
    log.warning("provider sign-in refused", provider=provider.id, reason=reason)
    return PageError(
        401,
        N_("You could not be signed in"),
        gettext(
            "%(provider)s did not confirm who you are in a way this service accepts. Nothing "
            "was changed. Sign in again, or ask for a sign-in link by email."
        )
        % {"provider": provider.name},
    )


@router.get(CALLBACK_PATH)
async def callback(
    request: Request, db: SessionDep, viewer: MaybeViewerDep, clients: IdentityProvidersDep
) -> Response:
    state = request.query_params.get("state", "")
    held = request.cookies.get(FLOW_COOKIE, "")
    bound = bool(state) and hmac.compare_digest(state.encode(), held.encode())
    flow = await spend_flow(db, state) if bound else None
    client = clients.get(flow.provider) if flow else None
    if flow is None or client is None:
        log.warning("provider sign-in refused", reason="state unknown, spent or of another browser")
        raise PageError(400, N_("This sign-in cannot be completed"), FLOW_REFUSED)
    provider = client.provider
    if "error" in request.query_params:
        raise _refused(provider, f"the provider answered {request.query_params['error'][:60]}")
    try:
        token = await client.fetch_access_token(
            redirect_uri=_callback_url(request),
            code=request.query_params.get("code", ""),
            code_verifier=flow.code_verifier,
        )
        claims: dict[str, Any] = await client.parse_id_token(
            token,
            nonce=flow.nonce,
            claims_options={
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
            },
            leeway=LEEWAY_SECONDS,
        )
    except (AuthlibBaseError, JoseError, ValueError) as exc:  # the code refused, or the ID token
        raise _refused(provider, f"{type(exc).__name__}: {exc}"[:200]) from None
    except (httpx2.HTTPError, KeysUnavailable, ProviderUnusable) as exc:
        log.warning("provider unreachable", provider=provider.id, reason=type(exc).__name__)
        raise _unreachable(provider) from None
    if claims is None:
        raise _refused(provider, "no ID token")
    person = await _who_signs_in(db, provider, claims)
    # The session keeps a role only where the provider's groups gave it.
    role = None if await find_active_person(db, person.email) else person.role
    response = await signed_in(
        request, db, viewer, person.email, flow.next_path, provider=provider.id, provider_role=role
    )
    response.delete_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH)
    log.info("provider sign-in", provider=provider.id)
    return response


async def _who_signs_in(
    db: SessionDep, provider: IdentityProvider, claims: dict[str, Any]
) -> Person:
    """The directory's person the ID token names, if this provider may sign them in."""
    email = provider.vouched_email(claims)
    role = provider.role_from_groups(claims)
    person = await find_active_person(db, email, role) if email else None
    if email is None:
        log.warning("provider sign-in refused", provider=provider.id, reason="email not verified")
        raise PageError(
            403,
            N_("Your email address is not verified"),
            gettext(
                "%(provider)s has not confirmed that your email address is yours, so this "
                "service cannot tell who you are. Ask for a sign-in link by email instead."
            )
            % {"provider": provider.name},
        )
    if person is None:
        log.info("provider sign-in of someone the directory lacks", provider=provider.id)
        raise PageError(
            403,
            N_("You do not have access to this service"),
            gettext(
                "You signed in to %(provider)s, but your partnership's directory has no one "
                "with your email address who may use this service. Ask your agency's designated "
                "safeguarding lead or the partnership business unit to add you."
            )
            % {"provider": provider.name},
            may_request_access=True,
        )
    if not provider.may_sign_in(person):
        log.warning(
            "provider sign-in refused", provider=provider.id, reason="agency not this provider's"
        )
        raise PageError(
            403,
            gettext("You cannot sign in with %(provider)s") % {"provider": provider.name},
            gettext(
                "People of %(agency)s do not sign in with %(provider)s. Sign in with your "
                "own organisation's account, or ask for a sign-in link by email."
            )
            % {"agency": person.agency, "provider": provider.name},
        )
    return person


@router.get("/sign-in/oidc/{provider_id}")
async def start(
    request: Request,
    provider_id: str,
    db: SessionDep,
    clients: IdentityProvidersDep,
    next: str | None = None,
) -> Response:
    client = clients.get(provider_id)
    if client is None:
        raise PageError(404, N_("Page not found"), N_("There is no such way to sign in."))
    state = new_state()
    try:
        authorization = await client.create_authorization_url(_callback_url(request), state=state)
    except (httpx2.HTTPError, ValueError, KeysUnavailable, ProviderUnusable) as exc:
        log.warning("provider unreachable", provider=provider_id, reason=type(exc).__name__)
        raise _unreachable(client.provider) from None
    await begin_flow(
        db,
        state=state,
        provider=provider_id,
        nonce=authorization["nonce"],
        code_verifier=authorization["code_verifier"],
        next_path=safe_next(next),
    )
    response = RedirectResponse(authorization["url"], status_code=303)
    # Lax: the provider sends the browser back with a top-level GET from its own site.
    response.set_cookie(
        FLOW_COOKIE,
        state,
        max_age=int(FLOW_LIFETIME.total_seconds()),
        path=FLOW_COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response
