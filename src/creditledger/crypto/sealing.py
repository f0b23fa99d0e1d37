"""Sealing personal data so that it can be erased (crypto-shredding): AES-256-GCM through
``cryptography``, nothing home-made.

Each learner's personal fields are sealed under a random *data key* of that learner; the sealed
bytes are what the ledger stores, so the chain, its signatures and proofs never need a data key.
Data keys are kept outside the chain, *wrapped* (sealed) by the school's *key-encryption key*
(KEK): a random 32-byte key in a file, or one derived from a passphrase with scrypt. Destroying
a learner's data key makes every ciphertext of that learner unreadable, in every copy.

A sealed value is ``nonce (12 bytes) || AES-GCM ciphertext and tag``; the *context* (what the
value is, and whose) is authenticated as associated data, so a ciphertext cannot be moved to
another learner or field unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from creditledger.errors import KeyFileExistsError, UnusableLedgerError, ValidationError

KEY_SIZE = 32
NONCE_SIZE = 12
SCRYPT_N = 2**15
"""scrypt cost (2^15, r=8, p=1: about 32 MiB and 0.1 s, once per opening of the key store)."""


class SealError(ValueError):
    """A sealed value does not open with this key and context (wrong key, or changed)."""


def new_data_key() -> bytes:
    """A fresh random AES-256 key."""
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """``plaintext`` sealed under ``key``, bound to ``context``."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def seal_each(key: bytes, items: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Each ``(plaintext, context)`` sealed under ``key`` (one cipher object for them all:
    a batch of data keys wrapped by the KEK)."""
    cipher = AESGCM(key)
    sealed = []
    for plaintext, context in items:
        nonce = os.urandom(NONCE_SIZE)
        sealed.append(nonce + cipher.encrypt(nonce, plaintext, context))
    return sealed


def unseal(key: bytes, sealed: bytes, context: bytes) -> bytes:
    """The plaintext of a sealed value; :class:`SealError` if key or context do not fit."""
    if len(sealed) < NONCE_SIZE + 16:
        raise SealError("not a sealed value (too short)")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], context)
    except InvalidTag:
        raise SealError("the sealed value does not open with this key") from None


def derive_kek(passphrase: bytes, salt: bytes) -> bytes:
    """A key-encryption key from a passphrase (scrypt; the salt is stored beside the keys)."""
    if not passphrase:
        raise SealError("the passphrase of the key-encryption key is empty")
    return Scrypt(salt=salt, length=KEY_SIZE, n=SCRYPT_N, r=8, p=1).derive(passphrase)


# -- the school's key-encryption key (密钥加密密钥) ---------------------------------------------

KEK_FILE_PREFIX = "creditledger-kek-v1:"
"""The first characters of a key file: what it is, then the key in base64 (one line)."""


class KeyEncryptionKey:
    """The school's key-encryption key (KEK): it wraps every learner's data key in the key store.

    Either a random 32-byte key kept in a file (:meth:`generate`, :meth:`save`, :meth:`load`),
    or a passphrase (:meth:`from_passphrase`) from which scrypt derives the key with the salt the
    key store keeps. Whoever holds the KEK and a copy of the key store can read personal data;
    erasure destroys a learner's data key, after which the KEK opens nothing of that learner.
    """

    def __init__(self, *, key: bytes | None = None, passphrase: bytes | None = None) -> None:
        if (key is None) == (passphrase is None):
            raise ValidationError("kek", "give either a key or a passphrase")
        if key is not None and len(key) != KEY_SIZE:
            raise ValidationError("kek", f"a key-encryption key has {KEY_SIZE} bytes, "
                                         f"not {len(key)}")
        if passphrase is not None and not passphrase:
            raise ValidationError("kek", "the passphrase of the key-encryption key is empty")
        self._key = key
        self._passphrase = passphrase
        self._derived: dict[bytes, bytes] = {}  # salt -> key: scrypt runs once per key store

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        """A new random key-encryption key (save it with :meth:`save`, keep it safe)."""
        return cls(key=new_data_key())

    @classmethod
    def from_passphrase(cls, passphrase: str | bytes) -> KeyEncryptionKey:
        """A key-encryption key derived from a passphrase (scrypt, the key store's salt)."""
        raw = passphrase.encode() if isinstance(passphrase, str) else passphrase
        return cls(passphrase=raw)

    @classmethod
    def load(cls, path: str | Path) -> KeyEncryptionKey:
        """Read a key file :meth:`save` wrote; :class:`UnusableLedgerError` naming the path."""
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise UnusableLedgerError(f"{path}: cannot read the key-encryption key ({e})") from e
        if not text.startswith(KEK_FILE_PREFIX):
            raise UnusableLedgerError(f"{path}: not a creditledger key-encryption key file")
        try:
            raw = base64.b64decode(text[len(KEK_FILE_PREFIX):], validate=True)
        except binascii.Error as e:
            raise UnusableLedgerError(f"{path}: the key-encryption key is not base64") from e
        if len(raw) != KEY_SIZE:
            raise UnusableLedgerError(f"{path}: a key-encryption key has {KEY_SIZE} bytes, "
                                      f"not {len(raw)}")
        return cls(key=raw)

    def save(self, path: str | Path) -> None:
        """Write the key to a new file readable by its owner only (never over a file)."""
        if self._key is None:
            raise ValidationError("kek", "a passphrase is not saved: remember it instead")
        text = f"{KEK_FILE_PREFIX}{base64.b64encode(self._key).decode()}\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as e:
            raise KeyFileExistsError(f"{path}: file exists; refusing to overwrite it") from e
        except OSError as e:
            raise UnusableLedgerError(f"{path}: cannot write the key-encryption key ({e})") from e
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)

    @property
    def kind(self) -> str:
        """``key file`` or ``passphrase``, for messages."""
        return "key file" if self._key is not None else "passphrase"

    def key_for(self, salt: bytes) -> bytes:
        """The 32-byte key that wraps data keys in a key store with ``salt``."""
        if self._key is not None:
            return self._key
        derived = self._derived.get(salt)
        if derived is None:
            assert self._passphrase is not None
            derived = self._derived[salt] = derive_kek(self._passphrase, salt)
        return derived

