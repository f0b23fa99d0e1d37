"""The batch append of ``MerkleTree`` and the list-per-level node store (additions to merkle.py)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditledger.crypto.merkle import InvalidProof, leaf_hash, root_from_hashes
from creditledger.crypto.merkle_tree import LevelNodeStore, MemoryNodeStore, MerkleTree


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(b"%d" % i).digest() for i in range(n)]


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_extending_in_batches_stores_what_appending_one_by_one_stores(batches: list[int]) -> None:
    leaves = _leaves(sum(batches))
    one, batched, levels = MemoryNodeStore(), MemoryNodeStore(), LevelNodeStore()
    single, multi, fast = MerkleTree(one), MerkleTree(batched), MerkleTree(levels)
    for leaf in leaves:
        single.append_hash(leaf)
    start = 0
    for size in batches:
        multi.extend_hashes(leaves[start : start + size])
        fast.extend_hashes(leaves[start : start + size])
        start += size
        assert multi.root() == fast.root() == root_from_hashes(leaves[:start])
    assert batched.nodes == one.nodes
    assert {(lvl, i): h for lvl, row in enumerate(levels.levels) for i, h in enumerate(row)} \
        == one.nodes
    assert len(levels) == len(one)
    for size in range(1, len(leaves) + 1, 7):
        assert fast.inclusion_proof(size // 2, size) == single.inclusion_proof(size // 2, size)


def test_extend_hashes_data_like_append() -> None:
    data = [b"%d" % i for i in range(33)]
    a, b = MerkleTree(), MerkleTree()
    for d in data:
        a.append(d)
    assert b.extend(data) == 33
    assert a.root() == b.root() == root_from_hashes([leaf_hash(d) for d in data])


def test_a_malformed_leaf_changes_nothing() -> None:
    tree = MerkleTree(LevelNodeStore())
    tree.extend_hashes(_leaves(5))
    with pytest.raises(InvalidProof, match=r"leaves\[1\]"):
        tree.extend_hashes([bytes(32), b"short"])
    assert tree.size == 5 and tree.root() == root_from_hashes(_leaves(5))


def test_level_store_refuses_gaps_and_reports_absent_nodes() -> None:
    store = LevelNodeStore()
    store.put(0, 0, bytes(32))
    with pytest.raises(ValueError, match="gap"):
        store.put(0, 2, bytes(32))
    with pytest.raises(KeyError):
        store.get(3, 0)
    with pytest.raises(KeyError):
        store.get(0, 1)
