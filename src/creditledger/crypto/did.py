"""did:key identifiers of Ed25519 keys, and the base58btc (multibase ``z``) they are written in.

Standard library only (plus :class:`~creditledger.crypto.keys.PublicKey`).
"""

from __future__ import annotations

from creditledger.crypto.keys import PublicKey

_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as did:key uses it


class InvalidDidError(ValueError):
    """A string is not base58btc, or not the did:key of an Ed25519 key."""


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    """Base58 with the Bitcoin alphabet (multibase ``z``), leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_B58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """The bytes of a base58btc string; refuses characters outside the alphabet."""
    number = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise InvalidDidError(f"{ch!r} is not a base58btc character")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def did_key(public_key: PublicKey) -> str:
    """The ``did:key`` of an Ed25519 public key (``did:key:z6Mk…``)."""
    return "did:key:z" + b58encode(_ED25519_PUB + public_key.raw)


def verification_method(public_key: PublicKey) -> str:
    """The verification method of a ``did:key``: ``did:key:z6Mk…#z6Mk…``."""
    did = did_key(public_key)
    return f"{did}#{did.removeprefix('did:key:')}"


def key_of_method(method: object) -> PublicKey:
    """The Ed25519 public key a ``did:key`` verification method names."""
    if not isinstance(method, str) or not method.startswith("did:key:z"):
        raise InvalidDidError(f"verificationMethod {method!r} is not an Ed25519 did:key")
    did, _, fragment = method.partition("#")
    encoded = did.removeprefix("did:key:")
    if fragment and fragment != encoded:
        raise InvalidDidError(f"verificationMethod {method!r}: the fragment is not the key")
    raw = b58decode(encoded[1:])
    if not raw.startswith(_ED25519_PUB) or len(raw) != 34 or b58encode(raw) != encoded[1:]:
        raise InvalidDidError(f"verificationMethod {method!r} is not an Ed25519 key")
    return PublicKey(raw[2:])
