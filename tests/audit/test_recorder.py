"""The Merkle tree kept by the recorder: equal to the RFC tree of all event hashes, always."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import get_topic
from hypothesis import given
from hypothesis import strategies as st

from creditledger.crypto.keys import SigningKey
from creditledger.crypto.merkle import (
    root_from_hashes,
    verify_consistency,
    verify_inclusion,
)
from creditledger.errors import UnusableLedgerError
from creditledger.store.ledger import Ledger
from creditledger.store.merkle import LOW_LEVELS, SQLiteNodeStore
from creditledger.store.sqlite import ChainedSQLiteApplicationRecorder
from creditledger.store.tree import LedgerTree

from .helpers import Tally

PLAIN = {"APPLICATION_RECORDER_TOPIC": get_topic(ChainedSQLiteApplicationRecorder)}


def hashes(path: Path) -> list[bytes]:
    conn = sqlite3.connect(path)
    try:
        return [bytes(h) for (h,) in conn.execute(
            "SELECT hash FROM stored_events ORDER BY position")]
    finally:
        conn.close()


def stored_nodes(path: Path) -> list[tuple[int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT level, idx FROM merkle_nodes ORDER BY level, idx").fetchall()
    finally:
        conn.close()


def check_tree(path: Path, probes: Sequence[tuple[int, int]] = ()) -> None:
    """The stored tree's roots and proofs equal the RFC tree over the event hashes."""
    leaves = hashes(path)
    with LedgerTree.open(path) as tree:
        assert tree.size == len(leaves)
        assert tree.root() == root_from_hashes(leaves)
        for a, b in probes:
            size = 1 + b % len(leaves)
            index, old = a % size, 1 + a % size
            root = root_from_hashes(leaves[:size])
            assert tree.root(size) == root
            verify_inclusion(leaves[index], index, size, tree.inclusion_proof(index, size), root)
            verify_consistency(old, size, tree.consistency_proof(old, size),
                               root_from_hashes(leaves[:old]), root)


def save(ledger: Any, key: SigningKey, tallies: list[Tally], commit: list[tuple[int, int]]) -> None:
    changed = []
    for which, adds in commit:
        if which >= len(tallies):
            tallies.append(Tally(f"t{len(tallies)}"))
        tally = tallies[min(which, len(tallies) - 1)]
        for _ in range(adds):
            tally.add(1)
        if tally not in changed:
            changed.append(tally)
    ledger.save(*changed, signer=key)


COMMITS = st.lists(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 40)), min_size=1,
                            max_size=4), min_size=1, max_size=12)


@given(history=COMMITS, reopen_at=st.integers(0, 12),
       probes=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=4))
def test_the_stored_tree_is_the_tree_of_all_event_hashes_after_any_history(
    history: list[list[tuple[int, int]]], reopen_at: int, probes: list[tuple[int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.ledger"
        root = SigningKey.generate()
        ledger = Ledger.create(path, root)
        tallies: list[Tally] = []
        for number, commit in enumerate(history):
            if number == reopen_at:  # a new process: the tree is reopened from stored nodes
                ledger.close()
                ledger = Ledger.open(path)
                tallies = [ledger.repository.get(t.id) for t in tallies]
            save(ledger, root, tallies, commit)
        ledger.close()
        check_tree(path, probes)
        assert all(level >= LOW_LEVELS for level, _ in stored_nodes(path))


def test_events_are_not_stored_twice_and_few_nodes_are_written(tmp_path: Path) -> None:
    path = tmp_path / "n.ledger"
    root = SigningKey.generate()
    ledger = Ledger.create(path, root)
    tallies: list[Tally] = []
    for _ in range(20):
        save(ledger, root, tallies, [(99, 49)])
    ledger.close()
    n = len(hashes(path))
    nodes = stored_nodes(path)
    assert min(level for level, _ in nodes) == LOW_LEVELS
    assert len(nodes) <= n // (1 << (LOW_LEVELS - 1))  # about one row per 8 events
    check_tree(path, [(5, 999), (77, 1000)])


def _reads(tree: LedgerTree, call: Any) -> int:
    statements: list[str] = []
    tree.conn.set_trace_callback(statements.append)
    tree.store._blocks.clear()
    call()
    tree.conn.set_trace_callback(None)
    return len(statements)


def test_roots_and_proofs_need_logarithmically_many_reads(tmp_path: Path) -> None:
    path = tmp_path / "big.ledger"
    root = SigningKey.generate()
    ledger = Ledger.create(path, root)
    tallies: list[Tally] = []
    for i in range(40):
        save(ledger, root, tallies, [(i, 99)])
    ledger.close()
    with LedgerTree.open(path) as tree:
        n = tree.size
        assert n > 4000
        worst = 0
        for size in (1, 2, 17, 255, 256, 257, 1000, 1024, 2049, n - 1, n):
            worst = max(worst, _reads(tree, lambda s=size: tree.root(s)))
            for index in {0, size // 2, size - 1}:
                worst = max(worst, _reads(tree, lambda i=index, s=size: tree.inclusion_proof(i, s)))
            for old in {1, size // 3 or 1, size}:
                worst = max(worst, _reads(tree, lambda o=old, s=size:
                                          tree.consistency_proof(o, s)))
        assert worst <= 2 * math.ceil(math.log2(n)), worst


def test_a_ledger_written_without_the_tree_is_backfilled_on_open_and_on_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "legacy.ledger"
    root = SigningKey.generate()
    ledger = Ledger.create(path, root, env=PLAIN)
    tallies: list[Tally] = []
    for i in range(5):
        save(ledger, root, tallies, [(i, 20)])
    ledger.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='merkle_nodes'").fetchone() \
        is None
    conn.close()
    copy = tmp_path / "legacy-copy.ledger"
    copy.write_bytes(path.read_bytes())
    check_tree(path, [(3, 50)])  # LedgerTree.open built the missing tree
    ledger = Ledger.open(copy)  # and so does the next commit
    save(ledger, root, [ledger.repository.get(t.id) for t in tallies], [(0, 3)])
    ledger.close()
    check_tree(copy, [(9, 200)])


def test_commits_by_a_writer_without_the_tree_are_caught_up_by_the_next_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.ledger"
    root = SigningKey.generate()
    ours = Ledger.create(path, root)
    tallies: list[Tally] = []
    save(ours, root, tallies, [(0, 30)])
    plain = Ledger.open(path, env=PLAIN)
    save(plain, root, [plain.repository.get(t.id) for t in tallies] + [], [(1, 40)])
    plain.close()
    save(ours, root, [ours.repository.get(t.id) for t in tallies], [(0, 5), (2, 7)])
    ours.close()
    check_tree(path, [(1, 70), (40, 81)])


def test_a_commit_that_fails_after_the_tree_was_extended_leaves_a_correct_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "rollback.ledger"
    root = SigningKey.generate()
    ledger = Ledger.create(path, root)
    tallies: list[Tally] = []
    save(ledger, root, tallies, [(0, 20)])

    def boom(self: SQLiteNodeStore) -> None:
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    with monkeypatch.context() as m:
        m.setattr(SQLiteNodeStore, "flush", boom)
        with pytest.raises(Exception, match="simulated"):
            save(ledger, root, [Tally("lost")], [(0, 30)])
    save(ledger, root, [ledger.repository.get(tallies[0].id)], [(0, 9)])
    ledger.close()
    check_tree(path, [(2, 30)])


def test_stored_nodes_are_append_only(tmp_path: Path) -> None:
    path = tmp_path / "fence.ledger"
    root = SigningKey.generate()
    ledger = Ledger.create(path, root)
    save(ledger, root, [], [(0, 40)])
    ledger.close()
    conn = sqlite3.connect(path)
    try:
        for statement in ("UPDATE merkle_nodes SET hash=x'00'", "DELETE FROM merkle_nodes"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()


def test_a_read_only_ledger_without_its_tree_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "ro.ledger"
    root = SigningKey.generate()
    ledger = Ledger.create(path, root, env=PLAIN)
    save(ledger, root, [], [(0, 40)])
    ledger.close()
    connect = sqlite3.connect

    def read_only(database: str, **kwargs: Any) -> sqlite3.Connection:
        if not kwargs.pop("uri", False):  # a URI already: the probe opens read-only itself
            database = f"{Path(database).resolve().as_uri()}?mode=ro"
        conn: sqlite3.Connection = connect(database, uri=True, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", read_only)
    with pytest.raises(UnusableLedgerError, match="Merkle tree must be built"):
        LedgerTree.open(path)
