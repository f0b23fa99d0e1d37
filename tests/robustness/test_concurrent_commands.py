"""Every command of the bank runs again, whole, when another writer changed one of its records
first, and raises the library's :class:`~creditledger.errors.ConcurrentWriteError` (a
``ConflictError``) if it still loses: never eventsourcing's own ``RecordConflictError``.

Two processes record course results for the same five learners at once, on both backends
(before, about one call in five raised eventsourcing's ``IntegrityError``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from creditledger.audit.verify import verify_ledger
from creditledger.domain import Category, PersonalData
from creditledger.errors import ConflictError
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, make_world

from .ledgers import PASSPHRASE, load_key
from .workers import error_name, worker_context

LEARNERS = ("S1", "S2", "M1", "S3", "S4")
COURSES = ("GG1001", "KJ1101", "KJ2103")
CALLS = 300  # per process: every learner, every course, 20 terms
PROCESSES = 2


def result_of(process: int, n: int) -> tuple[str, str, str]:
    """The ``n``-th result process ``process`` records: (learner, course, term). Both processes
    go through the learners in the same order, so they keep writing to the same accounts; their
    terms differ, so every result is a different achievement."""
    year = 1960 + 20 * process + n // (len(LEARNERS) * len(COURSES))
    return (LEARNERS[n % len(LEARNERS)], COURSES[n // len(LEARNERS) % len(COURSES)],
            f"{year}-{year + 1}-1")


def record_results(target: str, school_pem: str, process: int, go: Any, results: Any) -> None:
    """Record this process's :data:`CALLS` course results; report each call's outcome:
    ``("ok", learner, achievement id)``, ``("conflict", learner, message)`` or
    ``("error", learner, what)``."""
    school = load_key(school_pem)
    outcomes: list[tuple[str, str, str]] = []
    bank = CreditBank.open(target, kek=KEK)
    try:
        go.wait(60)
        for n in range(CALLS):
            learner, course, term = result_of(process, n)
            try:
                done = bank.recognise_course_result(
                    learner_id=learner, course_code=course, term=term, score=Decimal(80),
                    evidence=EVIDENCE, signer=school, today=TODAY)
            except ConflictError as e:
                outcomes.append(("conflict", learner, f"{error_name(e)}: {e}"))
            except Exception as e:  # reported: the test shows it
                outcomes.append(("error", learner, f"{error_name(e)}: {e}"))
            else:
                outcomes.append(("ok", learner, str(done.id)))
    finally:
        bank.close()
        results.put(outcomes)


def run_processes(target: str, pem: Path) -> list[tuple[str, str, str]]:
    ctx = worker_context()
    go, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=record_results, args=(target, str(pem), p, go, results))
             for p in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        reports = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.exitcode is None:
                p.kill()
                p.join(30)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    return [outcome for report in reports for outcome in report]


def test_two_processes_recording_for_the_same_learners_get_a_result_or_a_conflict_error(
    ledger_target: Any, tmp_path: Path
) -> None:
    world = make_world(ledger_target)
    for learner in ("S3", "S4"):
        world.bank.open_account(learner_id=learner, learner_type="student",
                                personal_data=PersonalData(name=f"学生{learner}"),
                                programme_code="530302", signer=world.gzcc)
    before = {learner: world.bank.balances(learner) for learner in LEARNERS}
    world.bank.close()
    pem = world.gzcc.save(tmp_path / "gzcc.pem", PASSPHRASE)

    outcomes = run_processes(str(ledger_target), pem)

    kinds = Counter(kind for kind, _, _ in outcomes)
    assert len(outcomes) == PROCESSES * CALLS
    assert [o for o in outcomes if o[0] == "error"] == []
    assert kinds["ok"] > 0
    assert all("ConcurrentWriteError" in what for kind, _, what in outcomes
               if kind == "conflict")
    verify_ledger(str(ledger_target))
    expected: dict[str, Counter[Category]] = defaultdict(Counter)
    with CreditBank.open(ledger_target, kek=KEK) as bank:
        for kind, learner, achievement_id in outcomes:
            if kind == "ok":
                achievement = bank.achievement(UUID(achievement_id))
                expected[learner][achievement.category] += achievement.credits
        for learner in LEARNERS:
            gained = Counter(bank.balances(learner))
            gained.subtract(before[learner])
            assert {c: v for c, v in gained.items() if v} == dict(expected[learner]), learner
