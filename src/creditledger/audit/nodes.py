"""Every stored Merkle node, checked against the events while the verifier streams them.

The recorder stores each perfect subtree of levels :data:`~creditledger.store.merkle.LOW_LEVELS`
and up as a row of ``merkle_nodes``, and proofs and checkpoints are made from those rows. So
the verifier checks each row, not only the current root: while it appends the events' hashes to
its own tree, every node that tree completes is compared with the stored row of the same level
and index, read from one ordered stream per level (constant memory). A row that differs, is
missing, is malformed, or lies beyond the ledger's size is a fault at the last event it covers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from creditledger.audit.report import Fault, FaultKind
from creditledger.store.merkle import LOW_LEVELS
from creditledger.store.readers import LedgerReader


class NodeFault(Exception):
    """A stored node does not match the events (carries the fault)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.detail)
        self.fault = fault


def _fault(level: int, index: int, detail: str, position: int | None = None) -> NodeFault:
    if position is None:
        position = (index + 1) << level if type(index) is int and index >= 0 else 1
    return NodeFault(Fault(FaultKind.MERKLE_MISMATCH, position,
                           f"stored Merkle node (level {level}, index {index}) {detail}"))


class CheckedNodes:
    """A node store for the verifier's own tree: it keeps nothing, and compares every node of
    the stored levels with the stored row (see the module's documentation)."""

    def __init__(self, reader: LedgerReader) -> None:
        self.reader = reader
        self.levels = self._stored_levels()
        self._rows: dict[int, Iterator[tuple[Any, ...]]] = {}

    def _stored_levels(self) -> set[int]:
        levels: set[int] = set()
        for (level,) in self.reader.execute("SELECT DISTINCT level FROM merkle_nodes"):
            if type(level) is not int or level < LOW_LEVELS:
                raise _fault(level if type(level) is int else -1, -1,
                             f"has a level ({level!r}) the recorder never stores")
            levels.add(level)
        return levels

    def get(self, level: int, index: int) -> bytes:
        raise KeyError((level, index))  # the tree asks only when reopened at a size

    def put(self, level: int, index: int, node: bytes) -> None:
        if level < LOW_LEVELS:
            return
        rows = self._rows.get(level)
        if rows is None:
            rows = self._rows[level] = iter(self.reader.scan(
                "SELECT idx, hash FROM merkle_nodes WHERE level=? ORDER BY idx", (level,)))
            self.levels.discard(level)
        row = next(rows, None)
        if row is None:
            raise _fault(level, index, "is missing")
        stored_index, stored = row
        if type(stored_index) is not int or type(stored) is not bytes:
            raise _fault(level, index, f"is malformed ({type(stored_index).__name__} index, "
                                       f"{type(stored).__name__} hash)")
        if stored_index < index:
            raise _fault(level, stored_index, "is not a node of the tree (a row too many)")
        if stored_index > index:
            raise _fault(level, index, "is missing")
        if stored != node:
            raise _fault(level, index, "does not hash the events it covers")

    def put_run(self, level: int, first: int, nodes: Sequence[bytes]) -> None:
        if level >= LOW_LEVELS:
            for offset, node in enumerate(nodes):
                self.put(level, first + offset, node)

    def finish(self, size: int) -> None:
        """After the last event: no stored row may be left over, at any level."""
        for level, rows in self._rows.items():
            row = next(rows, None)
            if row is not None:
                raise _fault(level, row[0], f"lies beyond the ledger's {size} events", size)
        for level in sorted(self.levels):  # stored levels the events never reached
            raise _fault(level, 0, f"lies beyond the ledger's {size} events", size)
