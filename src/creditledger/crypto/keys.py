"""Ed25519 keys of institutions and of the ledger's root.

Private keys live only in PKCS#8 PEM files encrypted with a passphrase; the ledger stores
public keys (as key-registry events) and signatures, never a private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from creditledger.errors import KeyFileExistsError, UnusableLedgerError, ValidationError

__all__ = ["InvalidSignature", "PublicKey", "SigningKey", "key_id_of"]

KEY_ID_PREFIX = "ed25519:"
RAW_KEY_SIZE = 32


def key_id_of(raw_public_key: bytes) -> str:
    """The key id: ``ed25519:`` and the first 16 bytes of SHA-256 of the raw public key, hex."""
    return KEY_ID_PREFIX + hashlib.sha256(raw_public_key).hexdigest()[:32]


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key, identified by its key id."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != RAW_KEY_SIZE:
            raise ValidationError("public_key", f"an Ed25519 key has 32 bytes, got {len(self.raw)}")

    @property
    def key_id(self) -> str:
        return key_id_of(self.raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return ``None`` if ``signature`` is valid for ``message``; raise ``InvalidSignature``."""
        Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)

    def to_pem(self) -> bytes:
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_base64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @classmethod
    def from_text(cls, text: str | bytes) -> PublicKey:
        """Read a key given as SubjectPublicKeyInfo PEM, base64 of the raw 32 bytes, or hex.

        Raises :class:`UnusableLedgerError` (the CLI's "unusable input") if it is none of these.
        """
        data = text.encode("ascii", "replace") if isinstance(text, str) else text
        data = data.strip()
        if data.startswith(b"-----BEGIN"):
            try:
                loaded = serialization.load_pem_public_key(data)
            except (ValueError, UnsupportedAlgorithm) as e:
                raise UnusableLedgerError(f"root key: not a readable PEM public key ({e})") from e
            if not isinstance(loaded, Ed25519PublicKey):
                raise UnusableLedgerError("root key: the PEM key is not an Ed25519 key")
            return cls(loaded.public_bytes_raw())
        for decode in (_from_hex, _from_base64):
            raw = decode(data)
            if raw is not None and len(raw) == RAW_KEY_SIZE:
                return cls(raw)
        raise UnusableLedgerError(
            "root key: expected an Ed25519 public key as PEM, base64 (32 bytes) or hex (64 digits)"
        )

    @classmethod
    def from_file(cls, path: str | Path) -> PublicKey:
        try:
            return cls.from_text(Path(path).read_bytes())
        except OSError as e:
            raise UnusableLedgerError(f"root key: cannot read {path}: {e.strerror}") from e


def _from_hex(data: bytes) -> bytes | None:
    try:
        return bytes.fromhex(data.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


def _from_base64(data: bytes) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


class SigningKey:
    """An Ed25519 private key held in memory by the process that signs commits."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = PublicKey(private_key.public_key().public_bytes_raw())
        self._key_id = self.public_key.key_id  # asked for several times by every commit

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def to_pem(self, passphrase: bytes) -> bytes:
        """PKCS#8 PEM, encrypted with ``passphrase`` (which must not be empty)."""
        if not passphrase:
            raise ValidationError("passphrase", "must not be empty: keys are stored encrypted")
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    def save(self, path: str | Path, passphrase: bytes) -> Path:
        """Write the key as encrypted PKCS#8 PEM, owner-readable only; never overwrites a file.

        An existing file raises :class:`KeyFileExistsError` (it may hold another key); a file
        that cannot be written, :class:`UnusableLedgerError` naming it. Either way nothing is
        left behind: a key file is whole or absent.
        """
        target = Path(path)
        pem = self.to_pem(passphrase)
        try:
            with open(target, "xb", opener=_owner_only) as f:
                try:
                    f.write(pem)
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
        except FileExistsError as e:
            raise KeyFileExistsError(
                f"signing key {path}: file exists; refusing to overwrite it") from e
        except OSError as e:
            raise UnusableLedgerError(
                f"signing key {path}: cannot write ({e.strerror or e})") from e
        return target

    @classmethod
    def load(cls, path: str | Path, passphrase: bytes) -> SigningKey:
        """Read an encrypted PKCS#8 PEM file. Errors name the file and the problem."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise UnusableLedgerError(f"signing key {path}: {e.strerror}") from e
        try:
            loaded = serialization.load_pem_private_key(data, password=passphrase or None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise UnusableLedgerError(
                f"signing key {path}: cannot decrypt or parse (wrong passphrase or not PKCS#8 PEM)"
            ) from e
        if not isinstance(loaded, Ed25519PrivateKey):
            raise UnusableLedgerError(f"signing key {path}: not an Ed25519 key")
        return cls(loaded)

    def __repr__(self) -> str:
        return f"SigningKey({self.key_id})"


def _owner_only(path: str, flags: int) -> int:
    import os

    return os.open(path, flags, 0o600)
