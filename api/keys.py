"""API keys: bearer tokens that know their person, agency and role. Only hashes are stored."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import ApiKey, utc_now
from workflows.policy import Role

TOKEN_PREFIX = "esk_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_key(db: AsyncSession, *, name: str, agency: str, role: Role) -> tuple[ApiKey, str]:
    """A new key; the token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, agency=agency, role=role, token_hash=token_hash(token), created_at=utc_now()
    )
    db.add(key)
    await db.commit()
    await db.refresh(key)
    return key, token


async def list_keys(db: AsyncSession) -> Sequence[ApiKey]:
    return (await db.exec(select(ApiKey).order_by(col(ApiKey.id)))).all()


async def revoke_key(db: AsyncSession, key_id: int) -> ApiKey | None:
    key = await db.get(ApiKey, key_id)
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        db.add(key)
        await db.commit()
        await db.refresh(key)
    return key


async def find_key(db: AsyncSession, token: str) -> ApiKey | None:
    """The live key for `token`, if any. The final comparison is constant-time."""
    wanted = token_hash(token)
    key = (await db.exec(select(ApiKey).where(ApiKey.token_hash == wanted))).first()
    if key is None or key.revoked_at is not None:
        return None
    return key if hmac.compare_digest(key.token_hash, wanted) else None
