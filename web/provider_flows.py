"""OpenID Connect sign-ins under way, kept in the service's database: the `state`'s hash with its
nonce and PKCE verifier. The callback spends a flow once (web/sessions.py's spend_once), so a
replayed `state` (or two racing callbacks) cannot sign anyone in twice.
"""

import secrets
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import SignInFlow, utc_now
from web.sessions import spend_once, token_hash

# Time to sign in at the provider (its own page, perhaps a second factor).
FLOW_LIFETIME = timedelta(minutes=10)


def new_state() -> str:
    return secrets.token_urlsafe(32)


async def begin_flow(
    db: AsyncSession, *, state: str, provider: str, nonce: str, code_verifier: str, next_path: str
) -> None:
    now = utc_now()
    db.add(
        SignInFlow(
            state_hash=token_hash(state),
            provider=provider,
            nonce=nonce,
            code_verifier=code_verifier,
            next_path=next_path,
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
        )
    )
    await db.commit()


async def spend_flow(db: AsyncSession, state: str) -> SignInFlow | None:
    """The flow `state` started, spent now; None if spent already, expired or never started."""
    return await spend_once(db, SignInFlow, SignInFlow.state_hash, token_hash(state))
