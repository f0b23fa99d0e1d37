"""Checkpoints in the C2SP formats: ``tlog-checkpoint`` bodies inside ``signed-note`` envelopes.

A checkpoint states the ledger's Merkle tree head (https://c2sp.org/tlog-checkpoint)::

    creditledger.example/<ledger id>        origin: names the log (and is the key name)
    1234                                    tree size, decimal, no leading zeros
    3pG5...base64 of the 32-byte root...=   RFC 9162 root hash at that size

It is published as a signed note (https://c2sp.org/signed-note): the body, a blank line, then
one line per signature, ``— <key name> <base64(key hash || Ed25519 signature)>``, where the key
hash is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key) and the
signature covers the body bytes. Several keys may sign one checkpoint (key rotation: the old and
the new key). This module is pure: no database, no clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.merkle import HASH_SIZE
from creditledger.errors import CheckpointError

ORIGIN_PREFIX = "creditledger.example/"
"""Origins are schema-less names; ``.example`` is reserved, so no one else can own them."""
ED25519_TYPE = b"\x01"
SIGNATURE_DASH = "\u2014"  # the em dash that starts a signature line
MAX_SIGNATURES = 16
_SIZE = re.compile(r"0|[1-9][0-9]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")




def origin_for(ledger_id: str) -> str:
    """The checkpoint origin (and signed-note key name) of the ledger ``ledger_id``."""
    return ORIGIN_PREFIX + ledger_id


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: ``size`` leaves whose RFC 9162 root is ``root``, in the log ``origin``."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_key_name(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise CheckpointError(f"tree size must be a non-negative integer, got {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line or _has_control(line):
                raise CheckpointError("extension lines must be non-empty single lines")

    def body(self) -> bytes:
        """The note text: origin, size and base64 root lines, then any extension lines."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions)).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes | str) -> Checkpoint:
        """Parse a note text (strictly: canonical size and base64, no empty lines)."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint text needs origin, tree size and root hash lines")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size) or len(size) > 20:
            raise CheckpointError(f"tree size line is not a canonical decimal: {size!r}")
        return cls(origin, int(size), _decode_base64(root, "root hash"), tuple(extensions))


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key hash and the signature bytes."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_hash + self.signature).decode("ascii")
        return f"{SIGNATURE_DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note text and its signature lines."""

    text: bytes
    signatures: tuple[NoteSignature, ...] = field(default=())

    def format(self) -> str:
        """The note as published: text, blank line, signature lines."""
        return self.text.decode("utf-8") + "\n" + "".join(s.line() for s in self.signatures)

    @classmethod
    def parse(cls, note: bytes | str) -> SignedNote:
        """Split a signed note at its last blank line and parse the signature lines."""
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        if _has_control(text.replace("\n", "")):
            raise CheckpointError("signed note contains control characters")
        cut = text.rfind("\n\n")
        if cut < 0 or not text.endswith("\n"):
            raise CheckpointError("not a signed note: no blank line before the signatures")
        body, lines = text[: cut + 1], text[cut + 2 : -1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise CheckpointError(f"more than {MAX_SIGNATURES} signatures")
        return cls(body.encode("utf-8"), tuple(_parse_signature_line(line) for line in lines))

    def checkpoint(self) -> Checkpoint:
        """The checkpoint the text states (unverified: call :func:`verify_note` first)."""
        return Checkpoint.parse(self.text)


def key_hash(name: str, public_key: PublicKey) -> bytes:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], the signed-note key ID."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key.raw)
    return digest.digest()[:4]


def vkey(name: str, public_key: PublicKey) -> str:
    """The verifier key string of other tools: ``name+hex(key hash)+base64(0x01 || key)``."""
    encoded = base64.b64encode(ED25519_TYPE + public_key.raw).decode("ascii")
    return f"{name}+{key_hash(name, public_key).hex()}+{encoded}"


def sign_note(text: bytes, name: str, keys: Sequence[SigningKey]) -> SignedNote:
    """Sign ``text`` with each key under the key name ``name``."""
    if not keys:
        raise CheckpointError("a signed note needs at least one key")
    _check_key_name(name, "key name")
    if not text.endswith(b"\n"):
        raise CheckpointError("note text must end with a newline")
    return SignedNote(
        text,
        tuple(NoteSignature(name, key_hash(name, k.public_key), k.sign(text)) for k in keys),
    )


def sign_checkpoint(checkpoint: Checkpoint, keys: Sequence[SigningKey]) -> str:
    """The signed note of ``checkpoint``, signed by every key under the origin as key name."""
    return sign_note(checkpoint.body(), checkpoint.origin, keys).format()


def verify_note(note: SignedNote, name: str, trusted: Sequence[PublicKey]) -> list[PublicKey]:
    """Return the trusted keys whose signatures (under ``name``) verify; raise if none does.

    Per the signed-note rules, lines of unknown keys are ignored, and a line of a trusted key
    (same name and key hash) that fails to verify rejects the whole note.
    """
    known = {key_hash(name, k): k for k in trusted}
    verified: list[PublicKey] = []
    for sig in note.signatures:
        key = known.get(sig.key_hash) if sig.name == name else None
        if key is None:
            continue
        try:
            key.verify(sig.signature, note.text)
        except (InvalidSignature, ValueError) as e:
            raise CheckpointError(f"the signature of key {key.key_id} does not verify") from e
        if key not in verified:
            verified.append(key)
    if not verified:
        ids = ", ".join(k.key_id for k in trusted)
        raise CheckpointError(f"the note is not signed by a trusted key ({ids}) as {name!r}")
    return verified


def open_checkpoint(
    note_text: bytes | str, origin: str, trusted: Sequence[PublicKey]
) -> Checkpoint:
    """Parse a signed checkpoint, check its signatures and origin, and return it."""
    note = SignedNote.parse(note_text)
    verify_note(note, origin, trusted)
    checkpoint = note.checkpoint()
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


def _parse_signature_line(line: str) -> NoteSignature:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != SIGNATURE_DASH:
        raise CheckpointError(f"malformed signature line: {line[:80]!r}")
    _, name, blob = parts
    _check_key_name(name, "key name")
    raw = _decode_base64(blob, "signature")
    if len(raw) < 5:
        raise CheckpointError("signature too short")
    return NoteSignature(name, raw[:4], raw[4:])


def _decode_base64(text: str, what: str) -> bytes:
    if not _BASE64.fullmatch(text) or len(text) % 4:
        raise CheckpointError(f"{what} is not standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckpointError(f"{what} is not standard base64") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    if what == "root hash" and len(raw) != HASH_SIZE:
        raise CheckpointError(f"root hash must be {HASH_SIZE} bytes, got {len(raw)}")
    return raw


def _check_key_name(name: str, what: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name) or _has_control(name):
        raise CheckpointError(f"{what} must be non-empty, without spaces or '+': {name!r}")


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 for ch in text)
