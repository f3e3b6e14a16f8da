"""Encrypts every payload Temporal stores, so its history holds no child data in clear.

Each payload (as the pydantic converter made it) is serialised whole and sealed with AES-256-GCM
under a fresh random 96-bit nonce; the stored payload is `nonce + ciphertext` with metadata
`encoding: binary/encrypted` and `encryption-key-id`. Payloads without that encoding (a signal
typed into the Temporal UI or CLI as plain JSON) pass through decode unchanged. Temporal's user
metadata (summaries and details, see `stays_readable`) is left readable for the Web UI: it never
carries child data.

Keys have ids; the first key encrypts and every key decrypts, so histories written under an old
key stay readable after a new key is put in front. They come from, in order:

- PAYLOAD_KEYS = "id:base64key[,id2:base64key2]" (production, from a secret), or
- PAYLOAD_KEY_FILE (default `.data/payload-keys.json`, `{"keys": [{"id": ..., "key": ...}]}`),
  created with one fresh key on first use, mode 0600; a file other users may read is refused.

Rotation: `python -m core.payload_crypto new-key` prints a new `id:base64key` line.
1. Add it last in PAYLOAD_KEYS (or the key file's list) of every worker and API; restart them.
   Everyone can now decrypt with it, nobody encrypts with it yet.
2. Move it first; restart again. New payloads are sealed with it, old histories still decrypt.
Drop an old key only once no history encrypted under it is still needed.

The Temporal UI's codec endpoint needs `codec_from_settings(settings)`: its `encode` and `decode`
take and return lists of `temporalio.api.common.v1.Payload`; `PayloadDecryptError` is a payload
that cannot be decrypted.
"""

import argparse
import base64
import binascii
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from core.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class PayloadKeyError(ValueError):
    """The key settings cannot be used; the message names the setting, never the key."""


class PayloadDecryptError(ValueError):
    """A stored payload cannot be decrypted with the configured keys."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> "PayloadKey":
        key_id = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
        return cls(key_id, AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    @property
    def encoded(self) -> str:
        return base64.b64encode(self.secret).decode("ascii")


def stays_readable(payload: Payload) -> bool:
    """Whether a payload is Temporal's user metadata, which operations staff read in the UI.

    Summaries and details (static, timer, activity, current) are bare JSON strings or the
    WorkflowMetadata answer; this service builds them from references, agencies and clock facts
    only. Everything an escalation carries (inputs, signals, updates, results, failures) is a JSON
    object, so it never matches and is always encrypted.
    """
    encoding = payload.metadata.get("encoding")
    if encoding == b"json/plain":
        return payload.data.startswith(b'"')
    return payload.metadata.get("messageType") == b"temporal.api.sdk.v1.WorkflowMetadata"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeyError("at least one payload key is needed")
        self.key_id = keys[0].id
        self._ciphers = {key.id: AESGCM(key.secret) for key in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            payload if stays_readable(payload) else self._encrypt(payload) for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.key_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()}, data=nonce + sealed
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptError(
                f"payload encrypted with key {key_id!r}, which is not in PAYLOAD_KEYS or "
                f"PAYLOAD_KEY_FILE (known: {', '.join(self._ciphers)}); put that key back"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, None))
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise PayloadDecryptError(
                f"payload encrypted with key {key_id!r} fails authentication: it was altered, "
                "or a different key was configured under that id"
            ) from None


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(load_keys(settings))


def load_keys(settings: Settings) -> list[PayloadKey]:
    """The configured keys, the encrypting one first."""
    if settings.payload_keys is not None:
        value = settings.payload_keys.get_secret_value()
        return _parse_keys(_entries_of_setting(value), "PAYLOAD_KEYS")
    path = settings.payload_key_file
    return _parse_keys(_entries_of_file(path, _read_key_file(path)), f"PAYLOAD_KEY_FILE {path}")


def _entries_of_setting(value: str) -> list[tuple[str, str]]:
    if not value.strip():
        raise PayloadKeyError("PAYLOAD_KEYS is set but empty")
    entries = []
    for number, entry in enumerate(value.split(","), start=1):
        key_id, colon, key = entry.strip().partition(":")
        if not colon:
            raise PayloadKeyError(f"PAYLOAD_KEYS entry {number}: expected id:base64key")
        entries.append((key_id, key))
    return entries


class _KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    key: str


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[_KeyEntry] = Field(min_length=1)


def _entries_of_file(path: Path, text: str) -> list[tuple[str, str]]:
    try:
        document = _KeyFile.model_validate_json(text)
    except ValidationError as exc:
        # Only where and what: pydantic's own message would quote the key material.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PayloadKeyError(f"PAYLOAD_KEY_FILE {path}: {problems}") from None
    return [(entry.id, entry.key) for entry in document.keys]


def _parse_keys(entries: list[tuple[str, str]], setting: str) -> list[PayloadKey]:
    keys: list[PayloadKey] = []
    for key_id, encoded in entries:
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise PayloadKeyError(
                f"{setting}: key id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if any(key.id == key_id for key in keys):
            raise PayloadKeyError(f"{setting}: key id {key_id!r} appears twice")
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise PayloadKeyError(f"{setting}: key {key_id!r} is not valid base64") from None
        if len(secret) != KEY_BYTES:
            raise PayloadKeyError(
                f"{setting}: key {key_id!r} is {len(secret)} bytes, AES-256 needs {KEY_BYTES}"
            )
        keys.append(PayloadKey(key_id, secret))
    return keys


def _read_key_file(path: Path) -> str:
    try:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            _create_key_file(path)
            fd = os.open(path, os.O_RDONLY)
        with os.fdopen(fd, encoding="utf-8") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            if mode & 0o077:
                raise PayloadKeyError(
                    f"PAYLOAD_KEY_FILE {path} is open to other users (mode {mode:04o}); "
                    f"run `chmod 600 {path}` if no one else has read it, else rotate the key"
                )
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise PayloadKeyError(f"PAYLOAD_KEY_FILE {path}: cannot read or create: {exc}") from exc


def _create_key_file(path: Path) -> None:
    """Writes one fresh key: 0600 from the first byte, and the file appears whole or not at all."""
    key = PayloadKey.generate()
    document = {"keys": [{"id": key.id, "key": key.encoded}]}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        # A link never replaces: when the worker and the API start together, one key wins.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m core.payload_crypto",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-key", help="print a fresh key as id:base64key for PAYLOAD_KEYS")
    parser.parse_args(argv)
    key = PayloadKey.generate()
    print(f"{key.id}:{key.encoded}")


if __name__ == "__main__":
    main()
