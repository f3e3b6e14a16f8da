"""Searching escalations by a reference, and the record of every search.

A term is an escalation's reference (ESC-…) or a child's reference: the raising agency's own,
matched exactly but for case and spaces. Each search is an access event (database.access_log:
who, when, how many found) with the term only as a keyed hash, so the record names no child.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor, label
from core.payload_crypto import load_keys
from core.settings import Settings
from core.text import reference_key
from database.access_log import record_access
from database.tables import Escalation

ESCALATION_REFERENCE = re.compile(r"esc-[0-9a-z]+")


@dataclass(frozen=True)
class Search:
    kind: Literal["escalation", "child"]
    key: str  # the escalation's reference, or the child reference as `reference_key` keeps it

    def condition(self) -> ColumnElement[bool]:
        if self.kind == "escalation":
            return col(Escalation.id) == self.key
        return col(Escalation.child_reference_key) == self.key


def parse(term: str, *, child_only: bool = False) -> Search | None:
    """What a search box's term asks for; None for a blank one."""
    key = reference_key(term)
    if not key:
        return None
    if not child_only and ESCALATION_REFERENCE.fullmatch(key):
        return Search("escalation", key.upper())
    return Search("child", key)


@dataclass(frozen=True)
class TermHasher:
    """HMAC-SHA256 of search terms under a key derived from the encrypting payload key; the
    key's id goes with each hash, so hashes made before a rotation stay comparable."""

    key_id: str
    secret: bytes

    @classmethod
    def of(cls, settings: Settings) -> "TermHasher":
        payload_key = load_keys(settings)[0]
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"escalations search terms"
        ).derive(payload_key.secret)
        return cls(payload_key.id, derived)

    def hash(self, search: Search) -> str:
        digest = hmac.new(self.secret, f"{search.kind}:{search.key}".encode(), hashlib.sha256)
        return f"{self.key_id}:{digest.hexdigest()}"


async def record_search(
    db: AsyncSession, hasher: TermHasher, searcher: Actor, search: Search, results: int
) -> None:
    """The search as an access event: who, when, what kind of reference, how many found."""
    await record_access(
        db,
        actor=label(searcher),
        purpose="search",
        details={"kind": search.kind, "term": hasher.hash(search), "results": results},
    )
