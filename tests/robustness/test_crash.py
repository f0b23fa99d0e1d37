"""kill -9 in the middle of a batch import, on both backends; then restart and import again.

A child process imports a file of achievements in many commits and reports each commit that
returned (the rows written so far and the ledger's last position). The test kills it with
SIGKILL in the middle of the write pass, after KILL_AFTER commits returned, while its next
commit is provably inside its transaction, its event rows inserted: a trigger on
``ledger_commits`` holds that commit up (on SQLite it computes for most of a second, on
PostgreSQL it waits for a lock the test holds); on PostgreSQL its server connection is ended
there too (else the server would finish what the dead writer had already sent). Then it checks
what a restarted school system would find: the ledger verifies, every commit that returned is
there, nothing of the interrupted commit is (it never reached ``COMMIT``), and importing the
same file again completes the import exactly once, counting what was already there as
unchanged.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from creditledger.domain import Category, achievement_id, learning_record_key
from creditledger.services.bank import CreditBank
from creditledger.services.batch import import_file
from tests.services.bank.fixtures import KEK

from .ledgers import (
    TODAY,
    TRAINING_CREDITS,
    check_chain,
    is_postgres,
    load_key,
    make_bank,
    query,
    verifies,
    wait_gone,
)
from .workers import run_import, worker_context

LEARNERS, EACH, COMMIT_SIZE = 40, 10, 20  # 400 rows, 20 commits of 40 events
SOAK_EACH = 100  # 4000 rows, 200 commits
KILL_AFTER = 7  # commits returned before the kill
EVENTS_PER_ROW = 2  # the achievement, and the learner's account credited


@dataclass(frozen=True)
class Import:
    """A prepared bank and the file to import into it."""

    target: str
    rows: Path
    setup_events: int
    setup_commits: int
    total_rows: int


def learner_ids() -> list[str]:
    return [f"L{n:04}" for n in range(LEARNERS)]


def row(learner: str, n: int) -> dict[str, Any]:
    return {"kind": "training_record", "learner_id": learner, "title": "职业技能培训",
            "reference": f"T{n:03}-{learner}", "completed_on": "2022-03-15",
            "method": "conversion", "credits": str(TRAINING_CREDITS),
            "category": "major_elective", "rule_id": "conversion/training-hours",
            "rule_version": 1, "hours": 8, "evidence_description": "培训记录"}


def prepare(target: str | Path, folder: Path, each: int) -> Import:
    """A bank with the learners, and a JSON Lines file of ``each`` records per learner."""
    bank, _ = make_bank(target, folder, learner_ids())
    bank.close()
    rows = [row(learner, n) for n in range(each) for learner in learner_ids()]
    path = folder / "achievements.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    chain = check_chain(target)
    return Import(str(target), path, chain.events, chain.commits, len(rows))


def imported_content(target: str | Path, after: int) -> set[tuple[str, int, str]]:
    """What the import wrote: (aggregate, version, event topic) of each event after ``after``.
    Ids are derived from natural keys, so two ledgers with the same rows have the same."""
    return {(str(oid), int(version), str(topic)) for oid, version, topic in query(
        target, f"SELECT originator_id, originator_version, topic FROM stored_events "
                f"WHERE position > {int(after)}")}


@pytest.fixture(scope="module")
def clean_import(tmp_path_factory: pytest.TempPathFactory,
                 pytestconfig: pytest.Config) -> set[tuple[str, int, str]]:
    """The content of the same import, run once without interruption (on a SQLite file)."""
    folder = tmp_path_factory.mktemp("clean")
    job = prepare(folder / "clean.ledger", folder, each_row_count(pytestconfig))
    bank = CreditBank.open(job.target, kek=KEK)
    try:
        report = import_file(bank, job.rows, signer=load_key(folder / "school.pem"),
                             record_type="achievement", commit_size=COMMIT_SIZE, today=TODAY)
    finally:
        bank.close()
    assert (report.written, report.unchanged) == (job.total_rows, 0)
    return imported_content(job.target, job.setup_events)


def each_row_count(config: pytest.Config) -> int:
    return SOAK_EACH if config.getoption("--soak") else EACH


def read_reports(path: Path) -> list[tuple[int, int]]:
    """The commits the child saw return: (rows written so far, the ledger's last position)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(int(rows), int(head)) for rows, head in
            (line.split() for line in lines if line[:1].isdigit())]


def wait_for_commits(path: Path, n: int, child: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(read_reports(path)) < n:
        assert child.is_alive(), "the import ended before it was killed"
        assert time.monotonic() < deadline, f"fewer than {n} commits in {timeout} s"
        time.sleep(0.002)


SPIN_ROWS = 5000
"""SQLite: a trigger counts SPIN_ROWS² rows before a commit row is inserted (most of a second),
so that the commit spends that long inside its transaction, its event rows written."""


@contextmanager
def slow_commit_rows(path: str, after: int) -> Iterator[sqlite3.Connection]:
    """SQLite: make inserting the commit rows after commit number ``after`` slow (a trigger).

    Yields a connection to probe the write lock with. The trigger and its table are dropped on
    the way out, so the ledger is as before (the probe waits for the write lock to do that).
    """
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE robustness_spin (n INTEGER)")
        conn.executemany("INSERT INTO robustness_spin VALUES (?)", [(n,) for n in range(SPIN_ROWS)])
        conn.execute("CREATE TRIGGER robustness_slow_commit BEFORE INSERT ON ledger_commits "
                     f"WHEN NEW.seq > {int(after)} "
                     "BEGIN SELECT count(*) FROM robustness_spin a, robustness_spin b; END")
        conn.execute("COMMIT")
        yield conn
    finally:
        conn.execute("DROP TRIGGER IF EXISTS robustness_slow_commit")
        conn.execute("DROP TABLE IF EXISTS robustness_spin")
        conn.close()


@contextmanager
def held_commit_rows(target: str, after: int) -> Iterator[tuple[Any, int]]:
    """PostgreSQL: make the commits after number ``after`` wait inside their transaction,
    their event rows inserted, before their commit row: a trigger waits for an advisory lock
    held here. Yields the holding connection (to watch with) and the lock's key."""
    import psycopg

    key = random.randrange(1, 2**31)
    base, _, schema = target.partition("?schema=")
    conn = psycopg.connect(base, autocommit=True, options=f"-c search_path={schema}")
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        conn.execute("CREATE FUNCTION robustness_hold() RETURNS trigger LANGUAGE plpgsql AS "
                     f"$$BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NEW; END$$")
        conn.execute("CREATE TRIGGER robustness_hold BEFORE INSERT ON ledger_commits FOR EACH ROW "
                     f"WHEN (NEW.seq > {int(after)}) EXECUTE FUNCTION robustness_hold()")
        yield conn, key
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        conn.execute("DROP TRIGGER IF EXISTS robustness_hold ON ledger_commits")
        conn.execute("DROP FUNCTION IF EXISTS robustness_hold()")
        conn.close()


def waiting_for(watcher: Any, key: int, child: Any, timeout: float = 60) -> int:
    """PostgreSQL: the server process id of the writer waiting for the advisory lock ``key``."""
    deadline = time.monotonic() + timeout
    while True:
        found = watcher.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = 0 AND objid = %s::oid AND objsubid = 1", (key,)).fetchone()
        if found:
            return int(found[0])
        assert child.is_alive(), "the import ended before it was killed"
        assert time.monotonic() < deadline, "no commit got to its commit row"
        time.sleep(0.005)


def wait_inside_a_write(probe: sqlite3.Connection, child: Any, timeout: float = 60) -> None:
    """SQLite: wait until another connection holds the write lock (is inside a commit)."""
    probe.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            assert "locked" in str(e), e
            probe.execute("PRAGMA busy_timeout = 30000")
            return
        probe.execute("ROLLBACK")
        assert child.is_alive(), "the import ended before it was killed"
        assert time.monotonic() < deadline, "no commit began"
        time.sleep(0.002)


def kill_in_the_write_pass(job: Import, folder: Path) -> tuple[list[tuple[int, int]], str]:
    """Run the import in a child process and SIGKILL it after KILL_AFTER commits returned,
    inside the transaction of its next commit, after its event rows were inserted. Return the
    commits that returned, and how the kill landed."""
    reports = folder / "reports.txt"
    ctx = worker_context()
    child = ctx.Process(target=run_import, args=(job.target, str(folder / "school.pem"),
                                                 str(job.rows), COMMIT_SIZE, str(reports)))
    after = job.setup_commits + KILL_AFTER  # the commits after this one are held up
    with ExitStack() as stack:
        if is_postgres(job.target):
            watcher, key = stack.enter_context(held_commit_rows(job.target, after))
        else:
            probe = stack.enter_context(slow_commit_rows(job.target, after))
        child.start()
        stack.callback(child.join, 30)
        stack.callback(lambda: child.kill() if child.is_alive() else None)
        wait_for_commits(reports, KILL_AFTER, child)
        assert child.pid is not None
        if is_postgres(job.target):
            pid = waiting_for(watcher, key, child)
            os.kill(child.pid, signal.SIGKILL)
            child.join(30)
            # The server would still run what the dead writer had sent (in pipeline mode, its
            # whole commit); end its connection too, before its COMMIT ran.
            watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))
            wait_gone(watcher, pid)
            landed = "and its server connection ended, before its commit row"
        else:
            wait_inside_a_write(probe, child)  # the slow commit has begun
            time.sleep(0.1)  # its event rows are in; the commit row's trigger is running
            os.kill(child.pid, signal.SIGKILL)
            child.join(30)
            landed = "while inserting its commit row"
    assert child.exitcode == -signal.SIGKILL
    return read_reports(reports), landed


def test_kill_9_mid_import_keeps_every_returned_commit_and_no_part_of_the_interrupted_one(
    ledger_target: Any, tmp_path: Path, pytestconfig: pytest.Config,
    clean_import: set[tuple[str, int, str]],
) -> None:
    job = prepare(ledger_target, tmp_path, each_row_count(pytestconfig))
    returned, landed = kill_in_the_write_pass(job, tmp_path)
    assert len(returned) == KILL_AFTER
    rows_returned, head_returned = returned[-1]
    assert rows_returned < job.total_rows, "killed before the import could finish"

    # What a restarted system finds: one intact chain ...
    chain = check_chain(job.target)
    verifies(job.target)
    # ... holding every commit that returned, each whole ...
    assert [head for _, head in returned] == [
        job.setup_events + EVENTS_PER_ROW * rows for rows, _ in returned]
    present = {oid for (oid,) in query(job.target, "SELECT DISTINCT originator_id "
                                                   "FROM stored_events")}
    returned_rows = [row(learner, n) for n in range(each_row_count(pytestconfig))
                     for learner in learner_ids()][:rows_returned]
    assert all(_achievement(r) in present for r in returned_rows)
    # ... and nothing of the interrupted commit, which never reached COMMIT: neither event
    # rows nor a commit row.
    assert chain.events == head_returned, (
        f"{chain.events - head_returned} events of the interrupted commit are visible")
    assert chain.commits == job.setup_commits + len(returned)
    assert chain.commit_sizes[job.setup_commits:] == (EVENTS_PER_ROW * COMMIT_SIZE,) * len(
        returned)
    print(f"killed {landed}: {len(returned)} commits had returned")

    # Restart: the same file again completes the import, exactly once.
    bank = CreditBank.open(job.target, kek=KEK)
    try:
        again = import_file(bank, job.rows, signer=load_key(tmp_path / "school.pem"),
                            record_type="achievement", commit_size=COMMIT_SIZE, today=TODAY)
        assert (again.written, again.unchanged, again.rejected) == (
            job.total_rows - rows_returned, rows_returned, [])
        per_learner = each_row_count(pytestconfig) * TRAINING_CREDITS
        assert {bank.balances(lid)[Category.MAJOR_ELECTIVE] for lid in learner_ids()} == {
            per_learner}
    finally:
        bank.close()
    assert imported_content(job.target, job.setup_events) == clean_import
    final = check_chain(job.target)
    assert final.events == job.setup_events + EVENTS_PER_ROW * job.total_rows
    verifies(job.target)


def _achievement(r: dict[str, Any]) -> str:
    """The stored id (hex) of the achievement a row records (GZCC imports it)."""
    return achievement_id(learning_record_key(r["learner_id"], "GZCC", r["reference"])).hex
