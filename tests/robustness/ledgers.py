"""A small real credit bank on either backend, and an independent check of its chain.

``make_bank`` creates a bank (a SQLite file or a PostgreSQL schema) with a school (GZCC), a
training organisation (VTC) and learner accounts; the keys are saved as encrypted PEM files so
that worker processes can sign too. ``check_chain`` reads the rows with plain ``sqlite3`` or
``psycopg`` and checks what the robustness tests promise — one chain (no fork), no gap, whole
commits, every hash, link and signature — independently of the library's verifier, which the
tests run as well (:func:`verifies`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from creditledger.audit.verify import VerifyReport, verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement, Evidence, PersonalData, RuleRef
from creditledger.services.bank import CreditBank
from creditledger.store.format import ZERO_HASH, link_hash
from creditledger.store.mapper import decode_state
from creditledger.store.registry import GENESIS_TOPIC, REGISTRY_TOPICS, KeyBook
from tests.services.bank.fixtures import KEK

PASSPHRASE = b"robustness"
TODAY = date(2022, 7, 15)
PROGRAMME, COURSE = "530302", "KJ1101"
TRAINING_RULE = RuleRef(rule_id="conversion/training-hours", version=1)
TRAINING_CREDITS = Decimal("0.5")


@dataclass
class Keys:
    """The bank's keys, in memory and as encrypted PEM files (for other processes)."""

    root: SigningKey
    school: SigningKey  # GZCC, a school: opens accounts, defines courses, imports
    trainer: SigningKey  # VTC, a training organisation: recognises training records
    folder: Path

    def pem(self, name: str) -> Path:
        return self.folder / f"{name}.pem"


def load_key(path: str | Path) -> SigningKey:
    return SigningKey.load(path, PASSPHRASE)


def make_bank(target: str | Path, folder: Path, learners: Iterable[str] = (),
              env: dict[str, str] | None = None) -> tuple[CreditBank, Keys]:
    """A new bank at ``target`` with GZCC (a programme, a course), VTC and these learners."""
    keys = Keys(SigningKey.generate(), SigningKey.generate(), SigningKey.generate(), folder)
    for name in ("root", "school", "trainer"):
        getattr(keys, name).save(keys.pem(name), PASSPHRASE)
    bank = CreditBank.create(str(target), keys.root, env=env, kek=KEK)
    bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                              has_credit_system=True, public_key=keys.school.public_key,
                              root_key=keys.root)
    bank.register_institution(code="VTC", name="职业技能培训中心", kind="training_organisation",
                              public_key=keys.trainer.public_key, root_key=keys.root)
    bank.define_programme(code=PROGRAMME, name="会计", signer=keys.school)
    bank.define_course(code=COURSE, name="基础会计", category="major_basic", nature="必修",
                       course_type="理论", attribute="A类", theory_hours=48, practice_hours=16,
                       difficulty=Decimal(1), assessment_method="exam", programmes=[PROGRAMME],
                       signer=keys.school)
    for learner in learners:
        open_learner(bank, keys.school, learner)
    return bank, keys


def open_learner(bank: CreditBank, school: SigningKey, learner: str) -> None:
    bank.open_account(learner_id=learner, learner_type="student",
                      personal_data=PersonalData(name=f"学生{learner}"),
                      programme_code=PROGRAMME, signer=school)


def record_training(bank: CreditBank, trainer: SigningKey, learner: str,
                    reference: str) -> Achievement:
    """One command of the workload: VTC recognises a training record (R4), half a credit."""
    return bank.recognise_learning_record(
        kind="training_record", learner_id=learner, title="职业技能培训", reference=reference,
        completed_on=date(2022, 3, 15), method="conversion", credits=TRAINING_CREDITS,
        category="major_elective", hours=8, rule=TRAINING_RULE,
        evidence=Evidence(description="培训记录", reference=f"archive://{reference}"),
        signer=trainer, today=TODAY)


# -- reading the rows ----------------------------------------------------------------------------


def is_postgres(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


@contextmanager
def connect(target: str | Path) -> Iterator[Any]:
    """A plain DB-API connection to the ledger's tables (read-only use)."""
    if is_postgres(target):
        import psycopg

        base, _, schema = str(target).partition("?schema=")
        with psycopg.connect(base, autocommit=True,
                             options=f"-c search_path={schema or 'public'}") as conn:
            yield conn
    else:
        conn = sqlite3.connect(f"{Path(target).resolve().as_uri()}?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()


def query(target: str | Path, statement: str) -> list[tuple[Any, ...]]:
    with connect(target) as conn:
        return [tuple(row) for row in conn.execute(statement).fetchall()]


def size(target: str | Path) -> int:
    """How many events the ledger holds."""
    return int(query(target, "SELECT COUNT(*) FROM stored_events")[0][0])


@dataclass(frozen=True)
class Chain:
    """What :func:`check_chain` found: an intact chain of ``events`` in ``commits``."""

    events: int
    commits: int
    commit_sizes: tuple[int, ...]  # event_count of commit 1, 2, ...


def check_chain(target: str | Path) -> Chain:
    """Check the ledger's rows; raise AssertionError naming the first fault.

    One chain: positions 1..n, each event's ``prev_hash`` is the previous event's hash and its
    hash is the hash of its link; each aggregate's versions are 1..n, each linked to the one
    before. Whole commits: numbered 1..m, each starting where the previous one ended, holding
    exactly its events, in time order, signed by a key the registry allowed then.
    """
    events = query(target, "SELECT position, commit_seq, originator_id, originator_version, "
                           "topic, state, prev_hash, prev_aggregate_hash, hash "
                           "FROM stored_events ORDER BY position")
    commits = query(target, "SELECT seq, first_position, event_count, committed_at, key_id, "
                            "signature FROM ledger_commits ORDER BY seq")
    ledger_id = dict(query(target, "SELECT name, value FROM ledger_info"))["ledger_id"]
    prev = ZERO_HASH
    tips: dict[str, tuple[int, bytes]] = {}
    for n, (pos, seq, oid, version, topic, state, prev_hash, prev_agg, h) in enumerate(
            events, start=1):
        state, prev_hash, prev_agg, h = bytes(state), bytes(prev_hash), bytes(prev_agg), bytes(h)
        assert pos == n, f"gap: position {n} is missing (next is {pos})"
        assert prev_hash == prev, f"fork: event {pos} does not link to event {pos - 1}"
        assert link_hash((pos, seq, oid, version, topic, state, prev_hash, prev_agg)) == h, \
            f"event {pos}: hash mismatch"
        last_version, last_hash = tips.get(oid, (0, ZERO_HASH))
        assert (version, prev_agg) == (last_version + 1, last_hash), \
            f"event {pos}: aggregate {oid} version {version} does not follow {last_version}"
        tips[oid] = (version, h)
        prev = h
    book = KeyBook()
    at = 1
    last_time = 0
    for n, (seq, first, count, committed_at, key_id, signature) in enumerate(commits, start=1):
        assert seq == n, f"commit {n} is missing (next is {seq})"
        assert first == at, f"commit {seq} starts at {first}, not {at}"
        mine = events[first - 1:first - 1 + count]
        assert len(mine) == count and all(e[1] == seq for e in mine), \
            f"commit {seq}: its {count} events are not all there"
        assert committed_at >= last_time, f"commit {seq} is dated before its predecessor"
        registry = [e for e in mine if e[4] in REGISTRY_TOPICS]
        if mine[0][4] == GENESIS_TOPIC:
            book.apply(GENESIS_TOPIC, decode_state(GENESIS_TOPIC, bytes(mine[0][5])), committed_at)
        assert book.problem(key_id, committed_at) is None, f"commit {seq}: key may not sign"
        statement = book.statement(seq, first, committed_at, key_id, [bytes(e[8]) for e in mine])
        book.public_key(key_id).verify(bytes(signature), statement.message())
        for e in registry:
            if e[4] != GENESIS_TOPIC:
                book.apply(e[4], decode_state(e[4], bytes(e[5])), committed_at)
        at += count
        last_time = committed_at
    assert at == len(events) + 1, f"events {at}..{len(events)} belong to no commit"
    assert book.ledger_id == ledger_id, "ledger_info names another ledger than the genesis"
    return Chain(len(events), len(commits), tuple(c[2] for c in commits))


def verifies(target: str | Path) -> VerifyReport:
    """The library's own verifier on the ledger (after :func:`check_chain`'s checks)."""
    check_chain(target)
    report = verify_ledger(str(target))
    assert report.fault is None
    return report


# -- watching PostgreSQL writers -------------------------------------------------------------


@contextmanager
def server_connection(target: str) -> Iterator[Any]:
    """A connection to the test server (autocommit), to watch the writers with."""
    import psycopg

    with psycopg.connect(target.partition("?schema=")[0], autocommit=True) as conn:
        yield conn


@contextmanager
def commits_held(target: str) -> Iterator[None]:
    """Hold ``SHARE`` on ``ledger_commits``: a commit that gets that far waits, inside its
    transaction, after inserting its event rows and before its commit row."""
    import psycopg

    base, _, schema = target.partition("?schema=")
    holder = psycopg.connect(base, options=f"-c search_path={schema}")
    try:
        holder.execute("LOCK TABLE ledger_commits IN SHARE MODE")
        yield
    finally:
        with suppress(psycopg.Error):  # the server may be gone by now
            holder.rollback()
        holder.close()


def waiting_writer(watcher: Any, schema: str, timeout: float = 60) -> int:
    """The server process id of the writer that waits for ``ledger_commits``."""
    deadline = time.monotonic() + timeout
    while True:
        found = watcher.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT l.granted AND c.relname = 'ledger_commits' AND n.nspname = %s",
            (schema,)).fetchone()
        if found:
            return int(found[0])
        assert time.monotonic() < deadline, "the writer never reached ledger_commits"
        time.sleep(0.005)


def wait_gone(watcher: Any, pid: int, timeout: float = 60) -> None:
    """Wait until the server process ``pid`` has ended (its transaction is over)."""
    deadline = time.monotonic() + timeout
    while watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        assert time.monotonic() < deadline, f"server process {pid} still there"
        time.sleep(0.01)
