"""Witness cosignatures in the C2SP ``tlog-cosignature`` format (``cosignature/v1``).

A witness states "I saw this checkpoint, and it extends every earlier one I saw of this log"
by adding a signed-note signature line to the checkpoint::

    — <witness name> base64(key ID (4 bytes) || timestamp (8 bytes, big-endian) || signature)

The key ID is the first 4 bytes of SHA-256(name || 0x0A || 0x04 || 32-byte Ed25519 key): type
0x04 keeps a cosignature key from ever being mistaken for a note-signing key (type 0x01). The
Ed25519 signature covers ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint
body, so the timestamp (seconds since the Unix epoch) is signed too: a verifier can demand a
recent cosignature. A witness's verifier key is written ``name+hex(key ID)+base64(0x04 || key)``.
This module is pure: no database, no clock (timestamps are passed in).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.note import NoteSignature, SignedNote
from creditledger.errors import CheckpointError

COSIGNATURE_TYPE = b"\x04"
COSIGNATURE_LABEL = b"cosignature/v1\n"
_TIMESTAMP = 8
_ED25519 = 64


def cosignature_key_id(name: str, key: PublicKey) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_TYPE + key.raw).digest()[:4]


def cosignature_message(body: bytes, timestamp: int) -> bytes:
    """The bytes a witness signs: the label, the time line, then the checkpoint body."""
    return COSIGNATURE_LABEL + f"time {timestamp}\n".encode("ascii") + body


@dataclass(frozen=True)
class WitnessKey:
    """A witness's public key under its name (as in its verifier key string)."""

    name: str
    key: PublicKey

    @property
    def key_id(self) -> bytes:
        return cosignature_key_id(self.name, self.key)

    def vkey(self) -> str:
        blob = base64.b64encode(COSIGNATURE_TYPE + self.key.raw).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, vkey: str) -> WitnessKey:
        """Read ``name+hex(key ID)+base64(0x04 || key)``; :class:`CheckpointError` if malformed."""
        parts = vkey.strip().split("+", 2)  # base64 may hold "+" too
        if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
            raise CheckpointError(f"not a witness verifier key (name+id+key): {vkey[:80]!r}")
        name, key_id, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
            key = PublicKey(raw[1:])
        except (binascii.Error, ValueError) as e:
            raise CheckpointError(f"witness key {name}: bad key ({e})") from e
        if raw[:1] != COSIGNATURE_TYPE:
            raise CheckpointError(f"witness key {name}: not a cosignature/v1 key (type 0x04)")
        found = cls(name, key)
        if found.key_id.hex() != key_id.lower():
            raise CheckpointError(f"witness key {name}: the key ID does not match the key")
        return found


def cosign(body: bytes, name: str, key: SigningKey, timestamp: int) -> NoteSignature:
    """The cosignature line of witness ``name`` over checkpoint ``body`` at ``timestamp``."""
    if not 0 <= timestamp < 1 << 63:
        raise CheckpointError(f"timestamp out of range: {timestamp}")
    signature = key.sign(cosignature_message(body, timestamp))
    return NoteSignature(name, cosignature_key_id(name, key.public_key),
                         timestamp.to_bytes(_TIMESTAMP, "big") + signature)


def cosignature_time(note: SignedNote, witness: WitnessKey) -> int | None:
    """The timestamp of ``witness``'s valid cosignature on ``note``; None if it has none.

    A line with the witness's name and key ID that does not verify is an error, not an
    absence (as for signed notes: a known key's bad signature rejects the note).
    """
    for sig in note.signatures:
        if sig.name != witness.name or sig.key_hash != witness.key_id:
            continue
        if len(sig.signature) != _TIMESTAMP + _ED25519:
            raise CheckpointError(f"the cosignature of {witness.name} has the wrong length")
        timestamp = int.from_bytes(sig.signature[:_TIMESTAMP], "big")
        try:
            witness.key.verify(sig.signature[_TIMESTAMP:],
                               cosignature_message(note.text, timestamp))
        except (InvalidSignature, ValueError) as e:
            raise CheckpointError(f"the cosignature of {witness.name} does not verify") from e
        return timestamp
    return None


def add_cosignatures(note_text: str, lines: Sequence[str]) -> str:
    """The signed note with cosignature ``lines`` appended (a line already there is kept once)."""
    note = SignedNote.parse(note_text)
    added = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    extra = SignedNote.parse(note.text.decode("utf-8") + "\n" + added)
    have = set(note.signatures)
    merged = [*note.signatures, *(s for s in extra.signatures if s not in have)]
    return SignedNote(note.text, tuple(dict.fromkeys(merged))).format()
