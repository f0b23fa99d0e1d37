"""Checking a transcript bundle offline (:func:`verify_bundle`): no database, the root key only.

Every event's hash and its inclusion proof against the checkpoint's root, the checkpoint's
signature by the root key, every commit's statement and signature, the key registry as of each
commit (rebuilt from the bundle's registry events), each aggregate's chain of versions, and that
the transcript it shows follows from the events. ``docs/verify_bundle_standalone.py`` is an
independent implementation of the same checks that needs only ``cryptography``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from creditledger.audit.bundle import (
    CREDITED,
    RECOGNISED,
    REVERSED,
    REVOKED,
    ROLES,
    Bundle,
    BundleAggregate,
    BundleCommit,
    BundleEvent,
)
from creditledger.audit.bundle_complete import check_completeness, check_fresh
from creditledger.audit.bundle_faults import BundleFault as BundleFault
from creditledger.audit.bundle_faults import BundleFaultKind
from creditledger.audit.bundle_faults import fault_error as _fail
from creditledger.audit.cosigning import count_cosignatures
from creditledger.crypto.cosignature import WitnessKey
from creditledger.crypto.keys import InvalidSignature, PublicKey
from creditledger.crypto.merkle import InvalidProof, verify_inclusion
from creditledger.crypto.note import open_checkpoint, origin_for
from creditledger.domain.ids import achievement_id, learner_account_id, natural_key_id
from creditledger.domain.policy import Owners, Role, Signer, check_commit
from creditledger.domain.values import is_sealed
from creditledger.errors import CheckpointError, UnusableLedgerError
from creditledger.store.format import ZERO_HASH, link_hash
from creditledger.store.mapper import decode_state
from creditledger.store.permissions import commit_events
from creditledger.store.registry import (
    GENESIS_TOPIC,
    REGISTRY_TOPICS,
    KeyBook,
    KeyProblem,
    registry_id,
)


@dataclass(frozen=True)
class BundleReport:
    """What a verified bundle proves."""

    ledger_id: str
    learner_id: str
    root_key_id: str
    root_key_pinned: bool
    checkpoint_size: int
    events: int
    lines: list[str] = field(default_factory=list)
    cosigned_by: dict[str, int] = field(default_factory=dict)  # witness name -> timestamp
    complete: bool = False
    """Proven complete: every aggregate the account names is held up to its head in the
    checkpoint's index of heads. False: not proven (format /1, or a checkpoint that predates
    the index); the CLI then exits 3."""
    completeness: str = ""


_KEY_FAULTS = {
    KeyProblem.UNKNOWN: BundleFaultKind.UNKNOWN_KEY,
    KeyProblem.NOT_YET_VALID: BundleFaultKind.KEY_NOT_YET_VALID,
    KeyProblem.REVOKED: BundleFaultKind.KEY_REVOKED,
}


@dataclass(frozen=True)
class WitnessPolicy:
    """Demand ``quorum`` cosignatures of ``witnesses`` on the bundle's checkpoint, each no
    older than ``max_age`` seconds (None: any age) at ``now`` (None: the clock)."""

    witnesses: tuple[WitnessKey, ...]
    quorum: int
    max_age: int | None = None
    now: int | None = None


def verify_bundle(bundle: Bundle, root_key: PublicKey | None = None,
                  witnesses: WitnessPolicy | None = None,
                  held_checkpoint: str | None = None) -> BundleReport:
    """Check every part of ``bundle``; return what it proves or raise the first fault.

    Without ``root_key`` the root key the bundle names is trusted (``root_key_pinned`` is then
    False). With ``witnesses``, the checkpoint must carry a quorum of their cosignatures. With
    ``held_checkpoint`` (a newer checkpoint the receiver holds, signed by the same root key),
    a bundle proven against a smaller size is stale (``stale-checkpoint``). Raises
    :class:`BundleVerificationError`.
    """
    try:
        return _verify(bundle, root_key, witnesses, held_checkpoint)
    except OverflowError as e:  # a field beyond 64 bits cannot be a ledger's: unusable input,
        # as the standalone verifier says (msgpack refuses to encode it for the link hash)
        raise UnusableLedgerError(f"bundle: integer out of range ({e})") from e


def _verify(bundle: Bundle, root_key: PublicKey | None, witnesses: WitnessPolicy | None,
            held_checkpoint: str | None) -> BundleReport:
    try:
        named = PublicKey(bundle.root_key)
    except ValueError as e:
        raise UnusableLedgerError(f"bundle: bad root key ({e})") from e
    if root_key is not None and root_key != named:
        raise _fail(BundleFaultKind.ROOT_KEY_MISMATCH,
                    f"the bundle names root key {named.key_id}, not the pinned {root_key.key_id}")
    try:
        cp = open_checkpoint(bundle.checkpoint, origin_for(bundle.ledger_id), [named])
    except CheckpointError as e:
        raise _fail(BundleFaultKind.BAD_CHECKPOINT, str(e)) from e
    if held_checkpoint is not None:
        check_fresh(cp, held_checkpoint, bundle.ledger_id, named)
    commits = {c.seq: c for c in bundle.commits}
    if len(commits) != len(bundle.commits):
        raise UnusableLedgerError("bundle: a commit is listed twice")
    held = [*bundle.registry, *(e for a in bundle.aggregates for e in a.events)]
    if len({e.position for e in held}) != len(held):  # a copy of a genuine event: refused
        raise UnusableLedgerError("bundle: an event is listed twice")
    for event in held:
        _check_event(event, cp.size, cp.root, commits)
    _check_commits(bundle, named, commits)
    for aggregate in bundle.aggregates:
        _check_links(aggregate)
    completeness = check_completeness(bundle, cp)
    lines = _check_transcript(bundle)
    signers = _check_writers(bundle, named, commits)
    cosigned = {} if witnesses is None else _check_quorum(bundle.checkpoint, witnesses)
    return BundleReport(
        ledger_id=bundle.ledger_id, learner_id=bundle.learner_id, root_key_id=named.key_id,
        root_key_pinned=root_key is not None, checkpoint_size=cp.size,
        events=sum(len(a.events) for a in bundle.aggregates),
        lines=[line.render(signers) for line in lines], cosigned_by=cosigned,
        complete=completeness is not None,
        completeness=completeness or "completeness: NOT proven (a bundle of format /1, or a "
        "checkpoint that predates the index of heads): ask for a bundle against a newer "
        "checkpoint")


def _check_quorum(note: str, policy: WitnessPolicy) -> dict[str, int]:
    now = int(time.time()) if policy.now is None else policy.now
    try:
        found = count_cosignatures(note, policy.witnesses, policy.max_age, now)
    except CheckpointError as e:
        raise _fail(BundleFaultKind.NO_QUORUM, str(e)) from e
    if not found.met(policy.quorum):
        why = [f"no cosignature from {', '.join(found.missing)}"] if found.missing else []
        if found.stale:
            why.append(f"cosignatures older than {policy.max_age} s from "
                       f"{', '.join(found.stale)}")
        raise _fail(BundleFaultKind.NO_QUORUM, f"{len(found.cosigned)} of the {policy.quorum} "
                    f"witness cosignatures demanded: {'; '.join(why)}")
    return found.cosigned


def _check_event(e: BundleEvent, size: int, root: bytes, commits: dict[int, BundleCommit]) -> None:
    link = (e.position, e.commit_seq, e.originator_id, e.originator_version, e.topic, e.state,
            e.prev_hash, e.prev_aggregate_hash)
    if link_hash(link) != e.hash:
        raise _fail(BundleFaultKind.HASH_MISMATCH, "the event's fields do not hash to its hash",
                    e.position, e.originator_id)
    if not 1 <= e.position <= size:
        raise _fail(BundleFaultKind.NOT_COVERED, f"the checkpoint covers events 1..{size}",
                    e.position, e.originator_id)
    try:
        verify_inclusion(e.hash, e.position - 1, size, e.proof, root)
    except InvalidProof as err:
        raise _fail(BundleFaultKind.BAD_INCLUSION, str(err), e.position, e.originator_id) from err
    commit = commits.get(e.commit_seq)
    if commit is None:
        raise _fail(BundleFaultKind.MISSING_COMMIT, f"commit {e.commit_seq} is not in the bundle",
                    e.position, e.originator_id)
    index = e.position - commit.first_position
    if not 0 <= index < len(commit.event_hashes) or commit.event_hashes[index] != e.hash:
        raise _fail(BundleFaultKind.NOT_IN_COMMIT, f"commit {commit.seq} does not list its hash",
                    e.position, e.originator_id)


def _replay(bundle: Bundle, root: PublicKey, commits: dict[int, BundleCommit]
            ) -> Iterator[tuple[BundleCommit, KeyBook]]:
    """The bundle's commits in order, each with the key registry as of it (rebuilt from the
    bundled registry events)."""
    registry = sorted(bundle.registry, key=lambda e: e.position)
    rid = registry_id(bundle.ledger_id).hex
    _check_genesis(registry, bundle.ledger_id, rid, root)
    book, applied = KeyBook(), 0
    for commit in sorted(commits.values(), key=lambda c: c.seq):
        end = commit.first_position + len(commit.event_hashes)
        upto = end if commit.seq == 1 else commit.first_position
        while applied < len(registry) and registry[applied].position < upto:
            _apply(book, registry[applied], rid, commits)
            applied += 1
        yield commit, book


def _check_commits(bundle: Bundle, root: PublicKey, commits: dict[int, BundleCommit]) -> None:
    """Each commit's key could sign then, and its signature verifies."""
    for commit, book in _replay(bundle, root, commits):
        problem = book.problem(commit.key_id, commit.committed_at)
        if problem is not None:
            raise _fail(_KEY_FAULTS.get(problem, BundleFaultKind.REGISTRY), f"commit {commit.seq} "
                        f"is signed by {commit.key_id}: {problem.value}", commit.first_position)
        statement = book.statement(commit.seq, commit.first_position, commit.committed_at,
                                   commit.key_id, commit.event_hashes)
        try:
            book.public_key(commit.key_id).verify(commit.signature, statement.message())
        except InvalidSignature as err:
            raise _fail(BundleFaultKind.BAD_SIGNATURE, f"the signature of commit {commit.seq} "
                        "does not verify", commit.first_position) from err


def _check_writers(bundle: Bundle, root: PublicKey, commits: dict[int, BundleCommit]
                   ) -> dict[int, Signer]:
    """The write policy the ledger declares, replayed for every commit's events the bundle
    holds; return each commit's signer."""
    held = _events_by_commit(bundle)
    owners: dict[str, Owners | None] = {}
    return {commit.seq: _check_policy(book, commit, held.get(commit.seq, []), owners)
            for commit, book in _replay(bundle, root, commits)}


def _events_by_commit(bundle: Bundle) -> dict[int, list[BundleEvent]]:
    held: dict[int, dict[int, BundleEvent]] = {}
    for e in [*bundle.registry, *(e for a in bundle.aggregates for e in a.events)]:
        held.setdefault(e.commit_seq, {})[e.position] = e
    return {seq: [events[p] for p in sorted(events)] for seq, events in held.items()}


def _check_policy(book: KeyBook, commit: BundleCommit, events: list[BundleEvent],
                  owners: dict[str, Owners | None]) -> Signer:
    """The write policy the ledger declares, for the commit's events the bundle holds: the
    bundle holds every event the rules for those need (whole aggregates, and evidence)."""
    signer = book.signer(commit.key_id)
    if signer is None:
        raise _fail(BundleFaultKind.UNAUTHORISED, f"commit {commit.seq} is signed by key "
                    f"{commit.key_id}, registered with no known role", commit.first_position)
    rows = [(e.position, e.originator_id, e.originator_version, e.topic, e.state)
            for e in events]
    policy_events = commit_events(rows, book.policy) if rows else None
    if policy_events is None:
        return signer
    after: dict[str, Owners | None] = {}
    violation = check_commit(book.policy, signer, policy_events, _HeldOwners(owners, book),
                             after)
    if violation is not None:
        raise _fail(BundleFaultKind.UNAUTHORISED, f"commit {commit.seq}: {violation}",
                    violation.event.position, violation.event.aggregate)
    owners.update(after)
    return signer


class _HeldOwners:
    """The policy's lookup in a bundle: owners as the bundle's earlier commits left them."""

    def __init__(self, owners: dict[str, Owners | None], book: KeyBook) -> None:
        self._owners, self._book = owners, book

    def owners(self, aggregate: str) -> Owners | None:
        return self._owners.get(aggregate)

    def key(self, key_id: str) -> tuple[str, Role] | None:
        return self._book.key(key_id)


def _check_genesis(registry: list[BundleEvent], ledger_id: str, rid: str, root: PublicKey) -> None:
    first = registry[0] if registry else None
    if first is None or first.position != 1 or first.topic != GENESIS_TOPIC \
            or first.originator_id != rid:
        raise _fail(BundleFaultKind.BAD_GENESIS, "the bundle lacks the ledger's genesis event")
    try:
        state = decode_state(GENESIS_TOPIC, first.state)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise _fail(BundleFaultKind.BAD_GENESIS, f"undecodable genesis: {e}", 1) from e
    if state["ledger_id"] != ledger_id:
        raise _fail(BundleFaultKind.BAD_GENESIS, "the genesis names another ledger", 1)
    if state["root"].public_key != root.raw:
        raise _fail(BundleFaultKind.ROOT_KEY_MISMATCH,
                    f"the genesis names another root key than {root.key_id}", 1)


def _apply(book: KeyBook, e: BundleEvent, rid: str, commits: dict[int, BundleCommit]) -> None:
    if e.originator_id != rid or e.topic not in REGISTRY_TOPICS:
        raise _fail(BundleFaultKind.REGISTRY, "not an event of this ledger's key registry",
                    e.position, e.originator_id)
    try:
        book.apply(e.topic, decode_state(e.topic, e.state), commits[e.commit_seq].committed_at)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError) as err:
        raise _fail(BundleFaultKind.REGISTRY, f"malformed registry event: {err}",
                    e.position, e.originator_id) from err


def _check_links(aggregate: BundleAggregate) -> None:
    previous = ZERO_HASH
    oid = aggregate.originator_id
    if not aggregate.events:
        raise _fail(BundleFaultKind.VERSION_GAP, "the aggregate has no events", None, oid)
    for number, e in enumerate(aggregate.events, 1):
        if e.originator_id != oid or e.originator_version != number:
            raise _fail(BundleFaultKind.VERSION_GAP, f"expected version {number} of {oid}, "
                        f"found version {e.originator_version} of {e.originator_id}",
                        e.position, oid)
        if e.prev_aggregate_hash != previous:
            raise _fail(BundleFaultKind.AGGREGATE_LINK, f"version {number} does not link to "
                        f"version {number - 1}", e.position, oid)
        previous = e.hash


@dataclass(frozen=True)
class _Line:
    """A line of the transcript; one about a record names who signed it (its commit's signer,
    known once the policy has been replayed)."""

    text: str
    commit: int = 0
    suffix: str = ""

    def render(self, signers: dict[int, Signer]) -> str:
        signed = f", signed by {signers[self.commit]}" if self.commit else ""
        return f"{self.text}{signed}{self.suffix}"


def _check_transcript(bundle: Bundle) -> list[_Line]:
    """The aggregates are the learner's, and every credited achievement is there."""
    learner = bundle.learner_id
    by_role: dict[str, list[BundleAggregate]] = {role: [] for role in ROLES}
    for a in bundle.aggregates:
        by_role[a.role].append(a)
    accounts = by_role["account"]
    if len(accounts) != 1 or accounts[0].originator_id != learner_account_id(learner).hex:
        raise _fail(BundleFaultKind.WRONG_LEARNER, f"the bundle needs the one account of {learner}")
    transfers = by_role["transfers"]
    if len(transfers) > 1 or any(
            t.originator_id != natural_key_id("credit-transfers", learner).hex for t in transfers):
        raise _fail(BundleFaultKind.WRONG_LEARNER, f"a transfer ledger is not {learner}'s")
    account = _states(accounts[0])
    opened = account[0][1]
    if not accounts[0].events[0].topic.endswith(".Opened") or opened.get("learner_id") != learner:
        raise _fail(BundleFaultKind.WRONG_LEARNER, f"the account is not opened for {learner}",
                    accounts[0].events[0].position)
    credited = {_uuid_hex(s, accounts[0]) for t, s in account if t == CREDITED}
    reversed_ = {_uuid_hex(s, accounts[0]) for t, s in account if t == REVERSED}
    erased = any(t.endswith(".PersonalDataErased") for t, _ in account)
    lines = [_Line(f"account of {learner} ({_name(opened, erased)}): {len(account)} events, "
                   f"{len(credited)} achievements credited, {len(reversed_)} reversed")]
    seen: set[str] = set()
    for a in by_role["achievement"]:
        states = _states(a)
        record = states[0][1].get("record") or {}
        key = record.get("natural_key") or []
        if states[0][0] != RECOGNISED or record.get("learner_id") != learner or \
                achievement_id(tuple(key)).hex != a.originator_id:
            raise _fail(BundleFaultKind.WRONG_LEARNER, f"achievement {a.originator_id} is not "
                        f"a recognised achievement of {learner}", a.events[0].position)
        revoked = any(t == REVOKED for t, _ in states)
        if a.originator_id not in credited or a.originator_id in seen or \
                revoked != (a.originator_id in reversed_):
            raise _fail(BundleFaultKind.INCOMPLETE, f"achievement {a.originator_id} does not "
                        "match the account's credit entries", a.events[-1].position)
        seen.add(a.originator_id)
        lines.append(_Line(f"  {record.get('title')}: {record.get('credits')} credits "
                           f"({record.get('category')}), {record.get('kind')} certified by "
                           f"{record.get('certified_by')} on {record.get('recognised_on')}",
                           a.events[0].commit_seq, " — REVOKED" if revoked else ""))
    missing = credited - seen
    if missing:
        raise _fail(BundleFaultKind.INCOMPLETE,
                    f"credited achievement {sorted(missing)[0]} is not in the bundle")
    return lines


def _states(aggregate: BundleAggregate) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for e in aggregate.events:
        try:
            state = msgspec.json.decode(e.state)
        except msgspec.DecodeError as err:
            raise _fail(BundleFaultKind.UNREADABLE, "the event's content is not plain JSON "
                        "(compressed or encrypted?)", e.position, e.originator_id) from err
        if not isinstance(state, dict):
            raise _fail(BundleFaultKind.UNREADABLE, "the event's content is not a JSON object",
                        e.position, e.originator_id)
        found.append((e.topic, state))
    return found


def _uuid_hex(state: dict[str, Any], aggregate: BundleAggregate) -> str:
    try:
        return UUID(str(state["achievement_id"])).hex
    except (KeyError, ValueError) as e:
        raise _fail(BundleFaultKind.UNREADABLE, "a credit entry names no achievement", None,
                    aggregate.originator_id) from e


def _name(opened: dict[str, Any], erased: bool) -> str:
    """How the report names the learner: a plaintext name (a ledger of policy 1), or only
    that their personal data is sealed (no key opens it here) or erased."""
    person = opened.get("personal_data")
    if erased:
        return "personal data erased"
    if is_sealed(person):
        return "personal data sealed"
    return str(person.get("name")) if isinstance(person, dict) else "?"
