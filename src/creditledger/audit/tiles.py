"""The ledger's Merkle tree as static files (C2SP ``tlog-tiles``), for any web server or mirror.

A tile of height 8 holds up to 256 consecutive hashes of one level of the tree, as raw 32-byte
concatenations: tile level L holds the nodes of tree level 8L (level 0: the leaves, which here
are the events' chain hashes). Paths are ``tile/8/<L>/<N>``, with N written in 3-digit groups
of which all but the last carry an ``x`` (``x001/x234/067``); the rightmost tile of a level
that is not full is ``<N>.p/<W>`` with its W hashes. A client holding the signed checkpoint
reads only the tiles it needs to recompute the root and any inclusion or consistency proof.

Everything is computed from the events' hashes (not from stored nodes) and the resulting root
must equal the checkpoint's, so published tiles never disagree with the checkpoint they
accompany. Entry bundles (``tile/entries``) are not written: the events themselves are private
to the ledger; a client proves inclusion of an event hash it got elsewhere (a bundle).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from creditledger.audit.checkpoints import choose_checkpoint
from creditledger.crypto.merkle import EMPTY_ROOT, node_hash
from creditledger.errors import CorruptTreeError
from creditledger.store.readers import open_reader

HEIGHT = 8
WIDTH = 1 << HEIGHT


def tile_path(level: int, index: int, width: int = WIDTH) -> str:
    """``tile/8/<level>/<index in x-prefixed 3-digit groups>[.p/<width>]``."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    name = "/".join([*("x" + g for g in groups[:-1]), groups[-1]])
    partial = f".p/{width}" if width < WIDTH else ""
    return f"tile/{HEIGHT}/{level}/{name}{partial}"


@dataclass(frozen=True)
class PublishedTiles:
    """What :func:`publish_tiles` wrote."""

    size: int
    root: bytes
    tiles: int


def publish_tiles(ledger: str | Path, directory: str | Path,
                  checkpoint: str | None = None) -> PublishedTiles:
    """Write ``checkpoint`` (default: the last recorded; it may carry cosignatures) and the
    tiles of its tree to ``directory``/checkpoint and ``directory``/tile/..."""
    out = Path(directory)
    with open_reader(ledger) as reader, reader.translate_errors(), reader.snapshot():
        _, _, checkpoint, cp = choose_checkpoint(reader.queries, ledger, checkpoint)
        leaves = (bytes(h) for (h,) in reader.scan(
            "SELECT hash FROM stored_events WHERE position<=? ORDER BY position", (cp.size,)))
        count, root = 0, EMPTY_ROOT
        for path, data in _tiles(leaves, cp.size):
            if isinstance(data, bytes):
                _write(out / path, data)
                count += 1
            else:
                root = data[0]
    if root != cp.root:
        raise CorruptTreeError(f"the ledger's first {cp.size} events do not hash to the "
                               "checkpoint's root: not publishing tiles for it")
    _write(out / "checkpoint", checkpoint.encode("utf-8"))  # last: it names complete tiles
    return PublishedTiles(cp.size, root, count)


def _tiles(leaves: Iterator[bytes], size: int) -> Iterator[tuple[str, bytes | tuple[bytes]]]:
    """Every tile (path, bytes) of the tree of ``size`` leaves, then ("", (root,))."""
    rows: list[list[bytes]] = [[]]  # the open (rightmost) tile of each level
    seen = 0
    for leaf in leaves:
        seen += 1
        node, level = leaf, 0
        while True:
            if level == len(rows):
                rows.append([])
            rows[level].append(node)
            if len(rows[level]) < WIDTH:
                break
            index = ((seen >> (HEIGHT * level)) - 1) >> HEIGHT
            yield tile_path(level, index), b"".join(rows[level])
            node, rows[level] = _subtree_root(rows[level]), []
            level += 1
    if seen != size:
        raise CorruptTreeError(f"the ledger has {seen} events, not the checkpoint's {size}")
    for level, row in enumerate(rows):
        if row:
            yield tile_path(level, (size >> (HEIGHT * level)) >> HEIGHT, len(row)), b"".join(row)
    yield "", (_root_of_tiles(rows) if size else EMPTY_ROOT,)


def _subtree_root(hashes: list[bytes]) -> bytes:
    """The RFC 9162 root of a power-of-two run of hashes."""
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def _root_of_tiles(rows: list[list[bytes]]) -> bytes:
    """The tree's root from the open tiles of each level: the perfect subtrees from the
    leftmost (highest) down, folded from the right, as RFC 9162's MTH splits."""
    peaks: list[bytes] = []
    for row in reversed(rows):  # highest level first: leftmost subtrees
        remaining = row
        while remaining:
            run = 1 << (len(remaining).bit_length() - 1)
            peaks.append(_subtree_root(remaining[:run]))
            remaining = remaining[run:]
    root = peaks[-1]
    for peak in reversed(peaks[:-1]):
        root = node_hash(peak, root)
    return root


def _write(path: Path, data: bytes) -> None:
    """Write atomically (a reader sees the old file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)
