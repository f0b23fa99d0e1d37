"""The index of heads (``creditledger-heads/1``): a compact sparse Merkle tree from every
aggregate's id to its head (version and hash of its last event) at a checkpoint's size.

Pure: hashes, the tree's update and proof algorithms over any :class:`NodeSource`, and the proof
fold. :class:`MemoryIndex` keeps the tree in a dict (``verify`` rebuilds it from the events);
:mod:`creditledger.store.heads` keeps it in the ledger, one version of each position per
checkpoint. The format is fixed in ``docs/completeness.md``:

- key(A) = SHA-256(A's id as stored: 32 lowercase hex characters, UTF-8); bit i of a key chooses
  the child at depth i + 1 (0 left, 1 right), most significant bit of byte 0 first;
- leaf = SHA-256(0x02 || key || version (8 bytes, big-endian) || head);
  node = SHA-256(0x03 || l || r);
- a subtree with no leaf hashes to EMPTY (32 zero bytes), with one leaf to that leaf's hash (a
  lone leaf sits at the shallowest depth where it is alone), with more to node(left, right).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "EMPTY",
    "HEADS_FORMAT",
    "HeadProof",
    "InvalidHeadProof",
    "Leaf",
    "MemoryIndex",
    "Node",
    "NodeSource",
    "apply_heads",
    "bit",
    "fold",
    "heads_line",
    "heads_root_of",
    "key_of",
    "leaf_hash",
    "node_hash",
    "prefix_of",
    "prove_head",
    "verify_head_proof",
]

HEADS_FORMAT = "creditledger-heads/1"
"""The name of the index, and the first word of the checkpoint's extension line."""
EMPTY = bytes(32)
MAX_DEPTH = 256
_LEAF, _NODE = b"\x02", b"\x03"


class InvalidHeadProof(ValueError):
    """A head proof is malformed or does not lead to the index root."""


def key_of(aggregate_id: str) -> bytes:
    """The aggregate's key: SHA-256 of its id exactly as stored (lowercase hex)."""
    return hashlib.sha256(aggregate_id.encode("utf-8")).digest()


def bit(key: bytes, i: int) -> int:
    """Bit ``i`` of ``key`` (0 = most significant bit of byte 0): 0 left, 1 right."""
    return (key[i >> 3] >> (7 - (i & 7))) & 1


def prefix_of(key: bytes, depth: int) -> bytes:
    """The first ``depth`` bits of ``key``, in ``ceil(depth / 8)`` bytes, the rest zero: the
    name of the tree position at ``depth`` on the key's path."""
    whole, rest = divmod(depth, 8)
    if not rest:
        return key[:whole]
    return key[:whole] + bytes([key[whole] & (0xFF << (8 - rest)) & 0xFF])


def leaf_hash(key: bytes, version: int, head: bytes) -> bytes:
    """SHA-256(0x02 || key || version (8 bytes, big-endian) || head)."""
    return hashlib.sha256(_LEAF + key + version.to_bytes(8, "big") + head).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x03 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


@dataclass(frozen=True, slots=True)
class Leaf:
    """A position holding one aggregate alone: its key and head."""

    key: bytes
    version: int
    head: bytes

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.key, self.version, self.head)


@dataclass(frozen=True, slots=True)
class Node:
    """A position with two or more aggregates below: both children's hashes (so that a proof
    reads one position per depth)."""

    left: bytes
    right: bytes

    @property
    def hash(self) -> bytes:
        return node_hash(self.left, self.right)


Row = Leaf | Node


class NodeSource(Protocol):
    """Where a tree's positions are kept: ``get`` returns the position's state (None: empty)."""

    def get(self, depth: int, prefix: bytes) -> Row | None: ...

    def put(self, depth: int, prefix: bytes, row: Row) -> None: ...


Change = tuple[bytes, int, bytes]
"""(key, version, head) of one aggregate whose head moved."""


def apply_heads(source: NodeSource, changes: Mapping[bytes, tuple[int, bytes]]) -> bytes:
    """Set each key's (version, head) in the tree ``source`` keeps; return the new root.

    Only the positions on the changed keys' paths are read and written (``put``, once each).
    """
    items = sorted((key, v, h) for key, (v, h) in changes.items())
    if not items:
        row = source.get(0, b"")
        return EMPTY if row is None else row.hash
    return _update(source, 0, items)


def _split(items: Sequence[Change], depth: int) -> tuple[Sequence[Change], Sequence[Change]]:
    """Sorted ``items`` that share ``depth`` bits: those with bit ``depth`` 0, and 1."""
    cut = next((i for i, item in enumerate(items) if bit(item[0], depth)), len(items))
    return items[:cut], items[cut:]


def _update(source: NodeSource, depth: int, items: Sequence[Change]) -> bytes:
    prefix = prefix_of(items[0][0], depth)
    current = source.get(depth, prefix)
    if isinstance(current, Node):
        left, right = _split(items, depth)
        row: Row = Node(_update(source, depth + 1, left) if left else current.left,
                        _update(source, depth + 1, right) if right else current.right)
        source.put(depth, prefix, row)
        return row.hash
    if isinstance(current, Leaf) and all(key != current.key for key, _, _ in items):
        items = sorted([*items, (current.key, current.version, current.head)])
    return _build(source, depth, prefix, items)


def _build(source: NodeSource, depth: int, prefix: bytes, items: Sequence[Change]) -> bytes:
    """Write the subtree of ``items`` at an empty position (or one holding a lone leaf that
    ``items`` include); positions below it are empty."""
    if len(items) == 1:
        row: Row = Leaf(*items[0])
    else:
        if depth >= MAX_DEPTH:
            raise ValueError("two aggregates with one key")
        left, right = _split(items, depth)
        row = Node(_build(source, depth + 1, prefix_of(left[0][0], depth + 1), left)
                   if left else EMPTY,
                   _build(source, depth + 1, prefix_of(right[0][0], depth + 1), right)
                   if right else EMPTY)
    source.put(depth, prefix, row)
    return row.hash


@dataclass(frozen=True)
class HeadProof:
    """The proof of one aggregate's head at a checkpoint, or of its absence (``version`` 0,
    ``head`` empty; ``other`` the leaf found where it would be, or None for EMPTY).
    ``siblings`` are listed from the top."""

    originator_id: str
    version: int
    head: bytes
    siblings: tuple[bytes, ...]
    other: Leaf | None = None

    @property
    def absent(self) -> bool:
        return self.version == 0


def prove_head(source: NodeSource, aggregate_id: str) -> HeadProof:
    """Walk from the root to the aggregate's position: one ``get`` per depth."""
    key = key_of(aggregate_id)
    siblings: list[bytes] = []
    depth, row = 0, source.get(0, b"")
    while isinstance(row, Node):
        right = bit(key, depth)
        siblings.append(row.left if right else row.right)
        child = row.right if right else row.left
        depth += 1
        if child == EMPTY:
            row = None
            break
        row = source.get(depth, prefix_of(key, depth))
        if row is None or row.hash != child:
            raise ValueError(f"the index lacks position {depth} on the path of {aggregate_id}")
    if isinstance(row, Leaf) and row.key == key:
        return HeadProof(aggregate_id, row.version, row.head, tuple(siblings))
    return HeadProof(aggregate_id, 0, b"", tuple(siblings), row)


def fold(key: bytes, terminal: bytes, siblings: Sequence[bytes]) -> bytes:
    """The root a proof leads to: from the terminal up, each sibling on the side the key's bit
    does not take."""
    h = terminal
    for i in range(len(siblings) - 1, -1, -1):
        h = node_hash(siblings[i], h) if bit(key, i) else node_hash(h, siblings[i])
    return h


def verify_head_proof(proof: HeadProof, root: bytes) -> None:
    """Raise :class:`InvalidHeadProof` unless ``proof`` is well formed and leads to ``root``."""
    key, siblings = key_of(proof.originator_id), proof.siblings
    if len(siblings) > MAX_DEPTH or any(len(s) != 32 for s in siblings):
        raise InvalidHeadProof("siblings must be at most 256 hashes of 32 bytes")
    if proof.version < 0:
        raise InvalidHeadProof("a negative version")
    if proof.version > 0:
        if len(proof.head) != 32 or proof.other is not None:
            raise InvalidHeadProof("a membership proof needs a 32-byte head and no other leaf")
        terminal = leaf_hash(key, proof.version, proof.head)
    elif proof.head:
        raise InvalidHeadProof("an absence proof (version 0) has an empty head")
    elif proof.other is None:
        terminal = EMPTY
    else:
        other = proof.other
        if len(other.key) != 32 or len(other.head) != 32 or other.version < 1:
            raise InvalidHeadProof("the other leaf needs a 32-byte key and head, version >= 1")
        if other.key == key or any(bit(other.key, i) != bit(key, i)
                                   for i in range(len(siblings))):
            raise InvalidHeadProof("the other leaf is not another aggregate on this path")
        terminal = other.hash
    if fold(key, terminal, siblings) != root:
        raise InvalidHeadProof("the proof does not lead to the index root")


def heads_line(root: bytes) -> str:
    """The checkpoint's extension line that commits to the index root."""
    return f"{HEADS_FORMAT} {base64.b64encode(root).decode('ascii')}"


def heads_root_of(extensions: Iterable[str]) -> bytes | None:
    """The index root a checkpoint's extension lines commit to; None if they have no heads
    line. :class:`InvalidHeadProof` if there are several, or the root is not canonical base64
    of 32 bytes."""
    lines = [line for line in extensions if line.split(" ", 1)[0] == HEADS_FORMAT]
    if not lines:
        return None
    if len(lines) > 1:
        raise InvalidHeadProof("the checkpoint carries more than one heads line")
    text = lines[0][len(HEADS_FORMAT) + 1:]
    try:
        root = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != text:
        raise InvalidHeadProof("the heads line's root is not canonical base64 of 32 bytes")
    return root


class MemoryIndex:
    """The index kept in memory (a dict per position), updated as events are applied in order:
    what ``verify`` rebuilds from the events, one checkpoint after another."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, bytes], Row] = {}
        self.pending: dict[bytes, tuple[int, bytes]] = {}
        self._root = EMPTY

    def get(self, depth: int, prefix: bytes) -> Row | None:
        return self.rows.get((depth, prefix))

    def put(self, depth: int, prefix: bytes, row: Row) -> None:
        self.rows[(depth, prefix)] = row

    def add(self, aggregate_id: str, version: int, head: bytes) -> None:
        """Note an event (in position order); applied at the next :meth:`root`."""
        self.pending[key_of(aggregate_id)] = (version, head)

    def root(self) -> bytes:
        """The root with every added event applied."""
        if self.pending:
            self._root = apply_heads(self, self.pending)
            self.pending = {}
        return self._root

    def prove(self, aggregate_id: str) -> HeadProof:
        self.root()
        return prove_head(self, aggregate_id)
