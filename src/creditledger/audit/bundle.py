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

from creditledger.audit.checkpoints import choose_checkpoint
from creditledger.audit.documents import read_typed
from creditledger.crypto.heads import (
    HeadProof,
    InvalidHeadProof,
    Leaf,
    heads_root_of,
    verify_head_proof,
)
from creditledger.crypto.note import Checkpoint
from creditledger.domain.alliance import CertificateRecognition, CourseCertificate
from creditledger.domain.alliance.values import alliance_id
from creditledger.domain.credential_status import status_entry_id
from creditledger.domain.ids import learner_account_id, natural_key_id
from creditledger.domain.policy.owners import topic
from creditledger.errors import (
    InconsistentLedgerError,
    NotFoundError,
    UnusableLedgerError,
)
from creditledger.store.heads import StoredIndex
from creditledger.store.registry import registry_id
from creditledger.store.tree import LedgerTree

BUNDLE_FORMAT = "creditledger-bundle/2"
"""What :func:`build_bundle` writes: ``/1`` plus ``heads``, the index proofs (completeness)."""
BUNDLE_FORMAT_1 = "creditledger-bundle/1"
"""Still read: verifies as before, its completeness "not proven"."""
ROLES = ("account", "achievement", "transfers", "evidence")
"""The aggregates of a bundle: the learner's account, each achievement credited to it, the
learner's transfer ledger, and *evidence*: aggregates the write policy needs to check the others
(for an achievement imported from an alliance course certificate: the certificate's
recognition, the certificate, the alliance that sealed it, and the certificate's status list
entry)."""
_TOPIC_PREFIX = {
    "account": "creditledger.domain.learner:LearnerAccount.",
    "achievement": "creditledger.domain.achievement:Achievement.",
}
CERTIFICATE_RECOGNISED = topic(CertificateRecognition, "Recognised")
CERTIFICATE_ISSUED = topic(CourseCertificate, "Issued")
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


class BundleOtherLeaf(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The leaf of another aggregate found where an absent one would be."""

    key: bytes
    version: int
    head: bytes


class BundleHeadProof(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An aggregate's head in the checkpoint's index of heads, with its proof (``version`` 0
    and an empty ``head``: the aggregate is absent; see docs/completeness.md)."""

    originator_id: str
    version: int
    head: bytes
    siblings: list[bytes]
    other: BundleOtherLeaf | None

    def proof(self) -> HeadProof:
        other = None if self.other is None else Leaf(self.other.key, self.other.version,
                                                     self.other.head)
        return HeadProof(self.originator_id, self.version, self.head, tuple(self.siblings),
                         other)

    @classmethod
    def of(cls, proof: HeadProof) -> BundleHeadProof:
        other = None if proof.other is None else BundleOtherLeaf(
            key=proof.other.key, version=proof.other.version, head=proof.other.head)
        return cls(originator_id=proof.originator_id, version=proof.version, head=proof.head,
                   siblings=list(proof.siblings), other=other)


class Bundle(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A learner's verifiable transcript (JSON: bytes are standard base64). ``heads`` is there
    in format ``/2`` only (an empty list when the checkpoint predates the index)."""

    format: str
    ledger_id: str
    learner_id: str
    root_key: bytes
    checkpoint: str
    registry: list[BundleEvent]
    aggregates: list[BundleAggregate]
    commits: list[BundleCommit]
    heads: list[BundleHeadProof] | None = None

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=1) + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Bundle:
        """Parse a bundle; :class:`UnusableLedgerError` if it is not exactly one."""
        bundle = read_typed(data, cls, "bundle", (BUNDLE_FORMAT, BUNDLE_FORMAT_1))
        if (bundle.heads is None) != (bundle.format == BUNDLE_FORMAT_1):
            raise UnusableLedgerError(f"bundle: {BUNDLE_FORMAT} has heads, {BUNDLE_FORMAT_1} "
                                      "has none")
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
    in the bundle: publish a new checkpoint first to include them. Each aggregate's head at the
    checkpoint comes with its proof in the checkpoint's index of heads, and the learner's
    transfer ledger's absence when there is none (``heads``: empty for a checkpoint that
    predates the index).
    """
    with LedgerTree.open(path) as tree, tree.snapshot():
        conn = tree.conn
        ledger_id, root_key, checkpoint, cp = choose_checkpoint(conn, path, checkpoint)
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
        for aid in credited_achievements(account):
            aggregates.append(BundleAggregate(role="achievement", originator_id=aid,
                                              events=events_of(aid)))
        transfers = natural_key_id("credit-transfers", learner_id).hex
        transfer_events = events_of(transfers)
        if transfer_events:
            aggregates.append(BundleAggregate(role="transfers", originator_id=transfers,
                                              events=transfer_events))
        for oid in _evidence(conn, aggregates):
            aggregates.append(BundleAggregate(role="evidence", originator_id=oid,
                                              events=events_of(oid)))
        heads = _head_proofs(tree, cp, aggregates, transfers)
        seqs = {e.commit_seq for a in aggregates for e in a.events}
        rows = _registry_rows(conn, ledger_id, seqs, root_key.key_id, cp.size)
        registry = [_event(row, tree.inclusion_proof(row[0] - 1, cp.size)) for row in rows]
        seqs |= {e.commit_seq for e in registry}
        commits = [_commit(conn, seq) for seq in sorted(seqs)]
    return Bundle(format=BUNDLE_FORMAT, ledger_id=ledger_id, learner_id=learner_id,
                  root_key=root_key.raw, checkpoint=checkpoint, registry=registry,
                  aggregates=aggregates, commits=commits, heads=heads)


def _head_proofs(tree: LedgerTree, cp: Checkpoint, aggregates: list[BundleAggregate],
                 transfers: str) -> list[BundleHeadProof]:
    """The index proof of each aggregate's head (and of the transfer ledger's absence, if the
    bundle holds none), read from the stored index at the checkpoint's size and checked
    against its heads line: a builder never hands out a proof that does not verify."""
    try:
        root = heads_root_of(cp.extensions)
    except InvalidHeadProof as e:
        raise InconsistentLedgerError(f"the checkpoint's index of heads: {e}") from e
    if root is None:
        return []
    index = StoredIndex(tree.conn, cp.size)
    if not tree.reader.has_table("heads_nodes") or index.root() != root:
        raise InconsistentLedgerError(
            f"the ledger's index of heads at {cp.size} events does not match the checkpoint")
    wanted = [(a.originator_id, len(a.events), a.events[-1].hash) for a in aggregates]
    if all(a.role != "transfers" for a in aggregates):
        wanted.append((transfers, 0, b""))
    proofs = []
    for oid, version, head in wanted:
        proof = index.prove(oid)
        try:
            verify_head_proof(proof, root)
        except InvalidHeadProof as e:
            raise InconsistentLedgerError(f"the index proof of {oid}: {e}") from e
        if (proof.version, proof.head) != (version, head):
            raise InconsistentLedgerError(
                f"the index of heads gives {oid} version {proof.version}, the events {version}")
        proofs.append(BundleHeadProof.of(proof))
    return proofs


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


def credited_achievements(account: BundleAggregate) -> list[str]:
    """The achievements the account's ``Credited`` events name, in order (raises on an
    undecodable credit entry)."""
    found: list[str] = []
    for e in account.events:
        if e.topic == CREDITED:
            aid = UUID(str(msgspec.json.decode(e.state)["achievement_id"])).hex
            if aid not in found:
                found.append(aid)
    return found


def _evidence(conn: Any, aggregates: list[BundleAggregate]) -> list[str]:
    """The aggregates behind achievements imported from a course certificate: the
    certificate's recognition (recorded in the achievement's first commit), the certificate,
    the alliance it belongs to, and the status list entry the certificate claimed."""
    found: list[str] = []
    for a in aggregates:
        if a.role != "achievement" or not a.events:
            continue
        for oid, state in conn.execute(
                "SELECT originator_id, state FROM stored_events WHERE commit_seq=? AND topic=?",
                (a.events[0].commit_seq, CERTIFICATE_RECOGNISED)).fetchall():
            recognition = msgspec.json.decode(bytes(state))
            if UUID(str(recognition.get("achievement_id"))).hex != a.originator_id:
                continue
            certificate = UUID(str(recognition["certificate_id"])).hex
            (issued,) = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id=? AND originator_version=1",
                (certificate,)).fetchone()
            facts = msgspec.json.decode(bytes(issued))["facts"]
            alliance = alliance_id(facts["alliance"]).hex
            status = facts.get("status")  # the status list entry its commit claimed
            entry = [] if status is None else [status_entry_id(
                status["key_id"], status["list_number"], status["index"]).hex]
            found += [x for x in (oid, certificate, alliance, *entry) if x not in found]
    return found


def _registry_rows(conn: Any, ledger_id: str, seqs: set[int], root_key_id: str,
                   size: int) -> list[Any]:
    """The genesis commit, and the registration and revocation events of every key that signed one
    of the commits ``seqs``, or signed those registry events (an administrator registers its
    staff's keys), and so on."""
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM stored_events WHERE originator_id=? AND position<=?"
        " ORDER BY position", (registry_id(ledger_id).hex, size)).fetchall()
    key_of = {}
    for row in rows:
        state = msgspec.json.decode(bytes(row[5]))
        key_of[row[0]] = state.get("key_id") or (state.get("entry") or {}).get("key_id")
    wanted = {row[0] for row in rows if row[1] == 1}  # the genesis and the policy it declares
    keys = {root_key_id}
    while True:
        signers = {key for (key,) in conn.execute(
            f"SELECT key_id FROM ledger_commits WHERE seq IN ({','.join('?' * len(seqs))})",
            sorted(seqs)).fetchall()}
        if signers <= keys:
            break
        keys |= signers
        more = [row for row in rows if key_of[row[0]] in keys and row[0] not in wanted]
        wanted |= {row[0] for row in more}
        seqs = seqs | {row[1] for row in more}
    return [row for row in rows if row[0] in wanted]


def _commit(conn: Any, seq: int) -> BundleCommit:
    first, committed_at, key_id, signature = conn.execute(
        "SELECT first_position, committed_at, key_id, signature FROM ledger_commits WHERE seq=?",
        (seq,)).fetchone()
    hashes = [bytes(h) for (h,) in conn.execute(
        "SELECT hash FROM stored_events WHERE commit_seq=? ORDER BY position", (seq,))]
    return BundleCommit(seq=seq, first_position=first, committed_at=committed_at, key_id=key_id,
                        event_hashes=hashes, signature=bytes(signature))
