"""What is written about a child, encrypted with the escalation's own key (crypto-shredding).

Notes, reasons, outcomes and agreed actions are sealed with AES-256-GCM under a key derived from
the escalation's case key (`case_key`) before they leave the service for Temporal, so its history,
the audit trail, the record and every backup hold only `erasable:v1:<escalation id>:<base64>` (the
id says which key opens it, for the Temporal UI's codec). Erasure deletes the
case key: from then on nothing can open them, wherever they were copied.
"""

import base64
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from database.tables import CaseKey, Escalation

SEALED = "erasable:v1:"
NONCE_BYTES = 12
# What an opened text reads when its key is gone (erased) or it cannot be opened.
UNREADABLE = "[erased]"


def _cipher(key: CaseKey) -> AESGCM:
    # Derived, not the seal's HMAC secret itself: one key, one purpose.
    derived = HKDF(hashes.SHA256(), 32, salt=None, info=b"case text v1").derive(
        base64.b64decode(key.secret)
    )
    return AESGCM(derived)


def lock(key: CaseKey | None, text: str) -> str:
    """The text sealed under the escalation's key (left as it is for a record raised before
    case keys, which has none)."""
    if key is None or text.startswith(SEALED):
        return text
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key).encrypt(nonce, text.encode(), key.escalation_id.encode())
    return f"{SEALED}{key.escalation_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def lock_value(key: CaseKey | None, value: Any) -> Any:
    """A case detail as JSON holds it (text, an ISO date or null), its text sealed."""
    return lock(key, value) if isinstance(value, str) else value


def sealed_by(text: str) -> str | None:
    """The escalation whose key sealed the text; None for a text in clear."""
    if not text.startswith(SEALED):
        return None
    return text.removeprefix(SEALED).partition(":")[0]


def unlock(key: CaseKey | None, text: str) -> str:
    """The text in clear, or UNREADABLE once the key is gone; unsealed text as it is."""
    if not text.startswith(SEALED):
        return text
    escalation_id, _, encoded = text.removeprefix(SEALED).partition(":")
    if key is None or key.escalation_id != escalation_id:
        return UNREADABLE
    try:
        raw = base64.b64decode(encoded, validate=True)
        opened = _cipher(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], key.escalation_id.encode()
        )
    except (ValueError, InvalidTag):
        return UNREADABLE
    return opened.decode()


def unlock_all(keys: Mapping[str, CaseKey], value: Any) -> Any:
    """Every sealed text in a JSON value (an event's details, a payload) opened with its
    escalation's key from `keys` (by escalation id)."""
    if isinstance(value, str):
        escalation_id = sealed_by(value)
        return value if escalation_id is None else unlock(keys.get(escalation_id), value)
    if isinstance(value, list):
        return [unlock_all(keys, item) for item in value]
    if isinstance(value, dict):
        return {name: unlock_all(keys, item) for name, item in value.items()}
    return value


def sealers(value: Any) -> set[str]:
    """The escalations whose keys the sealed texts in a JSON value need."""
    if isinstance(value, str):
        escalation_id = sealed_by(value)
        return set() if escalation_id is None else {escalation_id}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return set().union(*(sealers(item) for item in items))


def opened_row(row: Escalation, key: CaseKey | None) -> Escalation:
    """A copy of the record, not in any session, with its texts opened for display."""
    copy = Escalation.model_validate(row.model_dump())
    copy.outcome = unlock(key, row.outcome) if row.outcome else row.outcome
    copy.closing_reason = unlock(key, row.closing_reason) if row.closing_reason else None
    copy.agreed_actions = [unlock(key, action) for action in row.agreed_actions]
    return copy


def lock_fields(key: CaseKey | None, fields: dict[str, Any], names: Iterable[str]) -> None:
    """Seals in place the named text fields (a list of texts item by item)."""
    for name in names:
        value = fields.get(name)
        if isinstance(value, str):
            fields[name] = lock(key, value)
        elif isinstance(value, list):
            fields[name] = [lock(key, item) if isinstance(item, str) else item for item in value]
