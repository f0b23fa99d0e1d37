"""The ledger as a transparency log: publishing checkpoints and proving consistency between them.

A checkpoint (see :mod:`creditledger.crypto.note`) is signed by the ledger's root key and
recorded in the ledger itself, as a ``Published`` event of the ledger's :class:`CheckpointLog`
aggregate (a checkpoint of size n is typically recorded as event n + 1). Before signing, the
ledger is verified, the stored Merkle tree is checked against the events, and the new
checkpoint is checked to extend the last recorded one: a log must never sign two inconsistent
checkpoints.

A :class:`ConsistencyFile` carries two signed checkpoints and the RFC 9162 consistency proof
between them; anyone holding it and the root public key can check that the older ledger is a
prefix of the newer one (:func:`verify_consistency_file`), without the ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from creditledger.audit.documents import read_typed
from creditledger.crypto.heads import heads_line
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.merkle import InvalidProof, verify_consistency
from creditledger.crypto.note import Checkpoint, open_checkpoint, origin_for, sign_checkpoint
from creditledger.domain.topics import stored_as
from creditledger.errors import (
    CheckpointError,
    CorruptTreeError,
    InconsistentLedgerError,
    NotAuthorisedError,
    UnusableLedgerError,
)
from creditledger.store.heads import update_index
from creditledger.store.mapper import decode_state
from creditledger.store.readers import Queryable
from creditledger.store.registry import GENESIS_TOPIC
from creditledger.store.tree import LedgerTree

CHECKPOINTS_NAMESPACE = uuid.UUID("c034996c-5640-53c5-9b89-b0a844876800")
CONSISTENCY_FORMAT = "creditledger-consistency/1"




def checkpoint_log_id(ledger_id: str) -> uuid.UUID:
    """The id of the ledger's checkpoint log aggregate."""
    return uuid.uuid5(CHECKPOINTS_NAMESPACE, f"{ledger_id}/checkpoints")


@stored_as("creditledger.tlog")
class CheckpointLog(Aggregate):
    """The checkpoints a ledger has published, each recorded with its signed note."""

    class Event(Aggregate.Event):
        plaintext: ClassVar[bool] = True  # public data: never compressed or encrypted

    @staticmethod
    def create_id(ledger_id: str, origin: str) -> uuid.UUID:
        return checkpoint_log_id(ledger_id)

    @event("Started")
    def __init__(self, ledger_id: str, origin: str) -> None:
        self.ledger_id = ledger_id
        self.origin = origin

    @event("Published")
    def publish(self, size: int, root: bytes, note: str) -> None:
        """Record a checkpoint of ``size`` events with root ``root``, as signed in ``note``."""


PUBLISHED_TOPIC = get_topic(CheckpointLog.Published)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RecordedCheckpoint:
    """A checkpoint recorded in the ledger: the event's position and the signed note."""

    position: int
    size: int
    root: bytes
    note: str


def read_genesis(conn: Queryable) -> tuple[str, PublicKey]:
    """The ledger id and root public key named by the ledger's genesis event.

    ``conn`` is a :class:`~creditledger.store.readers.LedgerReader` (or a ``sqlite3`` connection).
    """
    row = conn.execute("SELECT topic, state FROM stored_events WHERE position=1").fetchone()
    if row is None or row[0] != GENESIS_TOPIC:
        raise UnusableLedgerError("the ledger has no genesis event")
    state = decode_state(GENESIS_TOPIC, bytes(row[1]))
    return str(state["ledger_id"]), PublicKey(state["root"].public_key)


class ChosenCheckpoint(NamedTuple):
    """A ledger's id and root key, and the checkpoint a command works against (its note and
    what the note says, signature checked)."""

    ledger_id: str
    root_key: PublicKey
    note: str
    checkpoint: Checkpoint


def choose_checkpoint(conn: Queryable, where: str | Path, note: str | None = None
                      ) -> ChosenCheckpoint:
    """``note`` (default: the ledger's last recorded checkpoint), opened with the ledger's root
    key; :class:`UnusableLedgerError` naming ``where`` if none was recorded yet."""
    ledger_id, root_key = read_genesis(conn)
    if note is None:
        recorded = recorded_checkpoints(conn, ledger_id)
        if not recorded:
            raise UnusableLedgerError(
                f"{where}: no checkpoint recorded yet; publish one (creditledger checkpoint)")
        note = recorded[-1].note
    return ChosenCheckpoint(ledger_id, root_key, note,
                            open_checkpoint(note, origin_for(ledger_id), [root_key]))


def recorded_checkpoints(conn: Queryable, ledger_id: str) -> list[RecordedCheckpoint]:
    """Every checkpoint recorded in the ledger, oldest first (``conn`` as for
    :func:`read_genesis`)."""
    rows = conn.execute(
        "SELECT position, state FROM stored_events WHERE originator_id=? AND topic=?"
        " ORDER BY originator_version",
        (checkpoint_log_id(ledger_id).hex, PUBLISHED_TOPIC),
    ).fetchall()
    found = []
    for position, state in rows:
        data = decode_state(PUBLISHED_TOPIC, bytes(state))
        found.append(RecordedCheckpoint(position, data["size"], data["root"], data["note"]))
    return found


def publish_checkpoint(
    path: str | Path, keys: Sequence[SigningKey], *, verify: bool = True
) -> RecordedCheckpoint:
    """Sign a checkpoint of the ledger at ``path`` with ``keys`` and record it in the ledger.

    ``path`` is a ledger file or a ``postgresql://`` URL. ``keys[0]`` must be the ledger's root
    key (it also signs the commit that records the checkpoint); further keys add signatures (key
    rotation). With ``verify`` (the default) the whole ledger is verified first and the
    checkpoint covers the verified events, and the stored tree is recomputed from the events'
    hashes; without it, the stored tree is trusted (O(log n)). Either way the checkpoint must
    extend the last recorded one. On PostgreSQL the verification, the root and the check
    against the last checkpoint read one snapshot; the checkpoint is then recorded by a
    commit of its own, after whatever other schools committed meanwhile.

    The checkpoint commits to the index of heads at its size (an extension line
    ``creditledger-heads/1 <root>``, see docs/completeness.md): the stored index is first
    brought to that size, in a write transaction of its own (:func:`~creditledger.store.heads.
    update_index`). :class:`~creditledger.errors.ConcurrentWriteError` if a checkpoint of a
    larger size was published meanwhile.
    """
    from creditledger.audit.verify import verify_reader
    from creditledger.store.ledger import Ledger

    if not keys:
        raise NotAuthorisedError("a checkpoint needs the ledger's root key")
    with LedgerTree.open(path) as tree:
        ledger_id, root_key = read_genesis(tree.conn)
        if keys[0].key_id != root_key.key_id:
            raise NotAuthorisedError(
                f"key {keys[0].key_id} is not this ledger's root key {root_key.key_id}")
        size = tree.size
        if verify:  # no more than the tree covers: a file may have grown since it was opened
            size = min(size, verify_reader(tree.reader, root_key=root_key).events)
        with tree.snapshot():
            root = tree.root(size)
            if verify and tree.recomputed_root(size) != root:
                raise CorruptTreeError("the stored Merkle tree does not match the events")
            previous = recorded_checkpoints(tree.conn, ledger_id)
            if previous:
                _check_extends(tree, previous[-1], size, root)
    ledger = Ledger.open(path)
    try:
        heads_root = update_index(ledger.recorder, size)
        checkpoint = Checkpoint(origin_for(ledger_id), size, root, (heads_line(heads_root),))
        note = sign_checkpoint(checkpoint, keys)
        try:
            log: CheckpointLog = ledger.repository.get(checkpoint_log_id(ledger_id))
        except AggregateNotFoundError:
            log = CheckpointLog(ledger_id, checkpoint.origin)
        log.publish(size, root, note)
        recordings = ledger.save(log, signer=keys[0])
    finally:
        ledger.close()
    position = recordings[-1].notification.id
    return RecordedCheckpoint(position, size, root, note)


def _check_extends(tree: LedgerTree, last: RecordedCheckpoint, size: int, root: bytes) -> None:
    if last.size > size:
        raise InconsistentLedgerError(
            f"the ledger has {size} events, fewer than the {last.size} of its last checkpoint")
    try:
        proof = tree.consistency_proof(last.size, size)
        verify_consistency(last.size, size, proof, last.root, root)
    except InvalidProof as e:
        raise InconsistentLedgerError(
            f"the ledger does not extend its last checkpoint (size {last.size}): {e}") from e


# -- consistency proofs ------------------------------------------------------------------------


class ConsistencyFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Two signed checkpoints of one ledger and the consistency proof between them."""

    format: str = CONSISTENCY_FORMAT
    ledger_id: str
    root_key: bytes  # raw Ed25519 public key of the ledger's root (trust it, or pin another)
    old: str  # signed note of the older checkpoint
    new: str  # signed note of the newer checkpoint
    proof: list[bytes]

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> ConsistencyFile:
        """Parse a consistency file; :class:`UnusableLedgerError` if it is not exactly one."""
        return read_typed(data, cls, "consistency proof", CONSISTENCY_FORMAT)


def prove_consistency(path: str | Path, old_note: str, new_note: str) -> ConsistencyFile:
    """Prove from the ledger at ``path`` (a file or a ``postgresql://`` URL) that checkpoint
    ``old_note`` is a prefix of ``new_note``.

    Raises :class:`InconsistentLedgerError` if the ledger no longer matches either checkpoint
    (rewritten, forked or cut back), and :class:`~creditledger.crypto.note.CheckpointError` if a
    checkpoint is not signed by the ledger's root key for this ledger.
    """
    with LedgerTree.open(path) as tree, tree.snapshot():
        ledger_id, root_key = read_genesis(tree.conn)
        origin = origin_for(ledger_id)
        old = open_checkpoint(old_note, origin, [root_key])
        new = open_checkpoint(new_note, origin, [root_key])
        if old.size > new.size:
            raise CheckpointError(f"OLD has {old.size} events, more than NEW's {new.size}")
        if old.size == 0:
            raise CheckpointError("no consistency proof exists from an empty checkpoint")
        for name, cp in (("OLD", old), ("NEW", new)):
            if cp.size > tree.size:
                raise InconsistentLedgerError(
                    f"the ledger has {tree.size} events; checkpoint {name} has {cp.size}: "
                    "it was cut back")
            if tree.root(cp.size) != cp.root:
                raise InconsistentLedgerError(
                    f"the ledger's first {cp.size} events do not match checkpoint {name}: "
                    "it was rewritten or forked")
        proof = tree.consistency_proof(old.size, new.size)
    result = ConsistencyFile(ledger_id=ledger_id, root_key=root_key.raw, old=old_note,
                             new=new_note, proof=proof)
    verify_consistency_file(result, root_key)
    return result


@dataclass(frozen=True)
class ConsistencyReport:
    """What :func:`verify_consistency_file` established."""

    ledger_id: str
    root_key_id: str
    root_key_pinned: bool
    old_size: int
    new_size: int


def verify_consistency_file(
    proof: ConsistencyFile, root_key: PublicKey | None = None
) -> ConsistencyReport:
    """Check a consistency file offline; raise :class:`InconsistentLedgerError` if it fails.

    Without ``root_key`` the file's own root key is trusted (the report says so).
    """
    try:
        named = PublicKey(proof.root_key)
    except ValueError as e:
        raise UnusableLedgerError(f"consistency proof: bad root key ({e})") from e
    if root_key is not None and root_key != named:
        raise InconsistentLedgerError(
            f"the proof names root key {named.key_id}, not the pinned {root_key.key_id}")
    origin = origin_for(proof.ledger_id)
    try:
        old = open_checkpoint(proof.old, origin, [named])
        new = open_checkpoint(proof.new, origin, [named])
        verify_consistency(old.size, new.size, proof.proof, old.root, new.root)
    except (CheckpointError, InvalidProof) as e:
        raise InconsistentLedgerError(str(e)) from e
    return ConsistencyReport(proof.ledger_id, named.key_id, root_key is not None, old.size,
                             new.size)
