"""Eight writer processes at once, on both backends (SQLite file, PostgreSQL server).

Each process opens the ledger itself and runs real commands for a bounded time (``--soak``
runs them for a minute): half of them each write to their own learner, half all write to one
shared learner, whose account every command changes. Afterwards the ledger must be one chain
(no fork, no gap, whole commits, every hash and signature right), every command a worker saw
succeed must be in it, and a writer to the shared learner that met the library's concurrency
error must have succeeded on retry. Capacity (人数限额) of an alliance course must hold
with eight processes admitting learners at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from creditledger.domain import Category
from creditledger.services.bank import CreditBank
from tests.services.alliance.world import course_info, make_world
from tests.services.bank.fixtures import KEK

from .ledgers import PASSPHRASE, TRAINING_CREDITS, check_chain, make_bank, size, verifies
from .workers import admit, worker_context, write_records

WORKERS = 8
SHARED = 4  # this many write to the one shared learner; each of the others to its own
SECONDS, SOAK_SECONDS = 3.0, 60.0
CONFLICT = "creditledger.errors.ConcurrentWriteError"
"""What a command raises, on both backends, when it lost the race for an aggregate every time
the library ran it (see docs/store.md); never eventsourcing's own ``RecordConflictError``."""


def run_workers(target: Any, args: list[tuple[Any, ...]], func: Any, timeout: float) -> list[Any]:
    """Start one process per argument tuple; they start work together (a barrier)."""
    ctx = worker_context()
    go, results = ctx.Barrier(len(args)), ctx.Queue()
    procs = [ctx.Process(target=func, args=(str(target), *a, go, results)) for a in args]
    for p in procs:
        p.start()
    try:
        reports = [results.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.exitcode is None:
                p.kill()
                p.join(30)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return reports


def test_eight_writers_leave_one_chain_with_every_command_they_saw_succeed(
    ledger_target: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seconds = SOAK_SECONDS if request.config.getoption("--soak") else SECONDS
    learners = [f"OWN-{w}" for w in range(WORKERS - SHARED)] + ["SHARED"] * SHARED
    bank, keys = make_bank(ledger_target, tmp_path, sorted(set(learners)))
    bank.close()
    before = check_chain(ledger_target)

    reports = run_workers(
        ledger_target,
        [(str(keys.pem("trainer")), learner, f"W{w}", seconds) for w, learner in
         enumerate(learners)],
        write_records, timeout=seconds + 120)

    assert [r["errors"] for r in reports] == [[]] * WORKERS
    assert all(r["done"] for r in reports), "every worker got commands through"
    own = [r for r in reports if r["learner"] != "SHARED"]
    shared = [r for r in reports if r["learner"] == "SHARED"]
    assert all(not r["conflicts"] for r in own), "writers to different learners never conflict"
    conflict_types = {name for r in shared for name in r["conflicts"]}
    assert conflict_types <= {CONFLICT}, "writers to one learner conflict, as documented"
    assert not conflict_types or sum(r["retried"] for r in shared) > 0, \
        "a command that conflicted succeeded when run again"

    chain = check_chain(ledger_target)  # one chain, no gap, whole signed commits
    succeeded = [(r["learner"], ref, UUID(aid)) for r in reports for ref, aid in r["done"]]
    assert chain.commits == before.commits + len(succeeded)  # conflicts wrote nothing
    assert chain.events == before.events + 2 * len(succeeded)  # achievement + credited account
    assert chain.commit_sizes[before.commits:] == (2,) * len(succeeded)
    verifies(ledger_target)
    bank = CreditBank.open(ledger_target, kek=KEK)
    try:
        for learner, reference, achievement_id in succeeded:
            achievement = bank.achievement(achievement_id)
            assert achievement.learner_id == learner
            assert achievement.record.learning_record is not None
            assert achievement.record.learning_record.reference == reference
        for learner in set(learners):
            count = sum(1 for who, _, _ in succeeded if who == learner)
            assert bank.balances(learner)[Category.MAJOR_ELECTIVE] == count * TRAINING_CREDITS
    finally:
        bank.close()


CAPACITY, EACH = 5, 3


def test_eight_processes_never_admit_more_learners_than_the_capacity(
    ledger_target: Any, tmp_path: Path
) -> None:
    world = make_world(ledger_target)
    offering = world.offer(course=course_info(capacity=CAPACITY))
    learners = world.approved_learners(offering.id, WORKERS * EACH)
    world.bank.close()
    pem = world.key("CQAT").save(tmp_path / "cqat.pem", PASSPHRASE)
    before = size(ledger_target)

    outcomes = dict(
        pair
        for batch in run_workers(ledger_target, [(str(pem), str(offering.id), learners[w::WORKERS])
                                                 for w in range(WORKERS)],
                                 admit, timeout=120)
        for pair in batch)

    admitted = sorted(k for k, v in outcomes.items() if v == "admitted")
    refused = [v for v in outcomes.values() if v != "admitted"]
    assert len(outcomes) == len(learners)
    assert len(admitted) == CAPACITY, outcomes
    assert all(v.startswith("full:") and f"all {CAPACITY} seats" in v for v in refused), refused
    assert size(ledger_target) == before + 2 * CAPACITY  # each admission: seat + enrolment
    verifies(ledger_target)
    bank = CreditBank.open(ledger_target, kek=KEK)
    try:
        assert sorted(bank.course_offering(offering.id).seats) == admitted
    finally:
        bank.close()
