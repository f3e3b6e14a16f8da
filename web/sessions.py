"""Sign-in links and sessions, kept as hashes: a leaked table signs nobody in.

A link is good for LINK_LIFETIME and once only; spending it is one conditional UPDATE, so two
clicks racing cannot both win. A session ends after IDLE_LIMIT without a request, after
SESSION_LIMIT in all, or at sign-out.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import PersonSession, SignInFlow, SignInLink, utc_now

LINK_LIFETIME = timedelta(minutes=15)
IDLE_LIMIT = timedelta(minutes=30)
SESSION_LIMIT = timedelta(hours=8)
# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(db: AsyncSession, email: str, next_path: str) -> str:
    """A new sign-in link's token; the token is mailed, never stored."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    db.add(
        SignInLink(
            token_hash=token_hash(token),
            email=email,
            next_path=next_path,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    await db.commit()
    return token


async def live_link(db: AsyncSession, token: str) -> SignInLink | None:
    """The link if it may still be spent (unused and in time)."""
    link = (
        await db.exec(select(SignInLink).where(SignInLink.token_hash == token_hash(token)))
    ).first()
    if link is None or link.used_at is not None or link.expires_at <= utc_now():
        return None
    return link


Spendable = TypeVar("Spendable", SignInLink, SignInFlow)


async def spend_once(
    db: AsyncSession, table: type[Spendable], hash_column: Any, hashed: str
) -> Spendable | None:
    """Marks the row used, if it is unused and in time: one conditional UPDATE, so two requests
    racing cannot both spend it. The row, or None if it was spent, expired or never existed."""
    now = utc_now()
    spent = await db.exec(
        update(table)
        .where(
            col(hash_column) == hashed,
            col(table.used_at).is_(None),
            col(table.expires_at) > now,
        )
        .values(used_at=now)
    )
    await db.commit()
    if spent.rowcount != 1:
        return None
    return (await db.exec(select(table).where(col(hash_column) == hashed))).first()


async def spend_link(db: AsyncSession, token: str) -> SignInLink | None:
    """Spends the link; None if it was spent already, has expired or never existed."""
    return await spend_once(db, SignInLink, SignInLink.token_hash, token_hash(token))


async def start_session(
    db: AsyncSession, email: str, provider: str | None = None, provider_role: str | None = None
) -> tuple[str, PersonSession]:
    """A new session (a new id: never one the browser had before) and its cookie token."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    session = PersonSession(
        token_hash=token_hash(token),
        email=email,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        provider=provider,
        provider_role=provider_role,
    )
    db.add(session)
    await db.commit()
    await db.refresh(session)
    return token, session


async def current_session(db: AsyncSession, token: str) -> PersonSession | None:
    """The live session for a cookie's token, kept alive by this request."""
    if not token:
        return None
    session = (
        await db.exec(select(PersonSession).where(PersonSession.token_hash == token_hash(token)))
    ).first()
    now = utc_now()
    if (
        session is None
        or session.ended_at is not None
        or now - session.last_seen_at > IDLE_LIMIT
        or now - session.created_at > SESSION_LIMIT
    ):
        return None
    if now - session.last_seen_at > TOUCH_EVERY:
        session.last_seen_at = now
        db.add(session)
        await db.commit()
        await db.refresh(session)
    return session


async def end_session(db: AsyncSession, session: PersonSession) -> None:
    session.ended_at = utc_now()
    session.draft = {}
    db.add(session)
    await db.commit()


async def save_draft(db: AsyncSession, session: PersonSession, draft: dict[str, object]) -> None:
    session.draft = draft
    db.add(session)
    await db.commit()
    await db.refresh(session)
