"""The faults a bundle verification names (the standalone verifier and the verifier page use
the same names)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from creditledger.errors import BundleVerificationError


class BundleFaultKind(StrEnum):
    """Why a bundle fails verification (the standalone verifier uses the same names)."""

    ROOT_KEY_MISMATCH = "root-key-mismatch"
    BAD_CHECKPOINT = "bad-checkpoint"
    HASH_MISMATCH = "hash-mismatch"
    NOT_COVERED = "not-covered-by-checkpoint"
    BAD_INCLUSION = "bad-inclusion-proof"
    MISSING_COMMIT = "missing-commit"
    NOT_IN_COMMIT = "not-in-commit"
    BAD_GENESIS = "bad-genesis"
    REGISTRY = "registry-violation"
    UNKNOWN_KEY = "unknown-key"
    KEY_NOT_YET_VALID = "key-not-yet-valid"
    KEY_REVOKED = "key-revoked"
    BAD_SIGNATURE = "bad-signature"
    VERSION_GAP = "aggregate-version-gap"
    AGGREGATE_LINK = "broken-aggregate-link"
    WRONG_LEARNER = "wrong-learner"
    INCOMPLETE = "incomplete-transcript"
    UNREADABLE = "unreadable-content"
    UNAUTHORISED = "unauthorised-write"
    NO_QUORUM = "no-witness-quorum"  # witness cosignatures (not in the standalone verifier)
    BAD_INDEX_PROOF = "bad-index-proof"
    INCOMPLETE_AGGREGATE = "incomplete-aggregate"
    STALE_CHECKPOINT = "stale-checkpoint"


@dataclass(frozen=True)
class BundleFault:
    """The first problem found: its kind, a sentence, and where (position, aggregate)."""

    kind: BundleFaultKind
    detail: str
    position: int | None = None
    aggregate: str | None = None

    def __str__(self) -> str:
        where = f" at position {self.position}" if self.position is not None else ""
        agg = f" (aggregate {self.aggregate})" if self.aggregate else ""
        return f"{self.kind.value}{where}{agg}: {self.detail}"


def fault_error(kind: BundleFaultKind, detail: str, position: int | None = None,
          aggregate: str | None = None) -> BundleVerificationError:
    return BundleVerificationError(BundleFault(kind, detail, position, aggregate))
