"""The index of heads kept in the ledger: ``heads_nodes``, one version of each tree position per
indexed size (see :mod:`creditledger.crypto.heads` for the tree and docs/completeness.md).

A row (depth, prefix, size) is the position's state from index size ``size`` on: a lone leaf
(kind 1: key, head, version) or a node (kind 2: both children's hashes). The state at a size n is
each position's row at the largest size <= n, so the index of every past checkpoint stays
readable and a proof at n reads one row per depth (the primary key orders them).

The index is derived data, written when a checkpoint is published (:func:`update_index`), never
in an event commit: it is brought from its last size to the checkpoint's, from the events in
between, in a write transaction of its own under the lock commits take (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL ``LOCK TABLE stored_events IN EXCLUSIVE MODE``). The table is created
there if the ledger predates it. Rows are append-only (triggers refuse updates and deletes).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from creditledger.crypto.heads import (
    EMPTY,
    HeadProof,
    Leaf,
    Node,
    Row,
    apply_heads,
    key_of,
    prove_head,
)
from creditledger.errors import ConcurrentWriteError, CorruptTreeError
from creditledger.store.chain import APPEND_ONLY, DBCursor

_LEAF, _NODE = 1, 2
SQLITE_HEADS_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS heads_nodes ("
    " depth INTEGER NOT NULL, prefix BLOB NOT NULL, size INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, key_or_left BLOB NOT NULL, head_or_right BLOB NOT NULL,"
    " version INTEGER NOT NULL, PRIMARY KEY (depth, prefix, size)) WITHOUT ROWID",
] + [
    f"CREATE TRIGGER IF NOT EXISTS heads_nodes_no_{action.lower()} BEFORE {action} ON "
    f"heads_nodes BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for action in ("UPDATE", "DELETE")
]
PG_HEADS_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS heads_nodes ("
    " depth integer NOT NULL, prefix bytea NOT NULL, size bigint NOT NULL,"
    " kind smallint NOT NULL, key_or_left bytea NOT NULL, head_or_right bytea NOT NULL,"
    " version bigint NOT NULL, PRIMARY KEY (depth, prefix, size))",
    "CREATE OR REPLACE TRIGGER heads_nodes_append_only BEFORE UPDATE OR DELETE ON heads_nodes"
    " FOR EACH ROW EXECUTE FUNCTION creditledger_append_only()",
    "CREATE OR REPLACE TRIGGER heads_nodes_no_truncate BEFORE TRUNCATE ON heads_nodes"
    " FOR EACH STATEMENT EXECUTE FUNCTION creditledger_append_only()",
]
"""Created with the PostgreSQL ledger (``creditledger_append_only`` is the ledger's function)."""

SELECT_ROW = ("SELECT kind, key_or_left, head_or_right, version FROM heads_nodes"
              " WHERE depth=? AND prefix=? AND size<=? ORDER BY size DESC LIMIT 1")
INSERT_ROW = ("INSERT INTO heads_nodes (depth, prefix, size, kind, key_or_left, head_or_right,"
              " version) VALUES (?,?,?,?,?,?,?)")
INDEXED_SIZE = "SELECT MAX(size) FROM heads_nodes WHERE depth=0"
CHANGED_HEADS = ("SELECT originator_id, originator_version, hash FROM stored_events"
                 " WHERE position>? AND position<=? ORDER BY position")


class _Queryable(Protocol):
    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def _fetchone(conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    """One row: ``conn.execute`` returns the rows (sqlite3, a reader, psycopg), or None
    (eventsourcing's cursors, whose rows the cursor then holds)."""
    rows = conn.execute(sql, params)
    return (conn if rows is None else rows).fetchone()


class StoredIndex:
    """The index as of size ``size``, read from (and, for an update, written to) ``heads_nodes``
    through ``conn`` (a cursor, a ``sqlite3`` connection or a ledger reader)."""

    def __init__(self, conn: _Queryable, size: int) -> None:
        self.conn, self.size = conn, size
        self.reads = 0
        self.pending: list[tuple[int, bytes, Row]] = []

    def get(self, depth: int, prefix: bytes) -> Row | None:
        self.reads += 1
        row = _fetchone(self.conn, SELECT_ROW, (depth, prefix, self.size))
        if row is None:
            return None
        kind, a, b, version = row
        if kind == _LEAF:
            return Leaf(bytes(a), int(version), bytes(b))
        if kind == _NODE:
            return Node(bytes(a), bytes(b))
        raise CorruptTreeError(f"heads_nodes: a row of unknown kind {kind}")

    def put(self, depth: int, prefix: bytes, row: Row) -> None:
        self.pending.append((depth, prefix, row))

    def flush(self, cursor: DBCursor, size: int) -> None:
        """Insert the positions written since the last flush as their state from ``size``."""
        cursor.executemany(INSERT_ROW, [
            (depth, prefix, size, *((_LEAF, r.key, r.head, r.version) if isinstance(r, Leaf)
                                    else (_NODE, r.left, r.right, 0)))
            for depth, prefix, r in self.pending])
        self.pending = []

    def root(self) -> bytes:
        row = self.get(0, b"")
        return EMPTY if row is None else row.hash

    def prove(self, aggregate_id: str) -> HeadProof:
        return prove_head(self, aggregate_id)


def indexed_size(conn: _Queryable) -> int:
    """The size the stored index was last brought to (0: never)."""
    (size,) = _fetchone(conn, INDEXED_SIZE)
    return int(size or 0)


def changed_heads(rows: Iterator[Sequence[Any]] | Sequence[Sequence[Any]]
                  ) -> dict[bytes, tuple[int, bytes]]:
    """Each aggregate's last (version, hash) among event rows (id, version, hash) in order."""
    return {key_of(str(oid)): (int(version), bytes(h)) for oid, version, h in rows}


def bring_up_to(cursor: DBCursor, size: int) -> bytes:
    """Bring the stored index to ``size`` in the caller's write transaction: only the aggregates
    with an event in (last indexed size, ``size``] are updated. Return the root at ``size``.

    Raises :class:`ConcurrentWriteError` if the index is already past ``size`` (another
    checkpoint of a larger size was published meanwhile: its state at ``size`` was never kept).
    """
    done = indexed_size(cursor)
    if done > size:
        raise ConcurrentWriteError(
            f"a checkpoint of {done} events was published meanwhile; publish again")
    index = StoredIndex(cursor, size)
    if done == size:  # already there (another publisher of this size): the rows are the same
        return index.root()
    cursor.execute(CHANGED_HEADS, (done, size))
    root = apply_heads(index, changed_heads(cursor.fetchall()))
    index.flush(cursor, size)
    return root


class IndexedRecorder(Protocol):
    """A ledger recorder that can write under the commits' lock (both of ours can)."""

    heads_schema: list[str]
    heads_exists: str

    def write_lock(self) -> AbstractContextManager[Any]: ...


def update_index(recorder: IndexedRecorder, size: int) -> bytes:
    """Bring the ledger's stored index to ``size`` in a transaction of its own (creating the
    table first for a ledger that predates it); return the index root at ``size``."""
    with recorder.write_lock() as cursor:
        if _fetchone(cursor, recorder.heads_exists)[0] in (None, 0):
            for statement in recorder.heads_schema:
                cursor.execute(statement)
        return bring_up_to(cursor, size)
