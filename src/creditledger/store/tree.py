"""Reading a ledger's Merkle tree: roots and RFC 9162 proofs at any past size.

:class:`LedgerTree` reads the tree that :mod:`creditledger.store.merkle` writes, through one
:class:`~creditledger.store.readers.LedgerReader` (a ledger file, or a PostgreSQL schema in one
read-only snapshot). A ledger file whose tree is missing or lags (written before the tree
existed) gets the missing nodes first, in one write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from creditledger.crypto.merkle import InvalidProof
from creditledger.crypto.merkle_tree import (
    MerkleTree,
    consistency_nodes,
    inclusion_nodes,
    root_nodes,
)
from creditledger.errors import CorruptTreeError, UnusableLedgerError
from creditledger.store.merkle import (
    BACKFILL_CHUNK,
    BLOCK,
    BLOCKS_DONE,
    SQLiteNodeStore,
    ensure_schema,
    tree_at,
)
from creditledger.store.readers import (
    LedgerReader,
    PostgresReader,
    Queryable,
    is_postgres_target,
    open_reader,
)

_T = TypeVar("_T")


class LedgerTree:
    """Roots and proofs of a ledger's Merkle tree, read through one
    :class:`~creditledger.store.readers.LedgerReader` (a file, or a PostgreSQL schema)."""

    def __init__(self, reader: LedgerReader, size: int) -> None:
        """Use :meth:`open`; ``size`` is the number of events the stored tree covers."""
        self.reader = reader
        self.conn: Queryable = reader.queries
        """Runs ``?`` statements on the ledger: the ``sqlite3`` connection of a file, the
        reader itself for PostgreSQL (in the reader's snapshot)."""
        self.store = SQLiteNodeStore(reader.cursor())
        self.size = size
        self._tree = MerkleTree(self.store, size)

    @classmethod
    def open(cls, path: str | Path) -> LedgerTree:
        """Open the tree of the ledger at ``path`` (a file or a ``postgresql://`` URL).

        A file whose tree is missing or lags gets the missing nodes first. A PostgreSQL ledger's
        tree is always written with its events, so it is only read: in one read-only snapshot,
        which every root and proof of this object then sees.

        Raises :class:`~creditledger.errors.UnusableLedgerError` for a target that is not a
        ledger, or a ledger whose tree is missing and cannot be written (read-only file), and
        :class:`~creditledger.errors.LedgerUnavailableError` for a server that cannot be reached.
        """
        if is_postgres_target(path):
            reader: LedgerReader = PostgresReader(str(path))
            try:
                with reader.translate_errors():
                    reader.ledger_id()
                    if not reader.has_table("merkle_nodes"):
                        raise UnusableLedgerError(f"{reader.where}: the ledger has no Merkle tree")
                    size = _event_count(reader)
            except BaseException:
                reader.close()
                raise
            return cls(reader, size)
        reader = open_reader(path, writable=True)
        try:
            assert isinstance(reader.queries, sqlite3.Connection)
            size = _bring_up_to_date(reader.queries, str(path))
        except BaseException:
            reader.close()
            raise
        return cls(reader, size)

    def close(self) -> None:
        """Close the connection."""
        self.reader.close()

    def __enter__(self) -> LedgerTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` events (default: all)."""
        size = self.size if size is None else size
        return self._fetching(root_nodes, (size,), lambda: self._tree.root(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The inclusion proof of leaf ``index`` (the event at position ``index + 1``)."""
        size = self.size if size is None else size
        return self._fetching(inclusion_nodes, (index, size),
                              lambda: self._tree.inclusion_proof(index, size))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The proof that the tree of ``size1`` events is a prefix of the one of ``size2``."""
        size2 = self.size if size2 is None else size2
        return self._fetching(consistency_nodes, (size1, size2),
                              lambda: self._tree.consistency_proof(size1, size2))

    def _fetching(self, nodes: Callable[..., list[tuple[int, int]]], args: tuple[int, ...],
                  compute: Callable[[], _T]) -> _T:
        """Run ``compute`` with the nodes it reads fetched in one statement beforehand."""
        if 0 < max(args, default=0) <= self.size:
            with suppress(InvalidProof):  # impossible arguments: ``compute`` raises the error
                self.store.prefetch(nodes(*args))
        try:
            return compute()
        finally:
            self.store.forget()

    @contextmanager
    def snapshot(self) -> Iterator[LedgerTree]:
        """A read transaction: every read inside sees the same ledger (a PostgreSQL reader is
        one snapshot already)."""
        with self.reader.snapshot():
            yield self

    def recomputed_root(self, size: int) -> bytes:
        """The root of the first ``size`` events from their hashes alone (not the stored nodes)."""
        tree = MerkleTree(NullStore())
        chunk: list[bytes] = []
        for (h,) in self.reader.scan(
                "SELECT hash FROM stored_events WHERE position<=? ORDER BY position", (size,)):
            chunk.append(bytes(h))
            if len(chunk) == BACKFILL_CHUNK:
                tree.extend_hashes(chunk)
                chunk = []
        tree.extend_hashes(chunk)
        if tree.size != size:
            raise CorruptTreeError(f"the ledger has {tree.size} of the first {size} events")
        return tree.root()


class NullStore:
    """A store that keeps nothing: for computing roots of appended leaves only."""

    def get(self, level: int, index: int) -> bytes:
        raise KeyError((level, index))

    def put(self, level: int, index: int, node: bytes) -> None:
        return None

    def put_run(self, level: int, first: int, nodes: Sequence[bytes]) -> None:
        return None


def _bring_up_to_date(conn: sqlite3.Connection, path: str) -> int:
    """Return the number of events; first build the stored tree up to it if it lags."""
    size = _event_count(conn)
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='merkle_nodes'").fetchone()
    if has_table:
        (last,) = conn.execute(BLOCKS_DONE).fetchone()
        done = 0 if last is None else (last + 1) * BLOCK
        if 0 <= size - done < BLOCK:
            return size
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.cursor()
            ensure_schema(cursor)
            size = _event_count(conn)
            store = SQLiteNodeStore(cursor)
            tree_at(store, size)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as e:
        raise UnusableLedgerError(
            f"{path}: its Merkle tree must be built first, and the file cannot be written ({e})"
        ) from e
    return size


def _event_count(conn: Queryable) -> int:
    """The ledger's size: the last position (gaps are found when the leaves are read)."""
    (last,) = conn.execute("SELECT MAX(position) FROM stored_events").fetchone()
    return int(last or 0)
