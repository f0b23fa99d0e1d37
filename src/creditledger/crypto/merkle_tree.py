"""An RFC 9162 Merkle tree that grows in O(log n): the fast twin of :mod:`.merkle`'s reference.

:class:`MerkleTree` appends leaves in O(log n) and answers root, inclusion and consistency
questions with O(log n) reads of stored perfect-subtree hashes from a pluggable
:class:`NodeStore`; :func:`inclusion_nodes` and friends say in advance which nodes a question
reads, so a store can fetch them in one go. Tests hold it to the literal RFC functions of
:mod:`creditledger.crypto.merkle`. Standard library only.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from creditledger.crypto.merkle import (  # the package's shared checks and RFC walks
    _LEAF_PREFIX,
    _NODE_PREFIX,
    EMPTY_ROOT,
    HASH_SIZE,
    _check_available,
    _check_count,
    _check_hash,
    _check_hashes,
    _check_index,
    _check_sizes,
    _path,
    _subproof,
    _SubtreeHash,
    leaf_hash,
    node_hash,
)

__all__ = [
    "LevelNodeStore",
    "MemoryNodeStore",
    "MerkleTree",
    "NodeStore",
    "consistency_nodes",
    "inclusion_nodes",
    "root_nodes",
]

_SMALL_BATCH = 8
"""Up to this many leaves, :meth:`MerkleTree.extend_hashes` appends them one at a time."""



class NodeStore(Protocol):
    """Storage for perfect-subtree hashes keyed by (level, index).

    Node (level, index) is the hash of leaves [index * 2**level, (index + 1) * 2**level);
    level 0 holds the leaf hashes.
    """

    def get(self, level: int, index: int) -> bytes:
        """Return the stored hash of node (level, index); raise KeyError if it is absent."""
        ...

    def put(self, level: int, index: int, node: bytes) -> None:
        """Store the hash of node (level, index)."""
        ...


class MemoryNodeStore:
    """A :class:`NodeStore` kept in a dict."""

    def __init__(self) -> None:
        """Create an empty store."""
        self.nodes: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of node (level, index); raise KeyError if it is absent."""
        return self.nodes[(level, index)]

    def put(self, level: int, index: int, node: bytes) -> None:
        """Store the hash of node (level, index)."""
        self.nodes[(level, index)] = node

    def put_run(self, level: int, first: int, nodes: Sequence[bytes]) -> None:
        """Store nodes (level, first), (level, first + 1), ... (see :meth:`MerkleTree.extend`)."""
        keys = zip(itertools.repeat(level), range(first, first + len(nodes)))
        self.nodes.update(zip(keys, nodes, strict=False))

    def __len__(self) -> int:
        """Return the number of stored nodes."""
        return len(self.nodes)


def _recorded_reads(walk: Callable[[_SubtreeHash], object]) -> list[tuple[int, int]]:
    """The stored nodes a walk over RFC subtrees reads, in order, without reading any."""
    nodes: list[tuple[int, int]] = []

    def mth(lo: int, hi: int) -> bytes:
        nodes.extend(_perfect_subtrees(lo, hi))
        return EMPTY_ROOT

    walk(mth)
    return nodes


def inclusion_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """The (level, index) nodes :meth:`MerkleTree.inclusion_proof` reads (to fetch at once)."""
    _check_index(index, size)
    return _recorded_reads(lambda mth: _path(index, 0, size, mth))


def consistency_nodes(size1: int, size2: int) -> list[tuple[int, int]]:
    """The (level, index) nodes :meth:`MerkleTree.consistency_proof` reads."""
    _check_sizes(size1, size2)
    return _recorded_reads(lambda mth: _subproof(size1, 0, size2, True, mth))


def root_nodes(size: int) -> list[tuple[int, int]]:
    """The (level, index) nodes :meth:`MerkleTree.root` reads for a past ``size``."""
    _check_count("size", size)
    return _perfect_subtrees(0, size)


class LevelNodeStore:
    """A :class:`NodeStore` kept as one list per level: the fastest in-memory store.

    Nodes of a level are created left to right, so each level is a list indexed by node index;
    storing a run of nodes extends the list. Reading an absent node raises ``KeyError``.
    """

    def __init__(self) -> None:
        """Create an empty store."""
        self.levels: list[list[bytes]] = []

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of node (level, index); raise KeyError if it is absent."""
        if level < len(self.levels) and 0 <= index < len(self.levels[level]):
            return self.levels[level][index]
        raise KeyError((level, index))

    def put(self, level: int, index: int, node: bytes) -> None:
        """Store the hash of node (level, index); nodes of a level must come left to right."""
        self.put_run(level, index, [node])

    def put_run(self, level: int, first: int, nodes: Sequence[bytes]) -> None:
        """Store nodes (level, first), (level, first + 1), ...; ``first`` may not leave a gap."""
        while len(self.levels) <= level:
            self.levels.append([])
        row = self.levels[level]
        if first > len(row):
            raise ValueError(f"node ({level}, {first}) would leave a gap after {len(row)} nodes")
        row[first : first + len(nodes)] = nodes

    def __len__(self) -> int:
        """Return the number of stored nodes."""
        return sum(map(len, self.levels))


def _perfect_subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """Return (level, index) of the perfect subtrees making up [lo, hi), largest first.

    ``lo`` must be a multiple of a power of two >= hi - lo, as for every RFC subtree.
    """
    nodes: list[tuple[int, int]] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def _peak_levels(size: int) -> list[int]:
    """Levels of the perfect subtrees making up a tree of ``size`` leaves, largest first."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """MTH of adjacent perfect subtrees, largest first: H(a, H(b, c))."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(left, acc)
    return acc


class MerkleTree:
    """Append-only RFC 9162 Merkle tree over a :class:`NodeStore`.

    Appending leaf n stores node (0, n) and every perfect subtree that leaf completes, so the
    store holds node (level, k) exactly when (k + 1) * 2**level <= size. Any RFC subtree of a
    tree of any size <= :attr:`size` is then composed from at most log2(n) + 1 stored nodes, so
    roots and proofs for past sizes cost O(log n) reads. The store does not record the size:
    reopen a tree with ``MerkleTree(store, size)``.
    """

    def __init__(self, store: NodeStore | None = None, size: int = 0) -> None:
        """Open the tree of ``size`` leaves held in ``store`` (a new in-memory one by default)."""
        _check_count("size", size)
        self._store: NodeStore = MemoryNodeStore() if store is None else store
        self._size = size
        self._peaks = [self._store.get(*node) for node in _perfect_subtrees(0, size)]

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, data: bytes) -> int:
        """Append a leaf holding ``data`` (hashed with :func:`leaf_hash`); return its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, leaf: bytes) -> int:
        """Append an already computed leaf hash; return its index."""
        _check_hash("leaf hash", leaf)
        index = self._size
        self._store.put(0, index, leaf)
        node, level, position = leaf, 0, index
        while position & 1:
            node = node_hash(self._peaks.pop(), node)
            level, position = level + 1, position >> 1
            self._store.put(level, position, node)
        self._peaks.append(node)
        self._size += 1
        return index

    def extend(self, data: Iterable[bytes]) -> int:
        """Append one leaf per item of ``data`` (hashed with :func:`leaf_hash`); return the size.

        The batch form of :meth:`append`: the same tree and stored nodes, at a fraction of the
        per-leaf cost (hashing inlined, nodes handed to the store in one call).
        """
        sha256, prefix = hashlib.sha256, _LEAF_PREFIX
        return self.extend_hashes([sha256(prefix + item).digest() for item in data])

    def extend_hashes(self, leaves: Sequence[bytes]) -> int:
        """Append already computed leaf hashes in order; return the new size.

        Stores exactly the nodes :meth:`append_hash` would, one level at a time: each level's
        new nodes are hashed pairwise in one pass and handed to the store as one run (through
        ``put_run`` when the store has it, else ``put``). Nothing changes if a leaf is malformed.
        """
        if not all(type(leaf) is bytes and len(leaf) == HASH_SIZE for leaf in leaves):
            _check_hashes("leaves", leaves)  # raises, naming the first bad leaf
        if len(leaves) <= _SMALL_BATCH:  # a few leaves: the plain loop has less overhead
            for leaf in leaves:
                self.append_hash(leaf)
            return self._size
        sha256, prefix = hashlib.sha256, _NODE_PREFIX
        size = self._size
        peaks = dict(zip(_peak_levels(size), self._peaks, strict=True))
        nodes, start, level = list(leaves), size, 0
        self._put_run(0, start, nodes)
        while nodes:
            if start & 1:  # the first node completes the old peak of this level
                nodes.insert(0, peaks.pop(level))
                start -= 1
            end = len(nodes) & ~1
            if end < len(nodes):
                peaks[level] = nodes[-1]
            lefts, rights = nodes[0:end:2], nodes[1:end:2]
            nodes = [
                sha256(prefix + left + right).digest()
                for left, right in zip(lefts, rights, strict=True)
            ]
            start, level = start >> 1, level + 1
            if nodes:
                self._put_run(level, start, nodes)
        self._peaks = [peaks[k] for k in sorted(peaks, reverse=True)]
        self._size = size + len(leaves)
        return self._size

    def _put_run(self, level: int, first: int, nodes: Sequence[bytes]) -> None:
        put_run = getattr(self._store, "put_run", None)
        if put_run is not None:
            put_run(level, first, nodes)
        else:
            for offset, node in enumerate(nodes):
                self._store.put(level, first + offset, node)

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the tree of ``size`` leaves (default: the current size)."""
        if size is None or size == self._size:
            return _fold_right(self._peaks)
        _check_available(size, self._size)
        return self._subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Return PATH(index, D[0:size]), equal to :func:`inclusion_proof` over the leaves."""
        _check_available(size, self._size)
        _check_index(index, size)
        return _path(index, 0, size, self._subtree_hash)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """Return PROOF(size1, D[0:size2]), equal to :func:`consistency_proof` over the leaves."""
        _check_available(size2, self._size)
        _check_sizes(size1, size2)
        return _subproof(size1, 0, size2, True, self._subtree_hash)

    def _subtree_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for an RFC subtree [lo, hi), from at most log2(hi - lo) + 1 reads."""
        return _fold_right([self._store.get(*node) for node in _perfect_subtrees(lo, hi)])
