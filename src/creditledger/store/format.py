"""The ledger's stored format: canonical event links, signed commit statements, and the mapper.

One event row is chained by hashing its *link*: the stored bytes of the event plus its place in
the ledger (global position, aggregate version, commit) and the hashes of the previous event in
global order and of the previous event of the same aggregate. The hash is the RFC 9162 leaf hash
of the link's canonical msgpack bytes, so the chain's hashes are also the leaves of the ledger's
Merkle tree.

A commit (one ``save``) is signed once: the signature covers a :class:`CommitStatement` listing
the hash of every event of the commit, so each event is covered by its author's signature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from creditledger.crypto.merkle import leaf_hash

FORMAT_V1 = "creditledger/1"
FORMAT_V2 = "creditledger/2"
"""Format 2: each commit's signed statement also names the signing staff member and role."""
FORMAT = FORMAT_V2
"""The format of new ledgers."""
FORMATS = frozenset({FORMAT_V1, FORMAT_V2})
ZERO_HASH = bytes(32)
COMMIT_DOMAIN = b"creditledger/commit/v1\x00"
COMMIT_DOMAIN_V2 = b"creditledger/commit/v2\x00"
HEAD_DOMAIN = b"creditledger/head/v1\x00"

_msgpack = msgspec.msgpack.Encoder(order="deterministic")
_json = msgspec.json.Encoder(order="deterministic", decimal_format="string")
_msgpack_encode = _msgpack.encode
_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"  # RFC 9162 leaf prefix, as in crypto.merkle.leaf_hash


class EventLink(msgspec.Struct, array_like=True, frozen=True):
    """What an event's hash covers. Encoded as a msgpack array, in this field order."""

    position: int
    commit_seq: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    prev_hash: bytes
    prev_aggregate_hash: bytes

    def hash(self) -> bytes:
        return leaf_hash(_msgpack.encode(self))


def event_hash(
    position: int,
    commit_seq: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    prev_hash: bytes,
    prev_aggregate_hash: bytes,
) -> bytes:
    """The chain hash of one stored event (see :class:`EventLink`)."""
    return link_hash(
        (position, commit_seq, originator_id, originator_version, topic, state, prev_hash,
         prev_aggregate_hash)
    )


def link_hash(link: tuple[int, int, str, int, str, bytes, bytes, bytes] | Sequence[Any]) -> bytes:
    """``EventLink(*link).hash()``, without building the Struct: the hot path of store and verifier.

    An ``array_like`` Struct encodes as the msgpack array of its fields in order, which is what
    msgpack makes of the tuple of the same values, so the bytes hashed are the same; the hash is
    :func:`~creditledger.crypto.merkle.leaf_hash` (SHA-256 of 0x00 and the bytes), inlined.
    """
    return _sha256(_LEAF_PREFIX + _msgpack_encode(link)).digest()


class CommitStatement(msgspec.Struct, frozen=True):
    """What a commit's signature covers: the ledger, the commit, its time, the key, and every
    event hash; in format 2 also the staff member and the role the key signs for.

    The signed message is a domain tag and the msgpack array of those values, in this order:
    ``[ledger_id, seq, first_position, committed_at, key_id, event_hashes]`` (format 1), or
    ``[ledger_id, seq, first_position, committed_at, key_id, staff_id, role, event_hashes]``
    (format 2).
    """

    ledger_id: str
    seq: int
    first_position: int
    committed_at: int  # microseconds since the Unix epoch, UTC
    key_id: str
    event_hashes: list[bytes]
    staff_id: str = ""
    role: str = ""
    format: str = FORMAT_V1

    def message(self) -> bytes:
        head = (self.ledger_id, self.seq, self.first_position, self.committed_at, self.key_id)
        if self.format == FORMAT_V1:
            return COMMIT_DOMAIN + _msgpack_encode((*head, self.event_hashes))
        return COMMIT_DOMAIN_V2 + _msgpack_encode(
            (*head, self.staff_id, self.role, self.event_hashes))


def now_micros() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def micros_to_datetime(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def datetime_to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
