"""Signed heads: the ledger's size and last hash, signed by its root key.

An auditor keeps a head; later, ``verify --against HEAD`` proves the ledger still contains
everything the head covered (it was not cut back) and has not been rewritten below it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

import msgspec

from creditledger.audit.documents import read_typed
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import UnusableLedgerError
from creditledger.store.format import (
    HEAD_DOMAIN,
    datetime_to_micros,
    micros_to_datetime,
    now_micros,
)

HEAD_FORMAT = "creditledger-head/1"
_msgpack = msgspec.msgpack.Encoder(order="deterministic")


class SignedHead(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A ledger head: ``size`` events, the last of which has hash ``last_hash`` (hex)."""

    format: str = HEAD_FORMAT
    ledger_id: str
    size: int
    last_hash: str
    signed_at: datetime
    key_id: str
    signature: str  # base64

    def message(self) -> bytes:
        fields = (self.ledger_id, self.size, bytes.fromhex(self.last_hash),
                  datetime_to_micros(self.signed_at), self.key_id)
        return HEAD_DOMAIN + _msgpack.encode(fields)

    @classmethod
    def sign(cls, ledger_id: str, size: int, last_hash: bytes, root_key: SigningKey) -> SignedHead:
        unsigned = cls(
            ledger_id=ledger_id, size=size, last_hash=last_hash.hex(),
            signed_at=micros_to_datetime(now_micros()), key_id=root_key.key_id, signature="",
        )
        signature = base64.b64encode(root_key.sign(unsigned.message())).decode("ascii")
        return msgspec.structs.replace(unsigned, signature=signature)

    def verify(self, root: PublicKey) -> None:
        """Return ``None`` if signed by ``root``; raise ``InvalidSignature`` otherwise."""
        from cryptography.exceptions import InvalidSignature

        if self.key_id != root.key_id:
            raise InvalidSignature(f"head is signed by {self.key_id}, not the root {root.key_id}")
        root.verify(base64.b64decode(self.signature), self.message())

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> SignedHead:
        """Parse a signed head; :class:`UnusableLedgerError` if it is not exactly one."""
        head = read_typed(data, cls, "head file", HEAD_FORMAT)
        try:
            bytes.fromhex(head.last_hash)
            base64.b64decode(head.signature, validate=True)
        except ValueError as e:
            raise UnusableLedgerError(f"head file: not a creditledger signed head ({e})") from e
        return head

    @classmethod
    def load(cls, path: str | Path) -> SignedHead:
        try:
            return cls.from_json(Path(path).read_bytes())
        except OSError as e:
            raise UnusableLedgerError(f"head file {path}: {e.strerror}") from e
