"""What an import reports, and how often: a problem of the whole file (its header, its key) once,
before any row; a problem of a row with its line and column, in words; a duplicate with both
lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.errors import ImportRejectedError, NotFoundError, ValidationError
from creditledger.services import batch
from creditledger.services.batch import import_file
from creditledger.services.batch_rows import columns_of
from tests.services.bank.fixtures import TODAY, World

from .files import (
    LEARNER_COLUMNS,
    RESULT_COLUMNS,
    learner,
    result,
    write_csv,
    write_json,
    write_xlsx,
)


def rejected(world: World, path: Path, **options: Any) -> list[tuple[int, str, str]]:
    before = world.size()
    with pytest.raises(ImportRejectedError) as caught:
        import_file(world.bank, path, signer=world.gzcc, today=TODAY, **options)
    assert world.size() == before
    return [(r.line, r.field, r.problem) for r in caught.value.report.rejected]


# -- once for the file ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_wrong_header_is_reported_once_listing_the_expected_columns(
    world: World, tmp_path: Path, suffix: str
) -> None:
    columns = ["learner_id", "learner_typ", "name", "programme_code"]
    rows = [learner(f"N{i}") for i in range(50)]
    path = (write_csv(tmp_path / "l.csv", columns, rows) if suffix == ".csv"
            else write_xlsx(tmp_path / "l.xlsx", columns, rows))
    before = world.size()
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY)
    error = caught.value
    assert not isinstance(error, ImportRejectedError)  # one error for the file, not 50 rows
    assert error.field == "header"
    assert "unknown column 'learner_typ'" in error.problem
    assert "missing column 'learner_type'" in error.problem
    assert ", ".join(columns_of("learner")) in error.problem
    assert world.size() == before


def test_a_header_with_a_repeated_or_unnamed_column_is_refused(world: World,
                                                               tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", ["learner_id", "name", "", "name", "learner_type"],
                     [["N1", "a", "x", "b", "student"]])
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY)
    assert caught.value.field == "header"
    assert "column 3 has no name" in caught.value.problem
    assert "'name' appears 2 times" in caught.value.problem


def test_a_csv_with_a_type_column_may_hold_learners_and_their_results(
    world: World, tmp_path: Path
) -> None:
    columns = ["type", *LEARNER_COLUMNS, *RESULT_COLUMNS[2:], "kind"]
    rows = [["learner", *learner("N1"), "", "", "", "", ""],
            ["achievement", "N1", "", "", "", "KJ1101", "2021-2022-1", "75", "成绩单",
             "course_result"]]
    path = write_csv(tmp_path / "mixed.csv", columns, rows)
    report = import_file(world.bank, path, signer=world.gzcc, today=TODAY)
    assert report.written == 2


def test_a_table_without_a_record_type_is_refused_once(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner(f"N{i}") for i in range(9)])
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, path, signer=world.gzcc, today=TODAY)
    assert caught.value.field == "record_type" and "--type" in caught.value.problem


def test_an_unknown_record_type_is_refused_once(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner("N1")])
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, path, signer=world.gzcc, record_type="learners", today=TODAY)
    assert caught.value.field == "record_type" and "'learners'" in caught.value.problem


def test_an_unknown_signing_key_is_reported_once_before_any_row_runs(
    world: World, tmp_path: Path
) -> None:
    stranger = SigningKey.generate()
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner(f"N{i}") for i in range(20)])
    before = world.size()
    with patch.object(batch, "_apply") as apply, pytest.raises(NotFoundError) as caught:
        import_file(world.bank, path, signer=stranger, record_type="learner", today=TODAY)
    assert apply.call_count == 0
    assert caught.value.field == "signer" and stranger.key_id in str(caught.value)
    assert world.size() == before


def test_the_root_key_is_refused_once_as_no_institution_s_key(world: World,
                                                              tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner(f"N{i}") for i in range(5)])
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, path, signer=world.root, record_type="learner", today=TODAY)
    assert caught.value.field == "signer" and "not an institution" in caught.value.problem


# -- duplicates ----------------------------------------------------------------------------------


def test_a_learner_twice_with_different_values_is_named_a_duplicate_with_both_lines(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS,
                     [learner("N1", "陈晓敏"), learner("N2"), learner("N1", "陈小敏")])
    ((line, field, problem),) = rejected(world, path, record_type="learner")
    assert (line, field) == (4, "learner_id")
    assert problem.startswith("duplicate: line 2 of this file has the same learner_id N1")
    assert problem.endswith("with a different name")


def test_a_course_result_twice_with_different_scores_is_named_a_duplicate(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS,
                     [result("S1", "80"), result("S2"), result("S1", "85")])
    ((line, field, problem),) = rejected(world, path, record_type="achievement")
    assert (line, field) == (4, "term")
    assert "duplicate: line 2 of this file" in problem and "different score" in problem


def test_a_row_repeated_exactly_is_no_duplicate_but_the_same_thing_once(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "l.csv", LEARNER_COLUMNS, [learner("N1"), learner("N1")])
    report = import_file(world.bank, path, signer=world.gzcc, record_type="learner",
                         today=TODAY)
    assert (report.written, report.unchanged, report.rejected) == (1, 1, [])


# -- every row problem in words ------------------------------------------------------------------

LIBRARY_TALK = re.compile(r"[$`]|Expected|msgspec|Traceback|object at 0x")


def test_every_row_problem_names_its_column_and_says_what_is_wrong_in_words(
    world: World, tmp_path: Path
) -> None:
    base = {"type": "achievement", "kind": "training_record", "learner_id": "S1",
            "title": "培训", "reference": "T-1", "completed_on": "2022-06-30",
            "method": "matching", "credits": "1.5", "category": "major_elective",
            "rule_id": "training/GZCC", "rule_version": 1, "evidence_description": "证明"}
    cases = {
        "learner_id": {"learner_id": 2021001},
        "rule_version": {"rule_version": "one"},
        "credits": {"credits": "one and a half"},
        "completed_on": {"completed_on": "30/06/2022"},
        "hours": {"hours": "3.5"},
        "nickname": {"nickname": "小明"},
        "evidence_description": {"evidence_description": None},
        "title": {"title": ["a", "list"]},
    }
    items: list[Any] = [{**base, "reference": f"T-{n}", **change}
                        for n, change in enumerate(cases.values())]
    items.append({**base, "completed_on": "2022-02-30", "reference": "T-x"})
    items.append("not an object")
    items.append({**base, "type": "learnr"})
    problems = rejected(world, write_json(tmp_path / "bad.json", items))
    assert [field for _, field, _ in problems] == [*cases, "completed_on", "row", "type"]
    for line, field, problem in problems:
        assert not LIBRARY_TALK.search(problem), (line, field, problem)
        assert len(problem.split()) >= 2, problem
    said = {field: problem for _, field, problem in problems}
    assert said["learner_id"] == "must be text (in quotes), not the number 2021001"
    assert said["rule_version"] == "must be a whole number, not 'one'"
    assert said["completed_on"] == "'2022-02-30' is not a day of the calendar"
    assert said["nickname"].startswith("is not a column of an achievement record (its columns:")
    assert said["evidence_description"] == "is required"


def test_a_score_that_is_not_a_number_is_said_so_with_the_cell(world: World,
                                                              tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, [result("S1", "八十")])
    ((line, field, problem),) = rejected(world, path, record_type="achievement")
    assert (line, field, problem) == (2, "score", "must be a number such as 88.5, not '八十'")


def test_an_unknown_course_is_named_with_its_column(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, [result("S1", course="NOPE")])
    ((line, field, problem),) = rejected(world, path, record_type="achievement")
    assert (line, field) == (2, "course_code")
    assert problem.startswith("unknown course") and "NOPE" in problem
    assert not problem.startswith("course_code:")
