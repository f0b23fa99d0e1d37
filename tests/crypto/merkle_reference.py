"""Literal transcription of the RFC 9162 section 2.1 definitions, used as a test oracle.

Written straight from the RFC text over lists of *data entries* (not leaf hashes), with list
slicing and its own hashlib calls, so it shares no code with creditledger.crypto.merkle.
Slow on purpose: clarity over speed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]), RFC 9162 section 2.1.1."""
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + mth(d[0:k]) + mth(d[k:n]))


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 section 2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, d[0:k]), mth(d[k:n])]
    return [*path(m - k, d[k:n]), mth(d[0:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 section 2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[0:k], b), mth(d[k:n])]
    return [*subproof(m - k, d[k:n], False), mth(d[0:k])]


def proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 section 2.1.4.1."""
    return subproof(m, d, True)


def path_shape(m: int, n: int) -> list[str]:
    """Which side each PATH(m, D[n]) hash sits on: "R" right sibling, "L" left sibling.

    Two (index, size) pairs with the same shape combine the same proof hashes in the same way,
    so a verifier cannot tell them apart from the proof alone.
    """
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path_shape(m, k), "R"]
    return [*path_shape(m - k, n - k), "L"]


def subproof_shape(m: int, n: int, b: bool = True) -> list[str]:
    """Like path_shape for SUBPROOF(m, D[n], b); "S" marks a subtree hash that is old-tree only."""
    if m == n:
        return [] if b else ["S"]
    k = _k(n)
    if m <= k:
        return [*subproof_shape(m, k, b), "R"]
    return [*subproof_shape(m - k, n - k, False), "L"]
