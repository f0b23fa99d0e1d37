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

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

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
