"""The partnership's signing key (Ed25519): it signs the head of an inspector's audit export.

The private key comes from EXPORT_SIGNING_KEY_FILE (PEM, PKCS #8; default
`.data/export-signing-key.pem`, created on first use with mode 0600; a file other users may read
is refused). Its public half goes to the inspector another way (the annual report, a letter):
`python -m api export-public-key` prints it.
"""

import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningKeyError(ValueError):
    """The key file cannot be used; the message names the file, never the key."""


def signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        if not path.exists():
            _create(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SigningKeyError(
                f"EXPORT_SIGNING_KEY_FILE {path} is open to other users (mode {mode:04o}); "
                f"run `chmod 600 {path}` if no one else has read it, else make a new key"
            )
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, UnsupportedAlgorithm) as exc:
        if isinstance(exc, SigningKeyError):
            raise
        raise SigningKeyError(f"EXPORT_SIGNING_KEY_FILE {path}: cannot read or create") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"EXPORT_SIGNING_KEY_FILE {path}: not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return key


def _create(path: Path) -> None:
    """A fresh key, 0600 from the first byte; when two processes race, one key wins."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
