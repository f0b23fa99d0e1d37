"""Portable, verifiable transcripts: one learner's events, proven against a signed checkpoint.

A :class:`Bundle` holds, for one learner, every event (as stored: the exact state bytes and the
chain fields) of the learner's account, of each achievement credited to it and of the learner's
credit-transfer ledger, up to a checkpoint; each with an RFC 9162 inclusion proof against the
checkpoint's root. It also holds the statement and signature of every commit those events belong
to, and the key-registry events that make the signers' keys checkable: the genesis (naming the
root key) and the registration and any revocation of each signing key.

:func:`~creditledger.audit.bundle_verify.verify_bundle` checks all of it offline, with no
database;
``docs/verify_bundle_standalone.py`` is an independent implementation of the same checks that
needs only ``cryptography``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from creditledger.audit.checkpoints import read_genesis, recorded_checkpoints
from creditledger.audit.documents import read_typed
from creditledger.crypto.note import open_checkpoint, origin_for
from creditledger.domain.ids import learner_account_id, natural_key_id
from creditledger.errors import (
    InconsistentLedgerError,
    NotFoundError,
    UnusableLedgerError,
)
from creditledger.store.registry import (
    GENESIS_TOPIC,
    registry_id,
)
from creditledger.store.tree import LedgerTree

BUNDLE_FORMAT = "creditledger-bundle/1"
ROLES = ("account", "achievement", "transfers")
_TOPIC_PREFIX = {
    "account": "creditledger.domain.learner:LearnerAccount.",
    "achievement": "creditledger.domain.achievement:Achievement.",
}
CREDITED = _TOPIC_PREFIX["account"] + "Credited"
REVERSED = _TOPIC_PREFIX["account"] + "Reversed"
RECOGNISED = _TOPIC_PREFIX["achievement"] + "Recognised"
REVOKED = _TOPIC_PREFIX["achievement"] + "Revoked"


class BundleEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One stored event: its link fields (what its hash covers), hash and inclusion proof."""

    position: int
    commit_seq: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    prev_hash: bytes
    prev_aggregate_hash: bytes
    hash: bytes
    proof: list[bytes]


class BundleCommit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A commit's signed statement (every event hash of the commit) and its signature."""

    seq: int
    first_position: int
    committed_at: int
    key_id: str
    event_hashes: list[bytes]
    signature: bytes


class BundleAggregate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """All events of one aggregate, versions 1..n, up to the checkpoint."""

    role: str
    originator_id: str
    events: list[BundleEvent]


class Bundle(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A learner's verifiable transcript (JSON: bytes are standard base64)."""

    format: str = BUNDLE_FORMAT
    ledger_id: str
    learner_id: str
    root_key: bytes
    checkpoint: str
    registry: list[BundleEvent]
    aggregates: list[BundleAggregate]
    commits: list[BundleCommit]

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=1) + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Bundle:
        """Parse a bundle; :class:`UnusableLedgerError` if it is not exactly one."""
        bundle = read_typed(data, cls, "bundle", BUNDLE_FORMAT)
        bad = [a.role for a in bundle.aggregates if a.role not in ROLES]
        if bad:
            raise UnusableLedgerError(f"bundle: unknown aggregate role {bad[0]!r}")
        return bundle

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        try:
            return cls.from_json(Path(path).read_bytes())
        except OSError as e:
            raise UnusableLedgerError(f"bundle {path}: {e.strerror}") from e


# -- building ------------------------------------------------------------------------------------

_EVENT_COLUMNS = ("position, commit_seq, originator_id, originator_version, topic, state,"
                  " prev_hash, prev_aggregate_hash, hash")


def build_bundle(path: str | Path, learner_id: str, checkpoint: str | None = None) -> Bundle:
    """The transcript bundle of ``learner_id``, proven against ``checkpoint`` (a signed note).

    By default the ledger's last recorded checkpoint is used. Events recorded after it are not
    in the bundle: publish a new checkpoint first to include them.
    """
    with LedgerTree.open(path) as tree, tree.snapshot():
        conn = tree.conn
        ledger_id, root_key = read_genesis(conn)
        if checkpoint is None:
            recorded = recorded_checkpoints(conn, ledger_id)
            if not recorded:
                raise UnusableLedgerError(
                    f"{path}: no checkpoint recorded yet; publish one (creditledger checkpoint)")
            checkpoint = recorded[-1].note
        cp = open_checkpoint(checkpoint, origin_for(ledger_id), [root_key])
        if cp.size > tree.size or tree.root(cp.size) != cp.root:
            raise InconsistentLedgerError(
                f"the ledger's first {cp.size} events do not match the checkpoint: it was "
                "rewritten, forked or cut back, or the checkpoint is another ledger's")

        def events_of(oid: str) -> list[BundleEvent]:
            rows = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM stored_events WHERE originator_id=? AND"
                " position<=? ORDER BY originator_version", (oid, cp.size)).fetchall()
            return [_event(row, tree.inclusion_proof(row[0] - 1, cp.size)) for row in rows]

        account = BundleAggregate(role="account", originator_id=learner_account_id(learner_id).hex,
                                  events=events_of(learner_account_id(learner_id).hex))
        if not account.events:
            raise NotFoundError("learner", learner_id, "learner_id")
        aggregates = [account]
        for aid in _credited(account):
            aggregates.append(BundleAggregate(role="achievement", originator_id=aid,
                                              events=events_of(aid)))
        transfers = natural_key_id("credit-transfers", learner_id).hex
        transfer_events = events_of(transfers)
        if transfer_events:
            aggregates.append(BundleAggregate(role="transfers", originator_id=transfers,
                                              events=transfer_events))
        seqs = {e.commit_seq for a in aggregates for e in a.events}
        signers = {row[0] for row in conn.execute(
            f"SELECT key_id FROM ledger_commits WHERE seq IN ({','.join('?' * len(seqs))})",
            sorted(seqs))}
        registry = [_event(row, tree.inclusion_proof(row[0] - 1, cp.size))
                    for row in _registry_rows(conn, ledger_id, signers | {root_key.key_id},
                                              cp.size)]
        seqs |= {e.commit_seq for e in registry}
        commits = [_commit(conn, seq) for seq in sorted(seqs)]
    return Bundle(ledger_id=ledger_id, learner_id=learner_id, root_key=root_key.raw,
                  checkpoint=checkpoint, registry=registry, aggregates=aggregates,
                  commits=commits)


def events_after(path: str | Path, learner_id: str, size: int) -> int:
    """How many events of the learner's account come after a checkpoint of ``size`` events."""
    with LedgerTree.open(path) as tree:
        (count,) = tree.conn.execute(
            "SELECT COUNT(*) FROM stored_events WHERE originator_id=? AND position>?",
            (learner_account_id(learner_id).hex, size)).fetchone()
    return int(count)


def _event(row: Any, proof: list[bytes]) -> BundleEvent:
    position, seq, oid, version, topic, state, prev, prev_agg, h = row
    return BundleEvent(position=position, commit_seq=seq, originator_id=oid,
                       originator_version=version, topic=topic, state=bytes(state),
                       prev_hash=bytes(prev), prev_aggregate_hash=bytes(prev_agg), hash=bytes(h),
                       proof=proof)


def _credited(account: BundleAggregate) -> list[str]:
    found: list[str] = []
    for e in account.events:
        if e.topic == CREDITED:
            aid = UUID(msgspec.json.decode(e.state)["achievement_id"]).hex
            if aid not in found:
                found.append(aid)
    return found


def _registry_rows(conn: Any, ledger_id: str, key_ids: set[str], size: int) -> list[Any]:
    """The genesis, and the registration and revocation events of ``key_ids``."""
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM stored_events WHERE originator_id=? AND position<=?"
        " ORDER BY position", (registry_id(ledger_id).hex, size)).fetchall()
    wanted = []
    for row in rows:
        state = msgspec.json.decode(bytes(row[5]))
        key_id = state.get("key_id") or (state.get("entry") or {}).get("key_id")
        if row[4] == GENESIS_TOPIC or key_id in key_ids:
            wanted.append(row)
    return wanted


def _commit(conn: Any, seq: int) -> BundleCommit:
    first, committed_at, key_id, signature = conn.execute(
        "SELECT first_position, committed_at, key_id, signature FROM ledger_commits WHERE seq=?",
        (seq,)).fetchone()
    hashes = [bytes(h) for (h,) in conn.execute(
        "SELECT hash FROM stored_events WHERE commit_seq=? ORDER BY position", (seq,))]
    return BundleCommit(seq=seq, first_position=first, committed_at=committed_at, key_id=key_id,
                        event_hashes=hashes, signature=bytes(signature))
