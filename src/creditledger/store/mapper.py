"""The mapper: how an event's state becomes the stored bytes, and back.

State is encoded by msgspec as canonical JSON (sorted keys, decimals as strings) and decoded with
types taken from the event class's annotations, so ``Decimal``, ``datetime``, ``UUID`` and
``msgspec.Struct`` values come back exactly. Events whose class sets ``plaintext = True`` (the
key registry) are never compressed or encrypted.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any, ClassVar, TypedDict
from uuid import UUID

import msgspec
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic

from creditledger.domain.values import PersonalData, is_sealed
from creditledger.store.topics import known_class

if typing.TYPE_CHECKING:
    from creditledger.store.personal import PersonalDataKeys

_json = msgspec.json.Encoder(order="deterministic", decimal_format="string")



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
def _sealable_fields(topic: str) -> tuple[str, ...]:
    """The fields of events of ``topic`` typed to hold personal data (only there can a sealed
    value be: anywhere else a string would not decode)."""
    return tuple(name for name, hint in typing.get_type_hints(_resolve(topic)).items()
                 if hint is PersonalData or PersonalData in typing.get_args(hint))


def _resolve(topic: str) -> type[Any]:
    """The loaded class whose canonical topic this is (never an import of what a file names);
    ``ValueError`` for any other topic."""
    cls = known_class(topic)
    if cls is None:
        raise ValueError(f"{topic!r} is not the stored name of any known event type")
    return cls


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

    With ``personal`` set (a ledger of policy 2), every :class:`PersonalData` value of an event
    is sealed under its learner's data key before it is stored, and opened again when read
    (where the key is still there and the school's KEK was given; else it stays sealed).
    """

    personal: PersonalDataKeys | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        if self.personal is not None:
            self._seal(_as_uuid(originator_id).hex, event_state, new=originator_version == 1)
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
        data = stored_event.state
        try:
            cls = _resolve(stored_event.topic)
            if not getattr(cls, "plaintext", False):
                if self.cipher:
                    data = self.cipher.decrypt(data)
                if self.compressor:
                    data = self.compressor.decompress(data)
            event_state = decode_state(stored_event.topic, data)
            _check_originator_topic(event_state)
        except Exception as e:
            msg = (
                f"cannot decode stored event {stored_event.originator_id} "
                f"v{stored_event.originator_version} ({stored_event.topic}): {e}"
            )
            raise MapperDeserialisationError(msg) from e
        event_state["originator_id"] = _as_uuid(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        if self.personal is not None and _sealable_fields(stored_event.topic):
            self._unseal(event_state["originator_id"].hex, event_state,
                         _sealable_fields(stored_event.topic))
        from_version = event_state.pop("class_version", 1)
        class_version = getattr(cls, "class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event


    def _seal(self, account: str, event_state: dict[str, Any], *, new: bool) -> None:
        """Seal every personal-data value of the state (in place) under ``account``'s key (a
        ``new`` account, at its first event, takes a new key)."""
        assert self.personal is not None
        for name, value in event_state.items():
            if isinstance(value, PersonalData):
                event_state[name] = self.personal.seal(account, name, value, new=new)

    def sealed_values(self, stored_event: StoredEvent) -> list[str]:
        """The sealed personal-data values a stored event holds, as stored (nothing opened:
        no data key is needed to see which keys they name). Only the fields typed to hold
        personal data are read: any other string (a learner id, a programme code) is the
        school's text, and must never be taken for a key id."""
        fields = _sealable_fields(stored_event.topic)
        if not fields:
            return []
        data = stored_event.state
        if not getattr(_resolve(stored_event.topic), "plaintext", False):
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
        state = msgspec.json.decode(data)
        if not isinstance(state, dict):
            return []
        return [value for value in map(state.get, fields) if is_sealed(value)]

    def _unseal(self, account: str, event_state: dict[str, Any], fields: tuple[str, ...]) -> None:
        """Open every sealed value of the state's ``fields`` (in place) that can be opened
        here."""
        assert self.personal is not None
        for name in fields:
            value = event_state.get(name)
            if is_sealed(value):
                opened = self.personal.unseal(account, name, value)
                if opened is not None:
                    event_state[name] = opened


def _check_originator_topic(event_state: dict[str, Any]) -> None:
    """A created event names its aggregate's class by topic, and eventsourcing resolves it by
    import: only the canonical topic of a loaded aggregate class is accepted."""
    topic = event_state.get("originator_topic")
    if topic is None:
        return
    cls = known_class(topic) if isinstance(topic, str) else None
    if cls is None or not issubclass(cls, BaseAggregate):
        raise ValueError(f"originator_topic {topic!r} is not a known aggregate type")


def _as_uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)

