"""One verification run over a ledger: the walk behind :func:`~.verify.verify_ledger`.

Pass 1 streams the events in global order: it recomputes each event's hash, checks the global
link, positions without gaps, the commit rows, each commit's signer against the key registry as
of that commit, and (off the walking thread, in batches) each signature, while it also follows
each aggregate's versions and links. Pass 2, in aggregate order, runs only when pass 1 could not
keep every aggregate's tip in memory. Then the stored Merkle tree is checked against the root of
the events' hashes.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from creditledger.audit.head import SignedHead
from creditledger.audit.nodes import CheckedNodes, NodeFault
from creditledger.audit.report import KEY_FAULTS, Fault, FaultKind, VerifyReport
from creditledger.crypto.keys import PublicKey
from creditledger.crypto.merkle_tree import MerkleTree
from creditledger.store.format import FORMATS, ZERO_HASH, link_hash
from creditledger.store.mapper import decode_state
from creditledger.store.permissions import EventRow, StoredOwners
from creditledger.store.readers import LedgerReader
from creditledger.store.registry import (
    GENESIS_TOPIC,
    REGISTRY_TOPICS,
    KeyBook,
    registry_id,
)
from creditledger.store.topics import TopicKind, classify

Progress = Callable[[int, int], None]

SIGNATURE_CHUNK = 128
PROGRESS_EVERY = 4096
AGGREGATE_TIPS_MAX = 65_536
"""Up to this many aggregates, pass 1 also follows each aggregate's versions and links (a few MB),
so that pass 2 is needed only if it saw something amiss; beyond it, pass 2 always runs."""
PROCESS_MIN_COMMITS = 512
"""Below this many commits, signatures are checked on threads: starting worker processes costs
more (tens of milliseconds) than a second core would save."""
SIGNATURE_COST_IN_EVENTS = 40
"""One Ed25519 verify costs about as much as walking this many events (read, hash, check)."""


class _Found(Exception):
    def __init__(self, fault: Fault) -> None:
        self.fault = fault


@dataclass
class _Commit:
    seq: int
    first_position: int
    event_count: int
    committed_at: int
    key_id: str
    signature: bytes
    hashes: list[bytes] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)  # what the write policy reads
    registry: list[tuple[int, str, str, bytes]] = field(default_factory=list)
    closed: bool = False

    def well_formed(self) -> bool:
        """Whether every column read from the file has its type (a file can hold anything)."""
        return (type(self.seq) is int and type(self.first_position) is int
                and type(self.event_count) is int and type(self.committed_at) is int
                and type(self.key_id) is str and type(self.signature) is bytes)

    def types(self) -> str:
        return ", ".join(f"{name} {type(getattr(self, name)).__name__}" for name in
                         ("seq", "first_position", "event_count", "committed_at", "key_id",
                          "signature"))


class Walker:
    """One verification run: pass 1 in global order, pass 2 in aggregate order."""

    def __init__(
        self, conn: LedgerReader, pinned: PublicKey | None, workers: int,
        progress: Progress | None,
    ) -> None:
        self.conn = conn
        self.pinned = pinned
        self.progress = progress
        self.workers = max(1, workers)
        self.pool: Executor | None = None
        self.max_pending = 4 * self.workers
        self.pending: deque[Future[Fault | None]] = deque()
        self.batch: list[_SignatureCheck] = []
        self.book = KeyBook()
        self.ledger_id = ""
        self.events = 0
        self.commits = 0
        self.aggregates = 0
        self.last_hash = ZERO_HASH
        self.last_time = 0
        self.fault: Fault | None = None
        self.open_commit: _Commit | None = None
        self.aggregate_tips: dict[str, tuple[int, bytes]] | None = None
        self.nodes: CheckedNodes | None = None  # set in run(), if the ledger stores a tree
        self.tree = MerkleTree(_PeaksOnly())  # the RFC 9162 tree of the events, as they stream
        self.merkle_root: bytes | None = None
        self.topics: dict[str, TopicKind] = {}  # what each topic seen names (store.topics)
        self.owners = StoredOwners()  # the write policy's view of the aggregates' owners

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _start_pool(self, events: int) -> None:
        """Worker processes if there are enough commits and forking is safe here, else threads.

        Forking is used only from a single-threaded process (no other thread can hold a lock
        the child would inherit); the workers never touch the database, only signatures. When the
        walk is the larger part of the work, one core is left to it.
        """
        commits = self.conn.execute("SELECT MAX(seq) FROM ledger_commits").fetchone()[0]
        many = isinstance(commits, int) and commits >= PROCESS_MIN_COMMITS
        if (
            many
            and self.workers > 1
            and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1
        ):
            signatures_dominate = commits * SIGNATURE_COST_IN_EVENTS >= events
            processes = self.workers if signatures_dominate else self.workers - 1
            context = multiprocessing.get_context("fork")
            self.pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
        else:
            self.pool = ThreadPoolExecutor(max_workers=self.workers)

    # -- pass 1: global order --------------------------------------------------------------

    def run(self, ledger_id_info: str) -> None:
        total = self.conn.execute("SELECT MAX(position) FROM stored_events").fetchone()[0] or 0
        total = total if type(total) is int else 0
        self._start_pool(total)
        try:
            if self.conn.has_table("merkle_nodes"):
                self.nodes = CheckedNodes(self.conn)
                self.tree = MerkleTree(self.nodes)
            self._global_pass(total)
            if self.events == 0:
                raise _Found(Fault(FaultKind.GENESIS, 1, "the ledger has no events"))
            self._check_ledger_info(ledger_id_info)
            if self.nodes is not None:
                self.nodes.finish(self.events)
                self.merkle_root = self.tree.root()
        except NodeFault as node_fault:
            self.fault = node_fault.fault
        except _Found as found:
            self.fault = self._blame_open_commit(found.fault)
        self._drain_signatures()
        limit = self.fault.position if self.fault else None
        if self.aggregate_tips is not None:
            # Pass 1 saw every event and every aggregate as versions 1, 2, ... each linked to
            # the one before: pass 2 would walk the same sequences and find nothing.
            self.aggregates = len(self.aggregate_tips)
            self.aggregate_tips = None
        else:
            aggregate_fault = self._aggregate_pass(limit)
            if aggregate_fault is not None:
                self.fault = aggregate_fault
        if self.progress:
            self.progress(total, total)

    def _check_ledger_info(self, ledger_id_info: str) -> None:
        """``ledger_info`` (not signed: it lets a reader find the ledger) must say exactly what
        the genesis says: this ledger's id and format."""
        info = self.conn.execute("SELECT name, value FROM ledger_info").fetchall()
        expected = {("format", self.book.format), ("ledger_id", self.ledger_id)}
        if self.ledger_id != ledger_id_info or set(info) != expected or len(info) != 2:
            raise _Found(Fault(FaultKind.GENESIS, 1,
                               f"ledger_info {sorted(info, key=repr)!r} does not say what the "
                               f"genesis says ({sorted(expected)!r})"))

    def _global_pass(self, total: int) -> None:
        commits = self._commits()
        commit: _Commit | None = None
        expected = 1
        last_hash = self.last_hash
        progress = self.progress
        registry_topics = REGISTRY_TOPICS
        topics = self.topics
        registry = ""  # the registry aggregate's id, once the genesis has named the ledger
        hash_link = link_hash
        # Each aggregate's last (version, hash) so far, while every event seen continues its
        # aggregate (version 1, or the next version linked to the last): then pass 2 has
        # nothing to find. ``None`` once anything else is seen or there are too many aggregates:
        # then pass 2 walks the aggregates (in constant memory) and reports what it finds.
        tips: dict[str, tuple[int, bytes]] | None = {}
        self.aggregate_tips = None
        try:
            # Columns in EventLink's field order, then the stored hash: row[:8] is the link.
            for row in self.conn.scan(
                "SELECT position, commit_seq, originator_id, originator_version, topic, state,"
                " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position"
            ):
                position, seq, oid, version, topic, state, prev, prev_agg, stored = row
                if (type(position) is not int or type(seq) is not int or type(oid) is not str
                        or type(version) is not int or type(topic) is not str
                        or type(state) is not bytes or type(prev) is not bytes
                        or type(prev_agg) is not bytes or type(stored) is not bytes):
                    raise _Found(_malformed(row, expected))
                if position != expected:
                    raise _Found(Fault(FaultKind.MISSING_EVENT, expected,
                                       f"no event at position {expected}; next is {position}"))
                if hash_link(row[:8]) != stored:
                    raise _Found(Fault(FaultKind.HASH_MISMATCH, position,
                                       "stored bytes do not match the stored hash", oid, seq))
                if prev != last_hash:
                    raise _Found(Fault(FaultKind.GLOBAL_LINK, position,
                                       "does not link to the previous event's hash", oid, seq))
                if version == 1 and prev_agg != ZERO_HASH:
                    raise _Found(Fault(FaultKind.AGGREGATE_LINK, position,
                                       "first event of an aggregate links to a predecessor",
                                       oid, seq))
                if commit is None or seq != commit.seq:
                    if commit is not None:
                        self._close_commit(commit)
                        registry = registry_id(self.ledger_id).hex
                    commit = self._open_commit(commits, seq, position, oid)
                    self.open_commit = commit
                commit.hashes.append(stored)
                commit.events.append((position, oid, version, topic, state))
                kind = topics.get(topic)
                if kind is None:
                    kind = topics[topic] = classify(topic)
                if kind is TopicKind.ALIAS:
                    raise _Found(Fault(FaultKind.NON_CANONICAL_TOPIC, position,
                                       f"topic {topic!r} is another name of a stored event "
                                       "type, never written by the library", oid, seq))
                if topic in registry_topics or oid == registry or seq == 1:
                    commit.registry.append((position, oid, topic, state))
                if tips is not None:
                    tip = tips.get(oid)
                    if (
                        (version == 1 and tip is None)
                        or (tip is not None and tip[0] == version - 1 and tip[1] == prev_agg)
                    ) and (tip is not None or len(tips) < AGGREGATE_TIPS_MAX):
                        tips[oid] = (version, stored)
                    else:
                        tips = None
                last_hash = stored
                expected += 1
                if progress and position % PROGRESS_EVERY == 0:
                    progress(position, total)
            self.aggregate_tips = tips
        finally:
            self.last_hash = last_hash
            self.events = expected - 1
        if commit is not None:
            self._close_commit(commit)
        extra = next(commits, None)
        if extra is not None:
            raise _Found(Fault(FaultKind.COMMIT_MISMATCH, expected,
                               f"commit {extra.seq} has no events (events removed?)",
                               commit=extra.seq))

    def _commits(self) -> Iterator[_Commit]:
        for row in self.conn.scan(
            "SELECT seq, first_position, event_count, committed_at, key_id, signature"
            " FROM ledger_commits ORDER BY seq"
        ):
            yield _Commit(*row)

    def _open_commit(
        self, commits: Iterator[_Commit], seq: int, position: int, oid: str
    ) -> _Commit:
        commit = next(commits, None)
        expected_seq = self.commits + 1
        if commit is not None and not commit.well_formed():
            raise _Found(Fault(FaultKind.MALFORMED_ROW, position,
                               f"the row of commit {commit.seq!r} is malformed "
                               f"({commit.types()})", oid, seq))
        if commit is None or commit.seq != seq or seq != expected_seq:
            raise _Found(Fault(FaultKind.COMMIT_MISMATCH, position,
                               f"event claims commit {seq}, expected commit {expected_seq}",
                               oid, seq))
        if commit.first_position != position:
            raise _Found(Fault(FaultKind.COMMIT_MISMATCH, position,
                               f"commit {seq} starts at {commit.first_position}", oid, seq))
        return commit

    def _close_commit(self, commit: _Commit) -> None:
        at = commit.first_position
        if len(commit.hashes) != commit.event_count:
            raise _Found(Fault(FaultKind.COMMIT_MISMATCH,
                               at + min(len(commit.hashes), commit.event_count),
                               f"commit {commit.seq} has {len(commit.hashes)} of its "
                               f"{commit.event_count} events", commit=commit.seq))
        if commit.committed_at < self.last_time:
            raise _Found(Fault(FaultKind.TIME_REGRESSION, at,
                               "commit time is before the previous commit's", commit=commit.seq))
        self.last_time = commit.committed_at
        commit.closed = True
        if commit.seq == 1:
            self._genesis(commit)
        self._check_signer(commit)
        self._check_policy(commit)
        for position, oid, topic, state in commit.registry:
            try:
                self.book.apply(topic, decode_state(topic, state), commit.committed_at)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError) as e:
                raise _Found(Fault(FaultKind.REGISTRY, position,
                                   f"undecodable registry event: {e}", oid, commit.seq)) from e
        self.commits = commit.seq
        statement = self.book.statement(commit.seq, commit.first_position,
                                        commit.committed_at, commit.key_id, commit.hashes)
        commit.events = []
        raw_key = self.book.public_key(commit.key_id).raw  # validated here, as before
        self._queue_signature(raw_key, commit, statement.message())
        try:
            self.tree.extend_hashes(commit.hashes)
        except NodeFault as e:  # a stored node the commit's events complete is not theirs
            raise _Found(e.fault) from e

    def _genesis(self, commit: _Commit) -> None:
        first = commit.registry[0] if commit.registry else None
        if first is None or first[0] != 1 or first[2] != GENESIS_TOPIC:
            raise _Found(Fault(FaultKind.GENESIS, 1, "the first event is not the genesis"))
        _position, oid, topic, state = commit.registry.pop(0)
        try:
            decoded = decode_state(topic, state)
            genesis = KeyBook()
            genesis.apply(topic, decoded, commit.committed_at)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError) as e:
            raise _Found(Fault(FaultKind.GENESIS, 1, f"undecodable genesis: {e}", oid, 1)) from e
        if registry_id(genesis.ledger_id).hex != oid:
            raise _Found(Fault(FaultKind.GENESIS, 1, "genesis id does not match its ledger", oid))
        if genesis.format not in FORMATS:
            raise _Found(Fault(FaultKind.GENESIS, 1, f"the genesis names format "
                               f"{genesis.format!r}, not one of {sorted(FORMATS)}", oid, 1))
        if self.pinned is not None and self.pinned.key_id != genesis.root_key_id:
            raise _Found(Fault(FaultKind.ROOT_KEY_MISMATCH, 1,
                               f"genesis root key {genesis.root_key_id} is not the pinned "
                               f"{self.pinned.key_id}", oid, 1))
        self.book = genesis
        self.ledger_id = genesis.ledger_id

    def _check_signer(self, commit: _Commit) -> None:
        problem = self.book.problem(commit.key_id, commit.committed_at)
        if problem is not None:
            raise _Found(Fault(KEY_FAULTS[problem], commit.first_position,
                               f"commit {commit.seq} signed by {commit.key_id}: {problem.value}",
                               commit=commit.seq))
        if not commit.registry:
            return
        registry = registry_id(self.ledger_id).hex
        for position, oid, topic, _state in commit.registry:
            if oid != registry or topic == GENESIS_TOPIC or topic not in REGISTRY_TOPICS:
                raise _Found(Fault(FaultKind.REGISTRY, position,
                                   "every event of the key registry, and only those, must be "
                                   f"a registry event of this ledger's registry ({topic!r} of "
                                   f"{oid})", oid))

    def _check_policy(self, commit: _Commit) -> None:
        """Replay the write policy the ledger declares: every event of the commit must be one
        its signer (principal, role) may write (:mod:`creditledger.domain.policy`)."""
        signer = self.book.signer(commit.key_id)
        violation = None
        if signer is not None:
            conn = self.conn
            violation = self.owners.check(lambda sql, p: conn.execute(sql, p).fetchall(),
                                          self.book, signer, commit.events)
        if signer is None or violation is not None:
            where = violation.event if violation is not None else None
            raise _Found(Fault(
                FaultKind.UNAUTHORISED, where.position if where else commit.first_position,
                f"commit {commit.seq}: {violation}" if violation else
                f"commit {commit.seq} is signed by key {commit.key_id}, registered with no "
                "known role", where.aggregate if where else None, commit.seq))

    def _blame_open_commit(self, fault: Fault) -> Fault:
        """A fault inside a commit may come from an earlier, forged event of the same commit.

        The commit's signature covers all its stored hashes: if it does not verify, the first
        bad position is the commit's start, not where the chain visibly broke.
        """
        commit = self.open_commit
        if commit is None or commit.closed or commit.first_position >= fault.position:
            return fault
        if self.book.problem(commit.key_id, commit.committed_at) is not None:
            return fault
        hashes = [h for (h,) in self.conn.execute(
            "SELECT hash FROM stored_events WHERE commit_seq=? ORDER BY position", (commit.seq,)
        )]
        if not all(type(h) is bytes for h in hashes):
            return fault  # a malformed hash: the fault found is the one to report
        statement = self.book.statement(commit.seq, commit.first_position,
                                        commit.committed_at, commit.key_id, hashes)
        key = self.book.public_key(commit.key_id)
        return _check_signatures([(key, commit.signature, statement.message(), commit)]) or fault

    # -- signatures, on worker processes or threads ----------------------------------------

    def _queue_signature(self, raw_key: bytes, commit: _Commit, message: bytes) -> None:
        self.batch.append(
            (raw_key, commit.signature, message, commit.first_position, commit.seq, commit.key_id)
        )
        if len(self.batch) >= SIGNATURE_CHUNK:
            self._submit()

    def _submit(self) -> None:
        if self.batch:
            assert self.pool is not None
            self.pending.append(self.pool.submit(_verify_signatures, self.batch))
            self.batch = []
        while len(self.pending) > self.max_pending:
            self._collect(self.pending.popleft())

    def _drain_signatures(self) -> None:
        self._submit()
        while self.pending:
            self._collect(self.pending.popleft())

    def _collect(self, future: Future[Fault | None]) -> None:
        fault = future.result()
        if fault is not None and (self.fault is None or fault.position < self.fault.position):
            self.fault = fault

    # -- pass 2: aggregate order -----------------------------------------------------------

    def _aggregate_pass(self, limit: int | None) -> Fault | None:
        """Check each aggregate's versions are 1..n and each links to its predecessor."""
        last_oid, last_version, last_hash = None, 0, ZERO_HASH
        found: Fault | None = None
        for oid, version, position, prev_agg, stored in self.conn.scan(
            "SELECT originator_id, originator_version, position, prev_aggregate_hash, hash"
            " FROM stored_events ORDER BY originator_id, originator_version"
        ):
            if type(version) is not int or type(position) is not int:
                continue  # pass 1 reports a malformed row
            if oid != last_oid:
                self.aggregates += 1
                last_oid, last_version, last_hash = oid, 0, ZERO_HASH
            fault = None
            if version != last_version + 1:
                fault = Fault(FaultKind.VERSION_GAP, position,
                              f"version {version} follows version {last_version}", oid)
            elif prev_agg != last_hash:
                fault = Fault(FaultKind.AGGREGATE_LINK, position,
                              f"version {version} does not link to version {last_version}", oid)
            relevant = fault is not None and (limit is None or position < limit)
            if relevant and (found is None or position < found.position):
                found = fault
            last_version, last_hash = version, stored
        return found

    # -- against a signed head -------------------------------------------------------------

    def head_fault(self, head: SignedHead) -> Fault | None:
        root = self.book.public_key(self.book.root_key_id) if self.book.root_key_id else None
        if root is None:
            return None
        # The head is what the auditor kept: a ledger it does not fit was replaced.
        if head.ledger_id != self.ledger_id:
            return Fault(FaultKind.REPLACED, 1, f"the signed head is of ledger {head.ledger_id}; "
                         f"this file holds ledger {self.ledger_id}")
        try:
            head.verify(root)
        except InvalidSignature as e:
            return Fault(FaultKind.REPLACED, 1, "the signed head does not verify with this "
                         f"ledger's root key: the genesis was replaced ({e})")
        if self.events < head.size:
            return Fault(FaultKind.TRUNCATED, self.events + 1,
                         f"the ledger has {self.events} events; the signed head has {head.size}")
        row = self.conn.execute(
            "SELECT hash FROM stored_events WHERE position=?", (head.size,)
        ).fetchone()
        if row is None or bytes(row[0]).hex() != head.last_hash:
            return Fault(FaultKind.FORKED, head.size,
                         "the event at the head's size is not the one the head signed")
        return None

    def report(self, path: str, head: SignedHead | None, fault: Fault | None) -> VerifyReport:
        return VerifyReport(
            path=path,
            ledger_id=self.ledger_id,
            root_key_id=self.book.root_key_id,
            root_key_pinned=self.pinned is not None,
            events=self.events,
            commits=self.commits,
            aggregates=self.aggregates,
            keys=len(self.book),
            last_hash=self.last_hash.hex(),
            head_size=head.size if head is not None else None,
            merkle_root=self.merkle_root.hex() if self.merkle_root else None,
            fault=fault,
            policy=self.book.policy,
        )


_EVENT_COLUMNS = ("position", "commit_seq", "originator_id", "originator_version", "topic",
                  "state", "prev_hash", "prev_aggregate_hash", "hash")


def _malformed(row: tuple[Any, ...], expected: int) -> Fault:
    """A fault for an event row whose columns do not have their types."""
    types = ", ".join(f"{name} {type(value).__name__}"
                      for name, value in zip(_EVENT_COLUMNS, row, strict=True))
    position = row[0] if type(row[0]) is int else expected
    aggregate = row[2] if type(row[2]) is str else None
    return Fault(FaultKind.MALFORMED_ROW, position,
                 f"the event row is malformed ({types})", aggregate)


class _PeaksOnly:
    """A node store that keeps nothing: enough for the root of the current size."""

    def get(self, level: int, index: int) -> bytes:
        raise KeyError((level, index))

    def put(self, level: int, index: int, node: bytes) -> None:
        pass


_SignatureCheck = tuple[bytes, bytes, bytes, int, int, str]
"""(raw public key, signature, signed message, commit's first position, commit seq, key id):
plain values, cheap to send to a worker process."""


def _check_signatures(batch: list[tuple[PublicKey, bytes, bytes, _Commit]]) -> Fault | None:
    for key, signature, message, commit in batch:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return Fault(FaultKind.BAD_SIGNATURE, commit.first_position,
                         f"the signature of commit {commit.seq} does not verify with key "
                         f"{commit.key_id}", commit=commit.seq)
    return None


def _verify_signatures(batch: list[_SignatureCheck]) -> Fault | None:
    """The first commit of ``batch`` whose signature does not verify, as a fault.

    The same checks and fault as :func:`_check_signatures`, on plain values (cheap to send to a
    worker process), with each public key loaded once per batch.
    """
    keys: dict[bytes, Ed25519PublicKey] = {}
    for raw_key, signature, message, first_position, seq, key_id in batch:
        key = keys.get(raw_key)
        if key is None:
            key = keys[raw_key] = Ed25519PublicKey.from_public_bytes(raw_key)
        try:
            key.verify(signature, message)  # what PublicKey(raw_key).verify does
        except InvalidSignature:
            return Fault(FaultKind.BAD_SIGNATURE, first_position,
                         f"the signature of commit {seq} does not verify with key "
                         f"{key_id}", commit=seq)
    return None
