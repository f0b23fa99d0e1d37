"""``verify``'s pass over the recorded checkpoints: each note is signed by the root key and
names the size and root recorded with it, its root is the Merkle root of the first ``size``
events, and its ``creditledger-heads/1`` line (if any) is the root of the index of heads rebuilt
from the events, and of the index the ledger stores.

One pass in position order up to the last checkpoint's size, after the walker (which checks the
events themselves): the index is rebuilt in memory (:class:`~creditledger.crypto.heads.
MemoryIndex`), updated between checkpoints with the aggregates that moved.
"""

from __future__ import annotations

from creditledger.audit.checkpoints import (
    RecordedCheckpoint,
    read_genesis,
    recorded_checkpoints,
)
from creditledger.audit.report import Fault, FaultKind
from creditledger.crypto.heads import InvalidHeadProof, MemoryIndex, heads_root_of
from creditledger.crypto.merkle_tree import MerkleTree
from creditledger.crypto.note import Checkpoint, open_checkpoint, origin_for
from creditledger.errors import CheckpointError
from creditledger.store.heads import StoredIndex
from creditledger.store.readers import LedgerReader
from creditledger.store.tree import NullStore

_EVENTS = ("SELECT originator_id, originator_version, hash FROM stored_events"
           " WHERE position<=? ORDER BY position")


def check_checkpoints(reader: LedgerReader) -> Fault | None:
    """The first fault of the recorded checkpoints, or None (also for a ledger with none)."""
    ledger_id, root_key = read_genesis(reader.queries)
    recorded = recorded_checkpoints(reader.queries, ledger_id)
    if not recorded:
        return None
    opened: list[tuple[RecordedCheckpoint, Checkpoint, bytes | None]] = []
    for rec in recorded:
        try:
            cp = open_checkpoint(rec.note, origin_for(ledger_id), [root_key])
            heads = heads_root_of(cp.extensions)
        except (CheckpointError, InvalidHeadProof) as e:
            return _bad(rec, f"the recorded checkpoint note: {e}")
        if (cp.size, cp.root) != (rec.size, rec.root) or not cp.size < rec.position:
            return _bad(rec, f"the note signs {cp.size} events, the event records {rec.size} "
                        f"at position {rec.position}")
        opened.append((rec, cp, heads))
    opened.sort(key=lambda item: item[1].size)
    stored = reader.has_table("heads_nodes")
    tree, index = MerkleTree(NullStore()), MemoryIndex()
    pending = iter(opened)
    due = next(pending, None)
    rows = reader.scan(_EVENTS, (opened[-1][1].size,))
    chunk: list[bytes] = []
    while due is not None:
        while tree.size + len(chunk) < due[1].size:
            row = next(rows, None)
            if row is None:
                return _bad(due[0], f"the ledger has fewer than the {due[1].size} events it "
                            "signs")
            oid, version, h = row
            index.add(str(oid), int(version), bytes(h))
            chunk.append(bytes(h))
        tree.extend_hashes(chunk)
        chunk = []
        fault = _compare(reader, stored, due, tree.root(), index.root())
        if fault is not None:
            return fault
        due = next(pending, None)
    return None


def _compare(reader: LedgerReader, stored: bool,
             due: tuple[RecordedCheckpoint, Checkpoint, bytes | None],
             merkle_root: bytes, heads_root: bytes) -> Fault | None:
    rec, cp, signed_heads = due
    if merkle_root != cp.root:
        return _bad(rec, f"its root is not the Merkle root of the first {cp.size} events")
    if signed_heads is None:
        return None
    if signed_heads != heads_root:
        return Fault(FaultKind.HEADS_MISMATCH, rec.position, f"the checkpoint of {cp.size} "
                     "events signs an index of heads that is not the one its events give")
    if stored and StoredIndex(reader.queries, cp.size).root() != heads_root:
        return Fault(FaultKind.HEADS_STORE_MISMATCH, rec.position, f"the stored index of heads "
                     f"at {cp.size} events (heads_nodes) is not the one the events give")
    return None


def _bad(rec: RecordedCheckpoint, detail: str) -> Fault:
    return Fault(FaultKind.CHECKPOINT, rec.position, detail)
