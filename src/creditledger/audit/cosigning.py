"""The log's side of witnessing: the ``add-checkpoint`` request a school sends to a witness,
and the verifier's side: a quorum of recent cosignatures from trusted witnesses.

A verifier who trusts K of a set of witnesses, and sees their cosignatures on a checkpoint,
knows the checkpoint is the one those witnesses saw, and that it extends every checkpoint of
that log they cosigned before: a school that showed a forked ledger to someone else could not
have had both cosigned by the same witness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from creditledger.audit.checkpoints import choose_checkpoint
from creditledger.audit.witness import AddCheckpoint
from creditledger.crypto.cosignature import WitnessKey, cosignature_time
from creditledger.crypto.note import SignedNote
from creditledger.errors import CheckpointError, InconsistentLedgerError, UnusableLedgerError
from creditledger.store.tree import LedgerTree


def checkpoint_request(path: str | Path, old_size: int, checkpoint: str | None = None
                       ) -> AddCheckpoint:
    """The ``add-checkpoint`` request for a witness whose latest cosigned size of this ledger is
    ``old_size``: the consistency proof from it to ``checkpoint`` (default: the last recorded),
    read from the ledger at ``path``."""
    with LedgerTree.open(path) as tree, tree.snapshot():
        _, _, checkpoint, cp = choose_checkpoint(tree.conn, path, checkpoint)
        if cp.size > tree.size or tree.root(cp.size) != cp.root:
            raise InconsistentLedgerError(
                f"the ledger's first {cp.size} events do not match the checkpoint")
        if not 0 <= old_size <= cp.size:
            raise UnusableLedgerError(f"old size {old_size} is not within 0..{cp.size}")
        proof = tree.consistency_proof(old_size, cp.size) if 0 < old_size < cp.size else []
    return AddCheckpoint(old_size, tuple(proof), checkpoint)


@dataclass(frozen=True)
class Quorum:
    """Which trusted witnesses cosigned a checkpoint recently enough, and which did not."""

    cosigned: dict[str, int]  # witness name -> cosignature timestamp
    missing: list[str]  # witness names: no cosignature
    stale: list[str]  # witness names: a cosignature older than the maximum age

    def met(self, quorum: int) -> bool:
        return len(self.cosigned) >= quorum


def count_cosignatures(note: str, witnesses: Sequence[WitnessKey], max_age: int | None,
                       now: int) -> Quorum:
    """The trusted ``witnesses``' valid cosignatures on ``note``, no older than ``max_age``
    seconds at ``now``. A cosignature line of a trusted witness that does not verify raises
    :class:`CheckpointError`; one dated in the future by more than a minute is refused too."""
    parsed = SignedNote.parse(note)
    cosigned: dict[str, int] = {}
    missing, stale = [], []
    for witness in witnesses:
        stamp = cosignature_time(parsed, witness)
        if stamp is None:
            missing.append(witness.name)
        elif stamp > now + 60:
            raise CheckpointError(f"the cosignature of {witness.name} is dated in the future")
        elif max_age is not None and now - stamp > max_age:
            stale.append(witness.name)
        else:
            cosigned[witness.name] = stamp
    return Quorum(cosigned, missing, stale)
