"""Two imports of the same file at the same moment both succeed: the import is idempotent, and
the one that loses a race for a row re-reads and finds the row recorded (instead of failing with
"already defined"). A real conflict found that way is still a conflict."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from creditledger.audit.verify import verify_ledger
from creditledger.domain import PersonalData
from creditledger.errors import ImportRejectedError
from creditledger.services import batch
from creditledger.services.bank import CreditBank
from creditledger.services.batch import import_file
from tests.services.bank.fixtures import KEK, TODAY, World, world_on

from .files import LEARNER_COLUMNS, learner, write_csv, write_json
from .workers import PASSPHRASE, import_each, worker_context

LEARNERS = 150
ROUNDS = 3
COMMIT_SIZE = 25


# -- the window between an import's check and its command, made to happen ------------------------


@contextmanager
def opened_by_another_writer_first(world: World, learner_id: str, name: str, *,
                                   on_call: int) -> Iterator[None]:
    """Another writer (its own bank on the same ledger) opens ``learner_id``, named ``name``,
    just before the import's ``on_call``-th ``open_account`` for that learner runs: after the
    import has checked that the account is not there yet."""
    other = CreditBank.open(world.path, kek=KEK)
    real = world.bank.open_account
    calls = [0]

    def racing(**kwargs: Any) -> Any:
        if kwargs["learner_id"] == learner_id:
            calls[0] += 1
            if calls[0] == on_call:
                other.open_account(**{**kwargs, "personal_data": PersonalData(name=name)})
        return real(**kwargs)

    try:
        with patch.object(world.bank, "open_account", racing):
            yield
    finally:
        other.close()
    assert calls[0] >= on_call, "the race never happened"


def test_a_learner_another_writer_opens_during_the_dry_run_counts_as_already_recorded(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner("N1"), learner("N2")])
    with opened_by_another_writer_first(world, "N1", "黄志强", on_call=1):
        report = import_file(world.bank, path, signer=world.gzcc, record_type="learner",
                             today=TODAY)
    assert (report.written, report.unchanged, report.rejected) == (1, 1, [])
    world.bank.close()
    verify_ledger(world.path)


def test_a_learner_another_writer_opens_during_the_write_pass_counts_as_already_recorded(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner("N1"), learner("N2")])
    with patch.object(batch._Plan, "write", lambda self, *args: False), \
            opened_by_another_writer_first(world, "N1", "黄志强", on_call=2):
        report = import_file(world.bank, path, signer=world.gzcc, record_type="learner",
                             today=TODAY)
    assert (report.written, report.unchanged, report.rejected) == (1, 1, [])


def test_a_learner_another_writer_opens_differently_meanwhile_is_still_a_conflict(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner("N1"), learner("N2")])
    with opened_by_another_writer_first(world, "N1", "别人", on_call=1), \
            pytest.raises(ImportRejectedError) as caught:
        import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY)
    ((line, problem),) = [(r.line, r.problem) for r in caught.value.report.rejected]
    assert line == 2 and "already recorded with different values" in problem


# -- two processes, the same file, the same moment -----------------------------------------------


def batch_files(folder: Path) -> list[Path]:
    """ROUNDS files of learners, a course and the learners' results (one JSON array each)."""
    files = []
    for r in range(ROUNDS):
        ids = [f"R{r}-{i:03}" for i in range(LEARNERS)]
        items: list[dict[str, Any]] = [
            {"type": "learner", "learner_id": i, "learner_type": "student", "name": "学生",
             "programme_code": "530302"} for i in ids]
        items.append({"type": "course", "code": f"KJ90{r}", "name": "新课程",
                      "category": "major_elective", "nature": "选修", "course_type": "理论",
                      "attribute": "A类", "theory_hours": 16, "practice_hours": 16,
                      "difficulty": "1", "assessment_method": "exam", "programmes": "530302"})
        items += [{"type": "achievement", "kind": "course_result", "learner_id": i,
                   "course_code": f"KJ90{r}", "term": "2021-2022-1", "score": "80",
                   "evidence_description": "成绩单"} for i in ids]
        files.append(write_json(folder / f"round{r}.json", items))
    return files


def test_two_processes_importing_the_same_file_at_the_same_moment_both_succeed(
    ledger_target: Any, tmp_path: Path
) -> None:
    with world_on(ledger_target) as world:
        key = world.gzcc.save(tmp_path / "gzcc.pem", PASSPHRASE)
        size = world.size()
    files = batch_files(tmp_path)
    ctx = worker_context()
    go, results = ctx.Barrier(2), ctx.Queue()
    args = (str(ledger_target), str(key), [str(f) for f in files], COMMIT_SIZE, go, results)
    workers = [ctx.Process(target=import_each, args=args) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        outcomes = [results.get(timeout=300) for _ in workers]
    finally:
        for w in workers:
            w.join(30)
            if w.exitcode is None:
                w.kill()
    rows = 2 * LEARNERS + 1
    for first, second in zip(*outcomes, strict=True):
        assert isinstance(first, tuple) and isinstance(second, tuple), (first, second)
        assert first[2] == second[2] == 0  # no row rejected
        assert first[0] + first[1] == second[0] + second[1] == rows
        assert first[0] + second[0] == rows  # each row written once, by one of them
    with world_on_existing(ledger_target) as bank:
        # each round once: an account each, the course and its programme's, two per result
        assert bank.last_position() == size + ROUNDS * (LEARNERS + 2 + 2 * LEARNERS)
    verify_ledger(ledger_target)


@contextmanager
def world_on_existing(target: Any) -> Iterator[CreditBank]:
    bank = CreditBank.open(target, kek=KEK)
    try:
        yield bank
    finally:
        bank.close()
