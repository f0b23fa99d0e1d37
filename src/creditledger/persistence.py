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
import typing
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, TypedDict
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from creditledger.crypto.merkle import leaf_hash

FORMAT = "creditledger/1"
ZERO_HASH = bytes(32)
COMMIT_DOMAIN = b"creditledger/commit/v1\x00"
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


class CommitStatement(msgspec.Struct, array_like=True, frozen=True):
    """What a commit's signature covers: the ledger, the commit, its time, and every event hash."""

    ledger_id: str
    seq: int
    first_position: int
    committed_at: int  # microseconds since the Unix epoch, UTC
    key_id: str
    event_hashes: list[bytes]

    def message(self) -> bytes:
        return COMMIT_DOMAIN + _msgpack.encode(self)


def now_micros() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def micros_to_datetime(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def datetime_to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# ----------------------------------------------------------------------------------------------
# Mapper: msgspec transcoding, typed by the event class's annotations.


_SKIPPED_FIELDS = frozenset({"originator_id", "originator_version"})


@cache
def _state_decoder(topic: str) -> msgspec.json.Decoder[Any]:
    """A decoder for the stored state of events of ``topic``, typed from its annotations."""
    cls = _resolve(topic)
    fields: dict[str, Any] = {}
    for name, hint in typing.get_type_hints(cls).items():
        if name in _SKIPPED_FIELDS or typing.get_origin(hint) is ClassVar:
            continue
        fields[name] = hint
    fields["class_version"] = typing.NotRequired[int]
    state_type = TypedDict(f"{cls.__qualname__}State", fields)  # type: ignore[misc]
    return msgspec.json.Decoder(state_type)


@cache
def _resolve(topic: str) -> type[Any]:
    return typing.cast(type[Any], resolve_topic(topic))


def encode_state(event_state: dict[str, Any]) -> bytes:
    """Canonical JSON bytes of an event's state: keys sorted, decimals as strings."""
    return _json.encode(event_state)


def decode_state(topic: str, data: bytes) -> dict[str, Any]:
    """Decode stored state into typed values (Decimal, UUID, datetime, Structs...)."""
    return typing.cast(dict[str, Any], _state_decoder(topic).decode(data))


class LedgerMapper(Mapper[UUID]):
    """Transcodes event state with msgspec (deterministic JSON), typed by annotations.

    Events whose class sets ``plaintext = True`` (the key registry) are never compressed or
    encrypted: an auditor must be able to read the registry with public information only.
    """

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        stored = encode_state(event_state)
        if not getattr(cls, "plaintext", False):
            if self.compressor:
                stored = self.compressor.compress(stored)
            if self.cipher:
                stored = self.cipher.encrypt(stored)
        return StoredEvent(originator_id, originator_version, get_topic(cls), stored)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = _resolve(stored_event.topic)
        data = stored_event.state
        try:
            if not getattr(cls, "plaintext", False):
                if self.cipher:
                    data = self.cipher.decrypt(data)
                if self.compressor:
                    data = self.compressor.decompress(data)
            event_state = decode_state(stored_event.topic, data)
        except Exception as e:
            msg = (
                f"cannot decode stored event {stored_event.originator_id} "
                f"v{stored_event.originator_version} ({stored_event.topic}): {e}"
            )
            raise MapperDeserialisationError(msg) from e
        event_state["originator_id"] = _as_uuid(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        from_version = event_state.pop("class_version", 1)
        class_version = getattr(cls, "class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event


def _as_uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)

