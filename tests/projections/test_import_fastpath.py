"""Batch import's fast write path (``batch._Plan``) keeps its promise.

The write pass saves the events the validation dry run decided instead of running each row's
command again, as long as nothing else has been written to the ledger. These tests hold it to
that: the same file gives the same ledger either way; a commit by another writer (another
process, on the same file) makes the rows run again, against the ledger as it is then; re-running
a file on the fast path writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from unittest.mock import patch
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditledger.audit.verify import verify_ledger
from creditledger.domain import Category, learner_account_id
from creditledger.errors import ConflictError, DuplicateAchievementError
from creditledger.services import batch
from creditledger.services.bank import CreditBank
from creditledger.services.batch import ImportReport, import_file
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import KEK, TODAY, World, copy_ledger, make_world

PASSPHRASE = b"pw"
EVIDENCE = "成绩单"
TERMS = ("2021-2022-1", "2021-2022-2")
TEMPLATE_LEARNERS = tuple(f"L{i}" for i in range(6))  # imported into the template ledger
PRE_RECORDED = (("L0", "KJ1101", TERMS[0]), 75)  # a result already in the template ledger


# -- the ledgers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A closed ledger file to copy: the facade world, six learners and one course result."""
    folder = tmp_path_factory.mktemp("fastpath")
    world = make_world(folder / "template.ledger")
    rows = [learner_row(lid) for lid in TEMPLATE_LEARNERS] + [result_row(*PRE_RECORDED)]
    import_file(world.bank, write_json(folder / "setup.json", rows), signer=world.gzcc,
                today=TODAY)
    world.bank.close()  # folds the write-ahead log into the one file, so a copy is complete
    world.gzcc.save(folder / "gzcc.pem", PASSPHRASE)
    return world


def key_file(template: World) -> Path:
    return Path(template.path).parent / "gzcc.pem"


@contextmanager
def copies(template: World, folder: Path, *names: str) -> Iterator[list[World]]:
    """Identical ledgers copied from the template, open as banks, closed on exit."""
    with ExitStack() as stack:
        worlds = []
        for name in names:
            path = folder / f"{name}.ledger"
            copy_ledger(template.path, path)
            bank = CreditBank.open(path, kek=KEK)
            stack.callback(bank.close)
            worlds.append(dataclasses.replace(template, bank=bank, path=path))
        yield worlds


@pytest.fixture()
def world(template: World, tmp_path: Path) -> Iterator[World]:
    with copies(template, tmp_path, "bank") as (one,):
        yield one


# -- rows and files ------------------------------------------------------------------------------


def learner_row(learner_id: str) -> dict[str, Any]:
    return {"type": "learner", "learner_id": learner_id, "learner_type": "student",
            "name": f"学生{learner_id}", "programme_code": "530302"}


def course_row(code: str) -> dict[str, Any]:
    hours = 32 + 16 * int(code[-1])
    return {"type": "course", "code": code, "name": f"课程{code}", "category": "major_elective",
            "nature": "选修", "course_type": "理实一体", "attribute": "B类",
            "theory_hours": hours // 2, "practice_hours": hours // 2, "difficulty": "1",
            "assessment_method": "exam", "programmes": "530302"}


def result_row(key: tuple[str, str, str], score: int) -> dict[str, Any]:
    learner_id, course_code, term = key
    return {"type": "achievement", "kind": "course_result", "learner_id": learner_id,
            "course_code": course_code, "term": term, "score": str(score),
            "evidence_description": EVIDENCE}


def training_row(learner_id: str, reference: str) -> dict[str, Any]:
    return {"type": "achievement", "kind": "training_record", "learner_id": learner_id,
            "title": f"培训{reference}", "reference": reference, "completed_on": "2022-06-30",
            "method": "matching", "credits": f"{reference[-1]}.5", "category": "major_elective",
            "rule_id": "training/GZCC", "rule_version": "1", "hours": "16",
            "evidence_description": "培训证明"}


def write_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def results_file(folder: Path, learner_ids: list[str], course: str = "KJ1101") -> Path:
    rows = [result_row((lid, course, TERMS[0]), 70 + i) for i, lid in enumerate(learner_ids)]
    return write_json(folder / "results.json", rows)


# -- what a ledger holds -------------------------------------------------------------------------


def ledger_content(world: World) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """Every event (position, aggregate, version, topic, state without its timestamp), every
    commit (number, first position, size, signer) and every aggregate's state (without its
    creation and modification times): all of a ledger but the clock."""
    conn = sqlite3.connect(f"{Path(world.path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        events = []
        for position, oid, version, topic, state in conn.execute(
            "SELECT position, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY position"
        ):
            decoded = json.loads(state)
            decoded.pop("timestamp")
            if str(decoded.get("personal_data", "")).startswith("sealed:"):  # a fresh nonce
                keys = ledger_of(world.bank).personal  # each time: compare what it opens to
                assert keys is not None
                decoded["personal_data"] = keys.unseal(oid, "personal_data",
                                                       decoded["personal_data"])
            events.append((position, oid, version, topic, decoded))
        commits = conn.execute("SELECT seq, first_position, event_count, key_id "
                               "FROM ledger_commits ORDER BY seq").fetchall()
    finally:
        conn.close()
    timeless = {"_created_on", "_modified_on", "_pending_events"}
    states = {}
    for oid in dict.fromkeys(e[1] for e in events):
        aggregate: Any = ledger_of(world.bank).repository.get(UUID(oid))
        states[oid] = {k: v for k, v in vars(aggregate).items() if k not in timeless}
    return events, commits, states


def head(world: World) -> int:
    return ledger_of(world.bank).recorder.max_notification_id() or 0


@contextmanager
def counting_applies() -> Iterator[list[int]]:
    """Count the rows' commands run (``batch._apply``): once per row in the dry run, once more
    per row of every chunk the write pass has to run again."""
    calls = [0]
    apply = batch._apply

    def counted(*args: Any) -> None:
        calls[0] += 1
        apply(*args)

    with patch.object(batch, "_apply", counted):
        yield calls


@contextmanager
def plan_unusable() -> Iterator[None]:
    """Force the write pass to run every row's command again (the path without the plan)."""
    with patch.object(batch._Plan, "write", lambda self, *args: False):
        yield


@contextmanager
def after_dry_run(action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` once the validation dry run is over, before the write pass begins."""
    validate = batch._validate

    def then_act(*args: Any) -> Any:
        good = validate(*args)
        action()
        return good

    with patch.object(batch, "_validate", then_act):
        yield


@contextmanager
def before_first_save(world: World, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` in the window between the write pass's check that the ledger's head has not
    moved and the save of the first planned chunk (the plan reads the head before the dry run,
    then once before each planned chunk)."""
    recorder = ledger_of(world.bank).recorder
    read_head = recorder.max_notification_id
    reads = [0]

    def head_then_act() -> Any:
        value = read_head()
        reads[0] += 1
        if reads[0] == 2:
            action()
        return value

    with patch.object(recorder, "max_notification_id", head_then_act):
        yield
    assert reads[0] >= 2, "the write pass never checked the head"


# -- another writer: a second process on the same ledger file -----------------------------------

OTHER_WRITER = f"""
import sys
from decimal import Decimal
from datetime import date
from creditledger.services.bank import CreditBank
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Evidence, PersonalData
from tests.services.bank.fixtures import KEK

path, key, action, learner_id, *rest = sys.argv[1:]
bank = CreditBank.open(path, kek=KEK)
signer = SigningKey.load(key, b"pw")
if action == "open":
    bank.open_account(learner_id=learner_id, learner_type="student",
                      personal_data=PersonalData(name="学生" + learner_id),
                      programme_code="530302", signer=signer)
else:
    course_code, term, score, today = rest
    bank.recognise_course_result(learner_id=learner_id, course_code=course_code, term=term,
                                 score=Decimal(score), evidence=Evidence(description={EVIDENCE!r}),
                                 signer=signer, today=date.fromisoformat(today))
bank.close()
"""


def other_writer(world: World, template: World, action: str, learner_id: str,
                 *rest: str) -> Callable[[], None]:
    """A command that another process commits to ``world``'s ledger file when called."""

    def run() -> None:
        done = subprocess.run(
            [sys.executable, "-c", OTHER_WRITER, str(world.path), str(key_file(template)),
             action, learner_id, *rest],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    return run


def other_result(world: World, template: World, learner_id: str, course: str,
                 score: int) -> Callable[[], None]:
    return other_writer(world, template, "result", learner_id, course, TERMS[0], str(score),
                        TODAY.isoformat())


def counts(report: ImportReport) -> tuple[int, int, int]:
    return report.written, report.unchanged, report.commits


# -- the same ledger either way ------------------------------------------------------------------


@st.composite
def import_files(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows a clean import accepts (every row good), repeats included: learners (new ones, and
    ones already recorded), courses, course results and training records of learners recorded
    or opened by an earlier row."""
    opened = ["S1", "S2", *TEMPLATE_LEARNERS[:2]]
    courses = ["KJ1101", "KJ2103"]
    scores: dict[tuple[str, str, str], int] = dict([PRE_RECORDED])
    rows = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["learner", "course", "result", "result", "training"]))
        if kind == "learner":
            learner_id = draw(st.sampled_from(["L0", "N1", "N2", "N3"]))
            rows.append(learner_row(learner_id))
            opened.append(learner_id)
        elif kind == "course":
            code = draw(st.sampled_from(["KJ3001", "KJ3002"]))
            rows.append(course_row(code))
            courses.append(code)
        elif kind == "result":
            key = (draw(st.sampled_from(opened)), draw(st.sampled_from(courses)),
                   draw(st.sampled_from(TERMS)))
            if key not in scores:
                scores[key] = draw(st.integers(60, 100))
            rows.append(result_row(key, scores[key]))
        else:
            rows.append(training_row(draw(st.sampled_from(opened)),
                                     draw(st.sampled_from(["T1", "T2"]))))
    return rows


def new_things(rows: list[dict[str, Any]]) -> int:
    """How many rows record something new: the first of each natural key not already there."""
    seen: set[tuple[str, ...]] = {("learner", lid) for lid in TEMPLATE_LEARNERS}
    seen.add(("result", *PRE_RECORDED[0]))
    for row in rows:
        if row["type"] == "learner":
            seen.add(("learner", row["learner_id"]))
        elif row["type"] == "course":
            seen.add(("course", row["code"]))
        elif row["kind"] == "course_result":
            seen.add(("result", row["learner_id"], row["course_code"], row["term"]))
        else:
            seen.add(("training", row["learner_id"], row["reference"]))
    return len(seen) - len(TEMPLATE_LEARNERS) - 1


@given(rows=import_files(), commit_size=st.integers(1, 4))
def test_the_fast_path_records_what_running_every_row_again_records(
    template: World, rows: list[dict[str, Any]], commit_size: int
) -> None:
    with TemporaryDirectory() as folder, \
            copies(template, Path(folder), "fast", "rerun") as (fast, rerun):
        path = write_json(Path(folder) / "rows.json", rows)
        with counting_applies() as applies:
            planned = import_file(fast.bank, path, signer=fast.gzcc, commit_size=commit_size,
                                  today=TODAY)
        assert applies[0] == len(rows), "the fast path ran rows' commands again"
        with plan_unusable():
            again = import_file(rerun.bank, path, signer=rerun.gzcc, commit_size=commit_size,
                                today=TODAY)
        assert counts(planned) == counts(again)
        assert planned.written == new_things(rows)
        assert planned.written + planned.unchanged == len(rows)
        assert ledger_content(fast) == ledger_content(rerun)
        for world in (fast, rerun):
            verify_ledger(world.path)


# -- another writer between the dry run and the write pass --------------------------------------


def test_a_commit_by_another_process_after_the_dry_run_makes_every_row_run_again(
    world: World, template: World, tmp_path: Path
) -> None:
    file = results_file(tmp_path, ["L1", "L2", "L3", "L4"])
    with counting_applies() as applies, \
            after_dry_run(other_writer(world, template, "open", "X1")):
        report = import_file(world.bank, file, signer=world.gzcc, commit_size=3, today=TODAY)
    assert applies[0] == 4 + 4  # the dry run, then every row again
    assert counts(report) == (4, 0, 2)
    assert world.bank.account("X1").learner_id == "X1"  # the other writer's learner stands
    for lid in ("L1", "L2", "L3", "L4"):
        assert world.bank.balances(lid)[Category.MAJOR_BASIC] == Decimal("4.00")
    verify_ledger(world.path)


def test_rows_run_again_see_another_process_s_credit_to_the_same_learner(
    world: World, template: World, tmp_path: Path
) -> None:
    file = results_file(tmp_path, ["L1", "L2", "L3"])
    with after_dry_run(other_result(world, template, "L2", "KJ2103", 88)):
        report = import_file(world.bank, file, signer=world.gzcc, today=TODAY)
    assert counts(report) == (3, 0, 1)
    account = world.bank.account("L2")
    assert account.version == 3  # opened, the other writer's credit, the import's credit
    assert world.bank.balances("L2")[Category.MAJOR_CORE] == Decimal("4.00")
    assert world.bank.balances("L2")[Category.MAJOR_BASIC] == Decimal("4.00")
    verify_ledger(world.path)


def test_a_row_another_process_recorded_identically_meanwhile_counts_as_unchanged(
    world: World, template: World, tmp_path: Path
) -> None:
    file = results_file(tmp_path, ["L1", "L2", "L3"])  # L2's score is 71
    size = head(world)
    with after_dry_run(other_result(world, template, "L2", "KJ1101", 71)):
        report = import_file(world.bank, file, signer=world.gzcc, today=TODAY)
    assert counts(report) == (2, 1, 1)
    assert world.bank.account("L2").version == 2  # credited once
    assert head(world) == size + 2 + 4  # the other writer's two events, then two rows' four
    verify_ledger(world.path)


def test_a_conflicting_row_another_process_recorded_meanwhile_raises_conflict_error(
    world: World, template: World, tmp_path: Path
) -> None:
    """The dry run accepted the row; by the write pass the same result is recorded with another
    score. Running the chunk again finds it and raises the library's ConflictError (a
    ``DuplicateAchievementError``); that chunk's commit is not made. Chunks before it are
    already committed: each chunk is its own commit."""
    file = results_file(tmp_path, ["L1", "L2", "L3", "L4"])  # L3 (70 + 2) is in chunk two
    size = head(world)
    with pytest.raises(ConflictError) as caught, \
            after_dry_run(other_result(world, template, "L3", "KJ1101", 99)):
        import_file(world.bank, file, signer=world.gzcc, commit_size=2, today=TODAY)
    assert isinstance(caught.value, DuplicateAchievementError)
    assert caught.value.fields == ("course",)
    assert head(world) == size + 2 + 4  # the other writer's commit, then chunk one's
    recorded = ledger_of(world.bank).load(learner_account_id("L3"))
    assert recorded.version == 2
    (entry,) = recorded.entries.values()
    achievement = world.bank.achievement(entry.achievement_id)
    assert achievement.record.course is not None
    assert achievement.record.course.score == Decimal(99)  # the other writer's, not the file's
    assert world.bank.balances("L1")[Category.MAJOR_BASIC] == Decimal("4.00")
    assert world.bank.balances("L4")[Category.MAJOR_BASIC] == Decimal(0)
    verify_ledger(world.path)


# -- another writer during the write pass ---------------------------------------------------------


@pytest.mark.parametrize("learner_id", ["L4", "L0"], ids=["a-learner-of-the-file", "another"])
def test_a_commit_by_another_process_between_chunks_makes_the_later_chunks_run_again(
    world: World, template: World, tmp_path: Path, learner_id: str
) -> None:
    file = results_file(tmp_path, ["L1", "L2", "L3", "L4", "L5"])  # L4 is in chunk two
    act = other_result(world, template, learner_id, "KJ2103", 90)
    chunks_done = []

    def progress(done: int, total: int) -> None:
        if done > total // 2:  # the write pass reports after each chunk
            chunks_done.append(done)
            if len(chunks_done) == 1:
                act()

    with counting_applies() as applies:
        report = import_file(world.bank, file, signer=world.gzcc, commit_size=2, today=TODAY,
                             progress=progress)
    assert len(chunks_done) == 3
    assert applies[0] == 5 + 3  # the dry run, then chunks two and three again
    assert counts(report) == (5, 0, 3)
    assert world.bank.balances(learner_id)[Category.MAJOR_CORE] == Decimal("4.00")
    assert world.bank.account("L4").version == (3 if learner_id == "L4" else 2)
    for lid in ("L1", "L2", "L3", "L4", "L5"):
        assert world.bank.balances(lid)[Category.MAJOR_BASIC] == Decimal("4.00")
    verify_ledger(world.path)


def test_a_commit_racing_the_first_planned_save_makes_the_later_chunks_run_again(
    world: World, template: World, tmp_path: Path
) -> None:
    """The other commit lands after the head check, before the save, on other aggregates: the
    planned chunk is saved (it was decided on the ledger as the check saw it), and the plan
    notices that its commit did not follow its last one."""
    file = results_file(tmp_path, ["L1", "L2", "L3", "L4"])
    size = head(world)
    with counting_applies() as applies, \
            before_first_save(world, other_writer(world, template, "open", "X2")):
        report = import_file(world.bank, file, signer=world.gzcc, commit_size=2, today=TODAY)
    assert applies[0] == 4 + 2  # the dry run, then chunk two again
    assert counts(report) == (4, 0, 2)
    assert head(world) == size + 1 + 8
    assert world.bank.account("X2").version == 1
    verify_ledger(world.path)


def test_a_commit_racing_the_planned_save_on_the_same_learner_makes_that_chunk_run_again(
    world: World, template: World, tmp_path: Path
) -> None:
    """The planned save conflicts (the learner's account has a new version meanwhile): nothing
    of it is written, and the chunk runs again, crediting on top of the other writer's event."""
    file = results_file(tmp_path, ["L1", "L2", "L3", "L4"])
    size = head(world)
    with counting_applies() as applies, \
            before_first_save(world, other_result(world, template, "L2", "KJ2103", 91)):
        report = import_file(world.bank, file, signer=world.gzcc, commit_size=2, today=TODAY)
    assert applies[0] == 4 + 4  # the dry run, then both chunks again
    assert counts(report) == (4, 0, 2)
    assert head(world) == size + 2 + 8
    assert world.bank.account("L2").version == 3
    assert world.bank.balances("L2")[Category.MAJOR_CORE] == Decimal("4.00")
    assert world.bank.balances("L2")[Category.MAJOR_BASIC] == Decimal("4.00")
    verify_ledger(world.path)


# -- idempotent re-runs --------------------------------------------------------------------------


def test_re_running_a_file_on_the_fast_path_writes_nothing_and_counts_every_row_unchanged(
    world: World, tmp_path: Path
) -> None:
    rows = [learner_row("N1"), course_row("KJ3001"),
            result_row(("N1", "KJ3001", TERMS[0]), 80), result_row(PRE_RECORDED[0], 75),
            training_row("N1", "T1"), learner_row("L0")]
    file = write_json(tmp_path / "rows.json", rows)
    first = import_file(world.bank, file, signer=world.gzcc, commit_size=4, today=TODAY)
    assert counts(first) == (4, 2, 2)
    size = head(world)
    with counting_applies() as applies:
        again = import_file(world.bank, file, signer=world.gzcc, commit_size=4, today=TODAY)
    assert applies[0] == len(rows)  # the dry run only: the write pass used the plan
    assert counts(again) == (0, len(rows), 0)
    assert head(world) == size
    verify_ledger(world.path)


# -- the key registry is read once per key ----------------------------------------------------


def test_an_import_reads_the_key_registry_once_per_key_not_once_per_row(
    world: World, tmp_path: Path
) -> None:
    registry_reads = []
    get = ledger_of(world.bank).repository.get

    def counted_get(aggregate_id: UUID, **kwargs: Any) -> Any:
        aggregate = get(aggregate_id, **kwargs)
        if type(aggregate).__name__ == "KeyRegistry":
            registry_reads.append(aggregate_id)
        return aggregate

    file = results_file(tmp_path, [f"L{i}" for i in range(1, 6)])
    with patch.object(ledger_of(world.bank).repository, "get", counted_get):
        report = import_file(world.bank, file, signer=world.gzcc, today=TODAY)
    assert report.written == 5
    assert len(registry_reads) <= 1


def test_an_unknown_key_is_not_remembered_as_unknown(world: World) -> None:
    from creditledger.crypto.keys import SigningKey
    from creditledger.errors import NotFoundError

    newcomer = SigningKey.generate()
    with pytest.raises(NotFoundError):
        world.bank.principal_of(newcomer)
    world.bank.register_key("LNPC", newcomer.public_key, root_key=world.root)
    assert world.bank.principal_of(newcomer) == "LNPC"
    world.bank.revoke_key(newcomer.key_id, root_key=world.root)
    assert world.bank.principal_of(newcomer.key_id) == "LNPC"  # revocation keeps the entry


def test_a_chunk_run_again_is_retried_when_another_writer_commits_to_its_learner_first(
    world: World, template: World, tmp_path: Path
) -> None:
    """The re-run's own commit is refused (the learner's account moved between its read and its
    commit): nothing of it is written, and the chunk runs once more on top of the other event."""
    file = results_file(tmp_path, ["L1", "L2"])
    size = head(world)
    calls = [0]
    apply = batch._apply
    race = other_result(world, template, "L1", "KJ2103", 91)

    def racing(*args: Any) -> None:
        calls[0] += 1
        apply(*args)
        if calls[0] == 3:  # the write pass's first row (after the dry run's two)
            race()

    with plan_unusable(), patch.object(batch, "_apply", racing):
        report = import_file(world.bank, file, signer=world.gzcc, commit_size=2, today=TODAY)
    assert calls[0] == 2 + 2 + 2  # the dry run, the refused attempt, the retry
    assert counts(report) == (2, 0, 1)
    assert head(world) == size + 2 + 4  # the other writer's commit, then the chunk once
    assert world.bank.account("L1").version == 3
    assert world.bank.balances("L1")[Category.MAJOR_CORE] == Decimal("4.00")
    assert world.bank.balances("L1")[Category.MAJOR_BASIC] == Decimal("4.00")
    verify_ledger(world.path)
