"""The key registry: institutions' public keys, registered in the ledger itself as events.

The registry is one aggregate whose first event is the ledger's genesis: it names the ledger
and its root public key, and is signed by that root key. Registering, rotating and revoking
institution keys are further events of the registry, each signed by the root key. Registry
events are stored in plain text (never compressed or encrypted) so that an auditor can rebuild
the registry from the ledger file and the root public key alone.

:class:`KeyBook` is the registry's state as the store and the verifier see it while streaming
the chain: which key may sign at which moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import msgspec
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from creditledger.crypto.keys import PublicKey, key_id_of
from creditledger.domain.policy import STAFF_ROLES, Role, Signer
from creditledger.domain.topics import stored_as
from creditledger.domain.validation import validate_time_zone
from creditledger.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError
from creditledger.store.format import FORMAT, FORMAT_V1, CommitStatement, datetime_to_micros
from creditledger.store.mapper import decode_state

REGISTRY_NAMESPACE = uuid.UUID("6f1d3d52-8a55-4f0e-9a43-3c4d1f2b9e10")


def registry_id(ledger_id: str) -> uuid.UUID:
    """The id of a ledger's key registry aggregate."""
    return uuid.uuid5(REGISTRY_NAMESPACE, f"{ledger_id}/key-registry")


class KeyEntry(msgspec.Struct, frozen=True):
    """One registered public key of a principal (an institution, or the ledger root), with
    the role it signs in and, for a staff member's key, their staff id.

    ``role`` is empty in entries written before roles existed: an institution's own key, its
    administrator (see :class:`~creditledger.domain.policy.Role`).
    """

    principal: str
    key_id: str
    public_key: bytes
    valid_from: datetime
    role: str = ""
    staff_id: str = ""


class RegisteredKey(msgspec.Struct, frozen=True, kw_only=True):
    """A registered key as a registrar reads it: whose, in which role, since and until when."""

    key_id: str
    institution: str
    role: str
    staff_id: str
    valid_from: datetime
    revoked_from: datetime | None


@stored_as("creditledger.registry")
class KeyRegistry(Aggregate):
    """The ledger's genesis and its registry of signing keys (one per ledger)."""

    class Event(Aggregate.Event):
        plaintext: ClassVar[bool] = True

    @staticmethod
    def create_id(ledger_id: str, root: KeyEntry, format: str = FORMAT) -> uuid.UUID:
        return registry_id(ledger_id)

    @event("Genesis")
    def __init__(self, ledger_id: str, root: KeyEntry, format: str = FORMAT) -> None:
        self.ledger_id = ledger_id
        self.format = format
        self.policy = ""
        self.time_zone = ""  # "": a ledger from before time zones (the machine's is used)
        self.root = root
        self.entries: dict[str, KeyEntry] = {root.key_id: root}
        self.revoked: dict[str, datetime] = {}

    def declare_policy(self, policy: str, *, time_zone: str = "") -> None:
        """Declare the ledger's write policy (see :mod:`creditledger.domain.policy`) and its
        time zone (an IANA name: every "today" of the bank is the date there, wherever the
        machine running it is): once, in the genesis commit."""
        self._declare_policy(policy, time_zone and validate_time_zone(time_zone))

    @event("PolicyDeclared")
    def _declare_policy(self, policy: str, time_zone: str = "") -> None:
        # time_zone: "" in ledgers from before time zones were declared
        self.policy = policy
        self.time_zone = time_zone

    @event("KeyRegistered")
    def _register(self, entry: KeyEntry) -> None:
        self.entries[entry.key_id] = entry

    @event("KeyRevoked")
    def _revoke(self, key_id: str, effective_at: datetime, reason: str) -> None:
        self.revoked[key_id] = effective_at

    def register(self, principal: str, public_key: PublicKey, valid_from: datetime, *,
                 role: Role = Role.ADMINISTRATOR, staff_id: str = "") -> KeyEntry:
        """Register ``public_key`` for ``principal``, in ``role`` (an institution's own key
        is its administrator; a staff key names its ``staff_id``)."""
        if not principal.strip():
            raise ValidationError("principal", "must not be empty")
        if valid_from.tzinfo is None:
            raise ValidationError("valid_from", "must be timezone-aware")
        if public_key.key_id in self.entries:
            raise AlreadyExistsError("key", public_key.key_id, "public_key")
        if role is Role.ROOT:
            raise ValidationError("role", "the ledger has one root key, named by its genesis")
        if (role in STAFF_ROLES) != bool(staff_id.strip()):
            raise ValidationError("staff_id", "a staff key names its staff member; an "
                                              "institution's own key names none")
        entry = KeyEntry(principal, public_key.key_id, public_key.raw, valid_from,
                         role.value, staff_id.strip())
        self._register(entry)
        return entry

    def keys(self) -> list[RegisteredKey]:
        """Every key registered, in the order of registration."""
        return [RegisteredKey(
            key_id=key_id, institution=entry.principal,
            role=Role.ROOT.value if key_id == self.root.key_id
            else entry.role or Role.ADMINISTRATOR.value,
            staff_id=entry.staff_id, valid_from=entry.valid_from,
            revoked_from=self.revoked.get(key_id)) for key_id, entry in self.entries.items()]

    def revoke(self, key_id: str, effective_at: datetime, reason: str) -> None:
        """Revoke a key from ``effective_at`` (never the root's)."""
        if key_id not in self.entries:
            raise NotFoundError("key", key_id, field="key_id")
        if key_id == self.root.key_id:
            raise ValidationError("key_id", "the root key cannot be revoked")
        if key_id in self.revoked:
            raise ConflictError(f"key {key_id} is already revoked")
        if effective_at.tzinfo is None:
            raise ValidationError("effective_at", "must be timezone-aware")
        self._revoke(key_id, effective_at, reason)

    def keys_of(self, principal: str) -> list[KeyEntry]:
        return [e for e in self.entries.values() if e.principal == principal]


GENESIS_TOPIC = get_topic(KeyRegistry.Genesis)  # type: ignore[attr-defined]
REGISTERED_TOPIC = get_topic(KeyRegistry.KeyRegistered)  # type: ignore[attr-defined]
REVOKED_TOPIC = get_topic(KeyRegistry.KeyRevoked)  # type: ignore[attr-defined]
POLICY_TOPIC = get_topic(KeyRegistry.PolicyDeclared)  # type: ignore[attr-defined]
REGISTRY_TOPICS = frozenset({GENESIS_TOPIC, REGISTERED_TOPIC, REVOKED_TOPIC, POLICY_TOPIC})


class KeyProblem(StrEnum):
    """Why a key may not sign a commit at its commit time."""

    UNKNOWN = "unknown-key"
    NOT_YET_VALID = "key-not-yet-valid"
    REVOKED = "key-revoked"


@dataclass
class _KeyRecord:
    entry: KeyEntry
    valid_from: int
    revoked_at: int | None = None


@dataclass
class KeyBook:
    """Which key may sign when: the registry replayed from registry events, in chain order.

    A revocation takes effect at its ``effective_at`` or at the time of the commit that recorded
    it, whichever is later: a revocation can never invalidate commits made before it was recorded.
    """

    ledger_id: str = ""
    root_key_id: str = ""
    format: str = ""
    """The ledger's format, as its genesis names it (what a commit's statement holds)."""
    policy: str = ""
    """The write policy the genesis declares (``""``: a ledger from before the policy)."""
    time_zone: str = ""
    """The time zone the genesis declares with its policy (``""``: a ledger from before
    time zones)."""
    records: dict[str, _KeyRecord] = field(default_factory=dict)
    _signers: dict[str, Signer | None] = field(default_factory=dict, repr=False)

    def apply(self, topic: str, state: dict[str, Any], committed_at: int) -> None:
        """Apply one decoded registry event recorded in a commit at ``committed_at``."""
        if topic == GENESIS_TOPIC:
            root: KeyEntry = state["root"]
            self.ledger_id = state["ledger_id"]
            self.root_key_id = root.key_id
            self.format = state["format"]
            self._add(root)
        elif topic == POLICY_TOPIC:
            self.policy = state["policy"]
            self.time_zone = state.get("time_zone", "")
        elif topic == REGISTERED_TOPIC:
            self._add(state["entry"])
        elif topic == REVOKED_TOPIC:
            record = self.records.get(state["key_id"])
            if record is not None:
                effective = datetime_to_micros(state["effective_at"])
                record.revoked_at = max(effective, committed_at)

    def _add(self, entry: KeyEntry) -> None:
        if key_id_of(entry.public_key) != entry.key_id:
            raise ValueError(f"key id {entry.key_id} does not match its public key")
        self.records[entry.key_id] = _KeyRecord(entry, datetime_to_micros(entry.valid_from))

    def problem(self, key_id: str, at: int) -> KeyProblem | None:
        """``None`` if ``key_id`` may sign at ``at`` (µs), else why not."""
        record = self.records.get(key_id)
        if record is None:
            return KeyProblem.UNKNOWN
        if at < record.valid_from:
            return KeyProblem.NOT_YET_VALID
        if record.revoked_at is not None and at >= record.revoked_at:
            return KeyProblem.REVOKED
        return None

    def public_key(self, key_id: str) -> PublicKey:
        return PublicKey(self.records[key_id].entry.public_key)

    def principal(self, key_id: str) -> str:
        return self.records[key_id].entry.principal

    def signer(self, key_id: str) -> Signer | None:
        """Who signs with a registered key: its principal, role and staff id (None for a key
        not registered, or registered with a role that is no role)."""
        if key_id in self._signers:
            return self._signers[key_id]
        record = self.records.get(key_id)
        if record is None:
            return None
        entry = record.entry
        role = Role.ROOT if key_id == self.root_key_id else Role.of_entry(entry.role)
        signer = None if role is None else Signer(entry.principal, role, entry.staff_id)
        self._signers[key_id] = signer  # an entry never changes once registered
        return signer

    def statement(self, seq: int, first_position: int, committed_at: int, key_id: str,
                  event_hashes: list[bytes]) -> CommitStatement:
        """What a commit by ``key_id`` signs, in this ledger's format."""
        if self.format == FORMAT_V1:
            return CommitStatement(self.ledger_id, seq, first_position, committed_at, key_id,
                                   event_hashes)
        signer = self.signer(key_id)
        return CommitStatement(self.ledger_id, seq, first_position, committed_at, key_id,
                               event_hashes, staff_id=signer.staff_id if signer else "",
                               role=signer.role.value if signer else "", format=self.format)

    def key(self, key_id: str) -> tuple[str, Role] | None:
        """The principal and role of a registered key (the policy's view of the registry)."""
        signer = self.signer(key_id)
        return None if signer is None else (signer.principal, signer.role)

    def __len__(self) -> int:
        return len(self.records)


REGISTRY_EVENTS = (
    "SELECT e.topic, e.state, c.committed_at FROM stored_events e "
    "JOIN ledger_commits c ON c.seq = e.commit_seq "
    "WHERE e.originator_id=? ORDER BY e.originator_version"
)
"""The registry's events with their commit times (parameter: the registry's id, hex)."""


def key_book(rows: Iterable[tuple[str, Any, int]]) -> KeyBook:
    """The key book the registry's events (rows of :data:`REGISTRY_EVENTS`) give."""
    book = KeyBook()
    for topic, state, committed_at in rows:
        book.apply(topic, decode_state(topic, bytes(state)), committed_at)
    return book
