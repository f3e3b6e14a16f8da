"""What only the pages are given, as typed `Annotated` dependencies beside casework's (settings,
database, Temporal): the identity providers' clients, the sign-in link queue and the sign-in
request limits, each set on the app at start (web/pages.py, api/app.py's lifespan). The one
place the pages read them from the app."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from core.settings import Settings
from web.identity_providers import ProviderClient
from web.link_requests import LinkRequests
from web.sign_in_limits import SlidingWindow

# Requests for a link: a few per address (a mailbox is not flooded), more per client address
# (SIGN_IN_LIMIT_PER_ADDRESS, SIGN_IN_LIMIT_PER_CLIENT).
LIMIT_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class SignInLimits:
    """This app's counts of sign-in and access requests (each app, and each test's, its own)."""

    per_address: SlidingWindow
    per_client: SlidingWindow

    @classmethod
    def of(cls, settings: Settings) -> "SignInLimits":
        return cls(
            SlidingWindow(settings.sign_in_limit_per_address, LIMIT_WINDOW_SECONDS),
            SlidingWindow(settings.sign_in_limit_per_client, LIMIT_WINDOW_SECONDS),
        )

    def allow(self, client: str, address: str) -> bool:
        return self.per_client.allow(client) and self.per_address.allow(address.casefold())


def identity_providers_of(request: Request) -> dict[str, ProviderClient]:
    """The identity providers' clients by provider id, in the order configured."""
    clients: dict[str, ProviderClient] = request.app.state.identity_providers
    return clients


def sign_in_links_of(request: Request) -> LinkRequests:
    links: LinkRequests = request.app.state.sign_in_links
    return links


def sign_in_limits_of(request: Request) -> SignInLimits:
    limits: SignInLimits = request.app.state.sign_in_limits
    return limits


IdentityProvidersDep = Annotated[dict[str, ProviderClient], Depends(identity_providers_of)]
SignInLinksDep = Annotated[LinkRequests, Depends(sign_in_links_of)]
SignInLimitsDep = Annotated[SignInLimits, Depends(sign_in_limits_of)]
