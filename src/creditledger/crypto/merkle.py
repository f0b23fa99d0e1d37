"""RFC 9162 (Certificate Transparency v2, section 2.1) Merkle trees: hashes, proofs, verification.

Standard library only, so a standalone offline verifier can copy or import this file as is.

Two implementations of tree hashes and proofs live here:

* the module-level functions (:func:`root_from_hashes`, :func:`inclusion_proof`,
  :func:`consistency_proof`) transcribe the RFC definitions MTH, PATH and SUBPROOF literally over
  a list of leaf hashes, and serve as the reference;
* :class:`MerkleTree` appends leaves in O(log n) and answers the same questions with O(log n)
  reads of stored perfect-subtree hashes from a pluggable :class:`NodeStore`.

The verifiers follow the RFC 9162 sections 2.1.3.2 and 2.1.4.2 algorithms and raise
:class:`InvalidProof` on any failure; they never return a boolean. Two rules come from the
transparency-dev/merkle reference verifier rather than the RFC text: a consistency proof between
equal sizes is an empty proof plus equal roots, and no consistency proof from an empty tree
(``size1 == 0``) is accepted or produced.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InvalidProof",
    "LevelNodeStore",
    "MemoryNodeStore",
    "MerkleTree",
    "NodeStore",
    "consistency_nodes",
    "consistency_proof",
    "inclusion_nodes",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_hashes",
    "root_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every leaf, node and root hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string: the root of a tree without leaves."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_SMALL_BATCH = 8
"""Up to this many leaves, :meth:`MerkleTree.extend_hashes` appends them one at a time."""

_SubtreeHash = Callable[[int, int], bytes]
"""MTH of leaves [lo, hi) of one tree, for ranges that are RFC subtrees."""


class InvalidProof(ValueError):
    """A proof did not verify, or a proof was asked for or checked with impossible arguments."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# --- argument checks ------------------------------------------------------------------------


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidProof(f"{name} must be a non-negative integer, got {value!r}")


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes):
        raise InvalidProof(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{name} must be {HASH_SIZE} bytes long, got {len(value)}")


def _check_hashes(name: str, values: Sequence[bytes]) -> None:
    for position, value in enumerate(values):
        _check_hash(f"{name}[{position}]", value)


def _check_index(index: int, size: int) -> None:
    _check_count("index", index)
    _check_count("size", size)
    if index >= size:
        raise InvalidProof(f"leaf index {index} is not in a tree of size {size}")


def _check_available(size: int, available: int) -> None:
    _check_count("size", size)
    if size > available:
        raise InvalidProof(f"tree size {size} exceeds the {available} leaves available")


def _check_sizes(size1: int, size2: int) -> None:
    _check_count("size1", size1)
    _check_count("size2", size2)
    if size1 > size2:
        raise InvalidProof(f"size1 ({size1}) is greater than size2 ({size2})")
    if size1 == 0:
        raise InvalidProof("no consistency proof exists from an empty tree (size1 == 0)")


# --- the RFC definitions: MTH, PATH, SUBPROOF -----------------------------------------------


def _split(n: int) -> int:
    """Return k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) by the recursive RFC 9162 section 2.1.1 definition."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[lo]
    k = _split(n)
    return node_hash(_mth(leaf_hashes, lo, lo + k), _mth(leaf_hashes, lo + k, hi))


def _path(m: int, lo: int, hi: int, mth: _SubtreeHash) -> list[bytes]:
    """PATH(m, D[lo:hi]) of RFC 9162 section 2.1.3.1; ``mth`` hashes the sibling subtrees."""
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, lo, lo + k, mth), mth(lo + k, hi)]
    return [*_path(m - k, lo + k, hi, mth), mth(lo, lo + k)]


def _subproof(m: int, lo: int, hi: int, complete: bool, mth: _SubtreeHash) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], complete) of RFC 9162 section 2.1.4.1."""
    n = hi - lo
    if m == n:
        return [] if complete else [mth(lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, lo, lo + k, complete, mth), mth(lo + k, hi)]
    return [*_subproof(m - k, lo + k, hi, False, mth), mth(lo, lo + k)]


def _list_mth(leaf_hashes: Sequence[bytes]) -> _SubtreeHash:
    return lambda lo, hi: _mth(leaf_hashes, lo, hi)


def root_from_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over the given leaf hashes; the empty tree's root is SHA-256(b"")."""
    _check_hashes("leaf_hashes", leaf_hashes)
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Return PATH(index, D[0:size]): the audit path of leaf ``index`` in the first ``size``."""
    _check_available(size, len(leaf_hashes))
    _check_index(index, size)
    _check_hashes("leaf_hashes", leaf_hashes[:size])
    return _path(index, 0, size, _list_mth(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """Return PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true).

    Requires 0 < size1 <= size2 <= len(leaf_hashes); equal sizes give an empty proof.
    """
    _check_available(size2, len(leaf_hashes))
    _check_sizes(size1, size2)
    _check_hashes("leaf_hashes", leaf_hashes[:size2])
    return _subproof(size1, 0, size2, True, _list_mth(leaf_hashes))


# --- verification: RFC 9162 sections 2.1.3.2 and 2.1.4.2 -------------------------------------


def _shift_to_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift fn and sn equally until LSB(fn) is set or fn is 0."""
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def _root_from_inclusion_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """Steps 2 to 4 of RFC 9162 section 2.1.3.2, and the ``sn == 0`` half of step 5."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise InvalidProof("inclusion proof has more hashes than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_to_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("inclusion proof has fewer hashes than the path to the root")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises InvalidProof when it is not, or when an argument is malformed.
    """
    _check_index(index, size)
    _check_hash("leaf hash", leaf_hash)
    _check_hashes("proof", proof)
    _check_hash("root", root)
    if _root_from_inclusion_path(leaf_hash, index, size, proof) != root:
        raise InvalidProof(f"inclusion proof for leaf {index} of {size} does not match the root")


def _roots_from_consistency_path(
    size1: int, size2: int, path: list[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """Steps 1 to 6 of RFC 9162 section 2.1.4.2, and the ``sn == 0`` part of step 7."""
    if not path:
        raise InvalidProof(f"consistency proof from {size1} to {size2} must not be empty")
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof has more hashes than the trees need")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_to_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("consistency proof has fewer hashes than the trees need")
    return fr, sr


def _verify_same_size(size: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Trees of equal size are consistent iff their roots are equal; the proof must be empty."""
    if proof:
        raise InvalidProof(f"consistency proof between equal sizes ({size}) must be empty")
    if root1 != root2:
        raise InvalidProof(f"trees of equal size {size} have different roots")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the one with ``root1``.

    Requires 0 < size1 <= size2. Equal sizes need an empty proof and equal roots (compared as
    bytes, as the reference implementation does). Raises InvalidProof on any failure.
    """
    _check_sizes(size1, size2)
    _check_hashes("proof", proof)
    if size1 == size2:
        _verify_same_size(size1, proof, root1, root2)
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    fr, sr = _roots_from_consistency_path(size1, size2, list(proof), root1)
    if fr != root1:
        raise InvalidProof(f"consistency proof does not reproduce the root of size {size1}")
    if sr != root2:
        raise InvalidProof(f"consistency proof does not reproduce the root of size {size2}")


# --- incremental tree over stored perfect subtrees -------------------------------------------


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
