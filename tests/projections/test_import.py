"""Batch import (数据批处理): validate every row first, all-or-nothing, rejects, idempotent."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from creditledger.audit.verify import verify_ledger
from creditledger.domain import Category
from creditledger.errors import ImportRejectedError, ValidationError
from creditledger.services.batch import import_file
from tests.cli.running import kek_file
from tests.services.bank.fixtures import TODAY, World, make_world


@pytest.fixture()
def world(tmp_path: Path) -> World:
    return make_world(tmp_path / "bank.ledger")


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def learners(n: int) -> list[dict[str, str]]:
    return [{"learner_id": f"L{i:03}", "learner_type": "student", "name": f"学生{i}",
             "programme_code": "530302"} for i in range(n)]


def results(n: int, **override: str) -> list[dict[str, str]]:
    rows = [{"kind": "course_result", "learner_id": f"L{i:03}", "course_code": "KJ1101",
             "term": "2021-2022-1", "score": str(60 + i % 40),
             "evidence_description": "成绩单"} for i in range(n)]
    for row in rows:
        row.update(override)
    return rows


def test_learners_then_results_import_and_verify(world: World, tmp_path: Path) -> None:
    a = import_file(world.bank, write_csv(tmp_path / "l.csv", learners(30)), signer=world.gzcc,
                    record_type="learner", commit_size=7, today=TODAY)
    assert (a.written, a.unchanged, a.commits) == (30, 0, 5)
    b = import_file(world.bank, write_csv(tmp_path / "r.csv", results(30)), signer=world.gzcc,
                    record_type="achievement", commit_size=10, today=TODAY)
    assert (b.written, b.commits) == (30, 3)
    assert world.bank.balances("L007")[Category.MAJOR_BASIC] == Decimal("4.00")
    world.bank.close()
    verify_ledger(world.path)


def test_any_bad_row_writes_nothing_and_every_bad_row_is_reported(
    world: World, tmp_path: Path
) -> None:
    rows = results(6)
    rows[1]["score"] = "101"
    rows[3]["course_code"] = "NOPE"
    rows[4]["term"] = "someday"
    rows[5]["score"] = "eighty"
    import_file(world.bank, write_csv(tmp_path / "l.csv", learners(6)), signer=world.gzcc,
                record_type="learner", today=TODAY)
    before = world.size()
    with pytest.raises(ImportRejectedError) as caught:
        import_file(world.bank, write_csv(tmp_path / "r.csv", rows), signer=world.gzcc,
                    record_type="achievement", today=TODAY)
    bad = [(r.line, r.field) for r in caught.value.report.rejected]
    assert bad == [(3, "score"), (5, "course_code"), (6, "term"), (7, "score")]
    assert world.size() == before


def test_skip_bad_writes_the_good_rows_and_the_rejects(world: World, tmp_path: Path) -> None:
    import_file(world.bank, write_csv(tmp_path / "l.csv", learners(4)), signer=world.gzcc,
                record_type="learner", today=TODAY)
    rows = results(4)
    rows[2]["score"] = "30"
    rejects = tmp_path / "rejects.csv"
    report = import_file(world.bank, write_csv(tmp_path / "r.csv", rows), signer=world.gzcc,
                         record_type="achievement", skip_bad=rejects, today=TODAY)
    assert report.written == 3 and len(report.rejected) == 1
    with open(rejects, encoding="utf-8") as f:
        (rejected,) = list(csv.DictReader(f))
    assert (rejected["line"], rejected["field"], rejected["learner_id"]) == ("4", "score", "L002")


def test_re_running_the_same_file_is_idempotent(world: World, tmp_path: Path) -> None:
    people = write_csv(tmp_path / "l.csv", learners(5))
    marks = write_csv(tmp_path / "r.csv", results(5))
    for path, kind in ((people, "learner"), (marks, "achievement")):
        import_file(world.bank, path, signer=world.gzcc, record_type=kind, today=TODAY)
    size = world.size()
    for path, kind in ((people, "learner"), (marks, "achievement")):
        again = import_file(world.bank, path, signer=world.gzcc, record_type=kind, today=TODAY)
        assert (again.written, again.unchanged, again.commits) == (0, 5, 0)
    assert world.size() == size


def test_a_json_file_can_hold_learners_and_their_results_in_order(
    world: World, tmp_path: Path
) -> None:
    items = [{"type": "learner", **learners(1)[0]},
             {"type": "achievement", **results(1)[0]},
             {"type": "achievement", **results(1)[0]},  # the same row twice: one achievement
             {"type": "achievement", **results(1, score="99")[0]}]  # a conflicting twin
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ImportRejectedError) as caught:
        import_file(world.bank, path, signer=world.gzcc, today=TODAY)
    assert [r.line for r in caught.value.report.rejected] == [4]
    report = import_file(world.bank, path, signer=world.gzcc, today=TODAY,
                         skip_bad=tmp_path / "bad.csv")
    assert (report.written, report.unchanged) == (2, 1)


def test_unknown_and_missing_columns_name_the_column(world: World, tmp_path: Path) -> None:
    # A wrong CSV header is one error for the file (tests/importing/), not a bad row.
    rows = [{"learner_id": "X1", "learner_type": "student", "nickname": "小明"}]
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, write_csv(tmp_path / "l.csv", rows), signer=world.gzcc,
                    record_type="learner", today=TODAY)
    assert caught.value.field == "header"
    assert "'nickname'" in caught.value.problem and "'name'" in caught.value.problem


def test_cli_import_exit_codes(world: World, tmp_path: Path) -> None:
    world.bank.close()
    key = world.gzcc.save(tmp_path / "gzcc.pem", b"pw")
    env = {**os.environ, "CREDITLEDGER_PASSPHRASE": "pw", "COLUMNS": "200",
           "CREDITLEDGER_KEK_FILE": str(kek_file())}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "creditledger", "import", str(world.path),
                               *args, "--key", str(key)], capture_output=True, text=True,
                              env=env, timeout=120)

    ok = run(str(write_csv(tmp_path / "l.csv", learners(3))), "--type", "learner")
    assert ok.returncode == 0, ok.stderr
    assert "3 written" in ok.stdout
    rows = results(3)
    rows[0]["score"] = "-5"
    bad = run(str(write_csv(tmp_path / "r.csv", rows)), "--type", "achievement")
    assert bad.returncode == 1
    assert "line 2: score" in bad.stderr and "nothing written" in bad.stderr
    missing = run(str(tmp_path / "nope.csv"), "--type", "achievement")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
