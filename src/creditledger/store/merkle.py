"""The ledger's RFC 9162 Merkle tree, kept in the ledger file and written with each commit.

The leaves are the events' chain hashes in global order (leaf ``i`` is the event at position
``i + 1``): they are already stored in ``stored_events.hash``, so they are not stored again.
Interior nodes of the lowest :data:`LOW_LEVELS` levels are not stored either: each lies within
one block of ``2**LOW_LEVELS`` consecutive leaves and is recomputed from one range read of that
block. Every perfect subtree from level :data:`LOW_LEVELS` up is a row of ``merkle_nodes``,
written append-only in the same transaction as the events it covers.

So appending costs O(1) amortised hashing and about one row per ``2**(LOW_LEVELS - 1)`` events,
and a root or proof for any past size costs O(log n) reads: at most one range read per partial
block and one point read per stored node.

Select the recorder with
``APPLICATION_RECORDER_TOPIC=creditledger.merkle_recorder:MerkleSQLiteApplicationRecorder``
(:func:`creditledger.store.ledger.sqlite_env` does). Ledgers written before it existed, or by a
recorder without the tree, are brought up to date by the next commit or by
:meth:`LedgerTree.open` (a backfill of the missing nodes, in one write transaction).
:class:`LedgerTree` reads the tree of a ledger file or of a PostgreSQL ledger (whose recorder,
:class:`~creditledger.store.postgres.MerklePostgresApplicationRecorder`, writes the same nodes).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, TypeVar

from eventsourcing.persistence import StoredEvent

from creditledger.crypto.merkle import node_hash
from creditledger.crypto.merkle_tree import MerkleTree
from creditledger.errors import CorruptTreeError
from creditledger.store.chain import APPEND_ONLY, ChainWriter, DBCursor
from creditledger.store.sqlite import ChainedSQLiteApplicationRecorder

LOW_LEVELS = 4
"""Levels 0..3 are recomputed from leaf blocks of 16 event hashes instead of being stored."""
BLOCK = 1 << LOW_LEVELS
MERKLE_FENCE = "creditledger: a Merkle node is written only with the events it covers"
BACKFILL_CHUNK = 65_536
"""Leaves read and appended per step when building a missing tree."""

MERKLE_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS merkle_nodes ("
    " level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    " PRIMARY KEY (level, idx)) WITHOUT ROWID",
] + [
    f"CREATE TRIGGER IF NOT EXISTS merkle_nodes_no_{action.lower()} BEFORE {action} ON "
    f"merkle_nodes BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for action in ("UPDATE", "DELETE")
] + [
    # A plain INSERT of a node the recorder did not compute is refused: a node must lie within
    # the events already stored (the recorder inserts each node right after the events it
    # covers, in the same transaction), and every such node is stored already (primary key).
    "CREATE TRIGGER IF NOT EXISTS merkle_nodes_fence BEFORE INSERT ON merkle_nodes WHEN"
    " typeof(NEW.level) != 'integer' OR typeof(NEW.idx) != 'integer'"
    " OR typeof(NEW.hash) != 'blob' OR length(NEW.hash) != 32"
    f" OR NEW.level < {LOW_LEVELS} OR NEW.level > 62 OR NEW.idx < 0"
    " OR (NEW.idx + 1) * (1 << NEW.level)"
    " > (SELECT COALESCE(MAX(position), 0) FROM stored_events)"
    f" BEGIN SELECT RAISE(ABORT, '{MERKLE_FENCE}'); END",
]
INSERT_NODE = "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?,?,?)"
SELECT_NODE = "SELECT hash FROM merkle_nodes WHERE level=? AND idx=?"
SELECT_NODE_ROW = "SELECT level, idx, hash FROM merkle_nodes WHERE level=? AND idx=?"
SELECT_LEAVES = "SELECT hash FROM stored_events WHERE position>? AND position<=? ORDER BY position"
BLOCKS_DONE = f"SELECT MAX(idx) FROM merkle_nodes WHERE level={LOW_LEVELS}"


_T = TypeVar("_T")




class SQLiteNodeStore:
    """A :class:`~creditledger.crypto.merkle.NodeStore` over a ledger's tables.

    Nodes below :data:`LOW_LEVELS` are computed from a range read of their leaf block (kept in a
    small cache: written leaves never change); nodes from :data:`LOW_LEVELS` up are rows of
    ``merkle_nodes``. Writes are buffered until :meth:`flush`. ``reads`` counts statements.
    """

    def __init__(self, cursor: DBCursor) -> None:
        """Read and write through ``cursor`` (a DB-API cursor or connection)."""
        self.cursor = cursor
        self.pending: list[tuple[int, int, bytes]] = []
        self.reads = 0
        self._blocks: dict[int, list[bytes]] = {}
        self._fetched: dict[tuple[int, int], bytes] = {}

    def prefetch(self, nodes: Sequence[tuple[int, int]]) -> None:
        """Read the stored ones of ``nodes`` in one statement, for the gets that follow."""
        stored = list({n for n in nodes if n[0] >= LOW_LEVELS} - self._fetched.keys())
        for i in range(0, len(stored), 200):
            chunk = stored[i : i + 200]
            self.reads += 1
            self.cursor.execute(  # UNION ALL of point reads: each uses the primary key
                " UNION ALL ".join([SELECT_NODE_ROW] * len(chunk)),
                [x for node in chunk for x in node])
            for level, index, node in self.cursor.fetchall():
                self._fetched[(level, index)] = bytes(node)

    def forget(self) -> None:
        """Drop the prefetched nodes."""
        self._fetched.clear()

    def get(self, level: int, index: int) -> bytes:
        """Return node (level, index); raise KeyError if it is not (yet) in the ledger."""
        if level >= LOW_LEVELS:
            found = self._fetched.get((level, index))
            if found is not None:
                return found
            self.reads += 1
            self.cursor.execute(SELECT_NODE, (level, index))
            row = self.cursor.fetchone()
            if row is None:
                raise KeyError((level, index))
            return bytes(row[0])
        lo = index << level
        block = self._block(lo >> LOW_LEVELS, lo % BLOCK + (1 << level))
        nodes = block[lo % BLOCK : lo % BLOCK + (1 << level)]
        while len(nodes) > 1:
            nodes = [node_hash(a, b) for a, b in zip(nodes[0::2], nodes[1::2], strict=True)]
        return nodes[0]

    def _block(self, number: int, needed: int) -> list[bytes]:
        leaves = self._blocks.get(number)
        if leaves is None or len(leaves) < needed:
            self.reads += 1
            self.cursor.execute(SELECT_LEAVES, (number * BLOCK, (number + 1) * BLOCK))
            leaves = [bytes(h) for (h,) in self.cursor.fetchall()]
            if len(leaves) < needed:
                raise KeyError(("block", number))
            if len(self._blocks) > 64:
                self._blocks.clear()
            self._blocks[number] = leaves
        return leaves

    def put(self, level: int, index: int, node: bytes) -> None:
        """Buffer node (level, index) for :meth:`flush`, unless it is recomputed from leaves."""
        if level >= LOW_LEVELS:
            self.pending.append((level, index, node))

    def put_run(self, level: int, first: int, nodes: Sequence[bytes]) -> None:
        """Buffer nodes (level, first), (level, first + 1), ... (see :meth:`put`)."""
        if level >= LOW_LEVELS:
            self.pending.extend(zip(itertools.repeat(level), itertools.count(first), nodes))

    def flush(self) -> None:
        """Insert the buffered nodes (one statement)."""
        if self.pending:
            self.cursor.executemany(INSERT_NODE, self.pending)
            self.pending = []


def ensure_schema(cursor: DBCursor) -> None:
    for statement in MERKLE_SCHEMA:
        cursor.execute(statement)


def tree_at(store: SQLiteNodeStore, size: int) -> MerkleTree:
    """The tree of the first ``size`` events, appending any leaves the stored nodes lack.

    The stored nodes cover every complete block up to the highest stored block at level
    :data:`LOW_LEVELS` (nodes are written by whole commits); the rest is appended from the
    events' hashes and written back (when the caller flushes, in its transaction).
    """
    store.cursor.execute(BLOCKS_DONE)
    last = store.cursor.fetchone()[0]
    done = 0 if last is None else (last + 1) * BLOCK
    if done > size:
        raise CorruptTreeError(f"merkle_nodes cover {done} events; the ledger has {size}")
    tree = MerkleTree(store, done)
    while tree.size < size:
        hi = min(size, tree.size + BACKFILL_CHUNK)
        store.cursor.execute(SELECT_LEAVES, (tree.size, hi))
        leaves = [bytes(h) for (h,) in store.cursor.fetchall()]
        if len(leaves) != hi - tree.size:
            raise CorruptTreeError(f"events {tree.size + 1}..{hi} are not all present")
        tree.extend_hashes(leaves)
        store.flush()
    return tree


class MerkleWriter(ChainWriter):
    """A :class:`~.chain.ChainWriter` that also appends each commit's events to the
    Merkle tree, in the same transaction (a recorder mixin; call :meth:`_init_tree` from the
    recorder's ``__init__``).

    Like the chain's aggregate tips, the in-memory tree (its peaks) is trusted only while the
    chain's head is the one this writer wrote last; otherwise it is reopened from the stored
    nodes (O(log n) reads), and any events it lacks are appended first.
    """

    def _init_tree(self) -> None:
        self._tree: MerkleTree | None = None
        self._tree_store: SQLiteNodeStore | None = None
        self._tree_head: tuple[int, bytes] | None = None  # (size, last leaf) the tree is at
        self._schema_checked = False
        self._rows: list[tuple[Any, ...]] | None = None

    def _insert_events(
        self, c: DBCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._rows = None
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions:
            self._append(c, positions)
        return positions

    def _remember(self, rows: list[tuple[Any, ...]]) -> None:
        super()._remember(rows)
        self._rows = rows  # the commit's event rows, hash last: no need to read them back

    def _ensure_tree_schema(self, c: DBCursor) -> None:
        """Create ``merkle_nodes`` if a ledger created before the tree existed lacks it."""
        ensure_schema(c)

    def _append(self, c: DBCursor, positions: Sequence[int]) -> None:
        first = positions[0]
        rows = self._rows
        if rows is not None and rows[0][0] == first and len(rows) == len(positions):
            head_before, leaves = rows[0][6], [r[-1] for r in rows]
        else:
            c.execute("SELECT prev_hash, hash FROM stored_events WHERE position>=? "
                      "ORDER BY position", (first,))
            fetched = c.fetchall()
            head_before, leaves = bytes(fetched[0][0]), [bytes(r[1]) for r in fetched]
        self._rows = None
        if not self._schema_checked:
            self._ensure_tree_schema(c)
            self._schema_checked = True
        tree, store = self._tree, self._tree_store
        if tree is None or store is None or self._tree_head != (first - 1, head_before):
            store = SQLiteNodeStore(c)
            tree = tree_at(store, first - 1)
        self._tree_head = None  # until this commit's nodes are written
        store.cursor = c
        tree.extend_hashes(leaves)
        store.flush()
        self._tree, self._tree_store = tree, store
        self._tree_head = (tree.size, leaves[-1])


class MerkleSQLiteApplicationRecorder(MerkleWriter, ChainedSQLiteApplicationRecorder):
    """The chained, signed SQLite recorder that also keeps the ledger's Merkle tree
    (see :class:`MerkleWriter`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As :class:`~creditledger.store.sqlite.ChainedSQLiteApplicationRecorder`."""
        super().__init__(*args, **kwargs)
        self._init_tree()

    def construct_create_table_statements(self) -> list[str]:
        """The base schema plus ``merkle_nodes``, ``heads_nodes`` and their append-only
        triggers."""
        return [*super().construct_create_table_statements(), *MERKLE_SCHEMA,
                *self.heads_schema]
