"""RFC 9162 (Certificate Transparency v2, section 2.1) Merkle trees: hashes, proofs, verification.

Standard library only, so a standalone offline verifier can copy or import this file as is.

The module-level functions (:func:`root_from_hashes`, :func:`inclusion_proof`,
:func:`consistency_proof`) transcribe the RFC definitions MTH, PATH and SUBPROOF literally over a
list of leaf hashes, and serve as the reference for the fast tree in
:mod:`creditledger.crypto.merkle_tree`.

The verifiers follow the RFC 9162 sections 2.1.3.2 and 2.1.4.2 algorithms and raise
:class:`InvalidProof` on any failure; they never return a boolean. Two rules come from the
transparency-dev/merkle reference verifier rather than the RFC text: a consistency proof between
equal sizes is an empty proof plus equal roots, and no consistency proof from an empty tree
(``size1 == 0``) is accepted or produced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InvalidProof",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every leaf, node and root hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string: the root of a tree without leaves."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
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
