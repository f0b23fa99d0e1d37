"""What a verification reports: the kinds of fault, the first fault, and the whole report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from creditledger.store.registry import KeyProblem


class FaultKind(StrEnum):
    """The kind of the first fault found in a ledger."""

    HASH_MISMATCH = "hash-mismatch"
    GLOBAL_LINK = "broken-global-link"
    AGGREGATE_LINK = "broken-aggregate-link"
    MISSING_EVENT = "missing-event"
    VERSION_GAP = "aggregate-version-gap"
    COMMIT_MISMATCH = "commit-mismatch"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"
    KEY_NOT_YET_VALID = "key-not-yet-valid"
    KEY_REVOKED = "key-revoked"
    REGISTRY = "registry-violation"
    TIME_REGRESSION = "time-regression"
    GENESIS = "bad-genesis"
    ROOT_KEY_MISMATCH = "root-key-mismatch"
    MERKLE_MISMATCH = "merkle-tree-mismatch"
    TRUNCATED = "truncated"
    FORKED = "forked-from-head"
    REPLACED = "replaced-ledger"
    MALFORMED_ROW = "malformed-row"
    NON_CANONICAL_TOPIC = "non-canonical-topic"
    UNAUTHORISED = "unauthorised-write"
    CHECKPOINT = "bad-checkpoint"
    HEADS_MISMATCH = "heads-index-mismatch"
    HEADS_STORE_MISMATCH = "heads-store-mismatch"


KEY_FAULTS = {
    KeyProblem.UNKNOWN: FaultKind.UNKNOWN_KEY,
    KeyProblem.NOT_YET_VALID: FaultKind.KEY_NOT_YET_VALID,
    KeyProblem.REVOKED: FaultKind.KEY_REVOKED,
}


@dataclass(frozen=True)
class Fault:
    """Where and how the ledger is broken."""

    kind: FaultKind
    position: int
    detail: str
    aggregate: str | None = None
    commit: int | None = None


@dataclass(frozen=True)
class VerifyReport:
    """What was verified. ``fault`` is ``None`` for an intact ledger."""

    path: str
    ledger_id: str
    root_key_id: str
    root_key_pinned: bool
    events: int
    commits: int
    aggregates: int
    keys: int
    last_hash: str
    head_size: int | None = None
    merkle_root: str | None = None  # None: the ledger stores no Merkle tree
    fault: Fault | None = None
    policy: str = ""
    """The write policy the genesis declares, which the verification replayed (``""``: a
    ledger from before the policy: the credit bank's rules for its own event types)."""

    @property
    def intact(self) -> bool:
        return self.fault is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["intact"] = self.intact
        return data
