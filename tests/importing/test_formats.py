"""The files a batch import reads: Excel workbooks, CSV in UTF-8 (with or without a BOM) or
GB18030, JSON; and the files it refuses as a whole, once, in words."""

from __future__ import annotations

import codecs
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditledger.domain import achievement_id, course_result_key, learning_record_key
from creditledger.errors import ImportRejectedError, ValidationError
from creditledger.services.batch import import_file
from creditledger.services.batch_files import cell_text, read_rows
from tests.services.bank.fixtures import TODAY, World

from .files import (
    LEARNER_COLUMNS,
    RESULT_COLUMNS,
    csv_text,
    learner,
    result,
    write_csv,
    write_json,
    write_xlsx,
)


def score_of(world: World, learner_id: str, course: str = "KJ1101") -> Decimal | None:
    key = course_result_key(learner_id, "GZCC", course, "2021-2022-1")
    details = world.bank.achievement(achievement_id(key)).record.course
    assert details is not None
    return details.score


def refused(world: World, path: Path, **options: Any) -> ValidationError:
    before = world.size()
    with pytest.raises(ValidationError) as caught:
        import_file(world.bank, path, signer=world.gzcc, today=TODAY, **options)
    assert world.size() == before
    return caught.value


# -- Excel ---------------------------------------------------------------------------------------


def test_an_excel_score_cell_of_88_5_is_recorded_as_exactly_decimal_88_5(
    world: World, tmp_path: Path
) -> None:
    book = write_xlsx(tmp_path / "results.xlsx", RESULT_COLUMNS,
                      [["course_result", "S1", "KJ1101", "2021-2022-1", 88.5, "成绩单"],
                       ["course_result", "S2", "KJ1101", "2021-2022-1", 91, "成绩单"]])
    report = import_file(world.bank, book, signer=world.gzcc, record_type="achievement",
                         today=TODAY)
    assert report.written == 2
    assert score_of(world, "S1") == Decimal("88.5")
    assert str(score_of(world, "S2")) == "91"


def test_excel_date_and_number_cells_come_through_as_dates_and_exact_decimals(
    world: World, tmp_path: Path
) -> None:
    columns = ["kind", "learner_id", "title", "reference", "completed_on", "method", "credits",
               "category", "rule_id", "rule_version", "hours", "evidence_description"]
    book = write_xlsx(tmp_path / "training.xlsx", columns, [
        ["training_record", "S1", "财税培训", "T-1", date(2022, 6, 30), "matching", 1.5,
         "major_elective", "training/GZCC", 1, 16, "培训证明"],
        ["training_record", "S2", "财税培训", "T-2", datetime(2022, 6, 29), "matching", 0.1,
         "major_elective", "training/GZCC", 1, 16, "培训证明"],
    ])
    import_file(world.bank, book, signer=world.gzcc, record_type="achievement", today=TODAY)
    first = world.bank.achievement(achievement_id(learning_record_key("S1", "GZCC", "T-1")))
    second = world.bank.achievement(achievement_id(learning_record_key("S2", "GZCC", "T-2")))
    assert first.credits == Decimal("1.5") and second.credits == Decimal("0.1")
    assert first.record.learning_record is not None
    assert first.record.learning_record.completed_on == date(2022, 6, 30)
    assert second.record.learning_record is not None
    assert second.record.learning_record.completed_on == date(2022, 6, 29)


def test_an_excel_number_cell_in_a_text_column_is_its_digits(world: World,
                                                             tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "learners.xlsx", LEARNER_COLUMNS,
                      [[2021001, "student", "陈晓敏", 530302]])
    import_file(world.bank, book, signer=world.gzcc, record_type="learner", today=TODAY)
    assert world.bank.account("2021001").programme_code == "530302"


@pytest.mark.parametrize(("value", "text"), [
    (88.5, "88.5"), (0.1, "0.1"), (32.0, "32"), (1e-07, "0.0000001"), (7, "7"),
    (date(2022, 6, 30), "2022-06-30"), (datetime(2022, 6, 30), "2022-06-30"),
    (datetime(2022, 6, 30, 8, 15), "2022-06-30 08:15:00"), (None, ""), ("KJ1101", "KJ1101"),
])
def test_an_excel_cell_is_read_as_the_text_a_csv_file_would_hold(value: object,
                                                                  text: str) -> None:
    assert cell_text(value) == text


def test_an_excel_row_number_is_the_line_of_a_bad_row_and_empty_rows_are_skipped(
    world: World, tmp_path: Path
) -> None:
    book = write_xlsx(tmp_path / "results.xlsx", RESULT_COLUMNS, [
        result("S1"), [None] * 6, ["course_result", "S2", "KJ1101", "2021-2022-1", "八十",
                                   "成绩单"]])
    with pytest.raises(ImportRejectedError) as caught:
        import_file(world.bank, book, signer=world.gzcc, record_type="achievement", today=TODAY)
    (bad,) = caught.value.report.rejected
    assert (bad.line, bad.field) == (4, "score")


def test_a_file_named_xlsx_that_is_not_a_workbook_is_one_clear_error(
    world: World, tmp_path: Path
) -> None:
    fake = tmp_path / "results.xlsx"
    fake.write_text(csv_text(RESULT_COLUMNS, [result("S1")]), encoding="utf-8")
    error = refused(world, fake, record_type="achievement")
    assert error.field == "file" and "not an Excel workbook" in error.problem


def test_a_workbook_named_csv_is_named_as_a_workbook(world: World, tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "book.xlsx", LEARNER_COLUMNS, [learner("N1")])
    renamed = book.rename(tmp_path / "learners.csv")
    error = refused(world, renamed, record_type="learner")
    assert error.field == "file" and ".xlsx" in error.problem


# -- CSV encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_a_bom_and_utf16_with_its_bom_are_read(
    world: World, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS, [learner("N1", "陈晓敏")],
                     encoding=encoding)
    import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY)
    assert world.bank.account("N1").personal_data.name == "陈晓敏"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_gbk_or_gb18030_file_is_read_with_its_encoding_named(
    world: World, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS, [learner("N1", "陈晓敏")],
                     encoding="gb18030")
    import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY,
                encoding=encoding)
    assert world.bank.account("N1").personal_data.name == "陈晓敏"


def test_a_gb18030_file_read_as_utf8_is_refused_with_a_hint_to_use_gb18030(
    world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS, [learner("N1", "陈晓敏")],
                     encoding="gb18030")
    error = refused(world, path, record_type="learner")
    assert error.field == "encoding"
    assert "not UTF-8" in error.problem and "line 2" in error.problem
    assert "--encoding gb18030" in error.problem


def test_a_bom_wins_over_the_encoding_named(world: World, tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(codecs.BOM_UTF8 + csv_text(LEARNER_COLUMNS, [learner("N1", "陈晓敏")])
                     .encode("utf-8"))
    import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY,
                encoding="gb18030")
    assert world.bank.account("N1").personal_data.name == "陈晓敏"


def test_an_unknown_encoding_is_named(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS, [learner("N1")])
    error = refused(world, path, record_type="learner", encoding="klingon")
    assert error.field == "encoding" and "'klingon'" in error.problem


# -- CSV cells -----------------------------------------------------------------------------------


def test_a_line_separator_inside_a_quoted_cell_stays_in_the_cell(tmp_path: Path) -> None:
    name = "陈\u2028晓敏\u2029"
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS,
                     [learner("N1", name), learner("N2")])
    rows = read_rows(path, "learner")
    assert [(r.line, r.raw["learner_id"], r.raw["name"]) for r in rows] == [
        (2, "N1", name), (3, "N2", "黄志强")]


def test_a_row_spanning_lines_is_reported_on_the_line_it_starts(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS,
                     [learner("N1", "two\nlines"), learner("N2")])
    assert [r.line for r in read_rows(path, "learner")] == [2, 4]


def test_a_row_with_more_cells_than_the_header_is_a_bad_row(world: World,
                                                           tmp_path: Path) -> None:
    path = write_csv(tmp_path / "learners.csv", LEARNER_COLUMNS,
                     [learner("N1"), [*learner("N2"), "extra"]])
    with pytest.raises(ImportRejectedError) as caught:
        import_file(world.bank, path, signer=world.gzcc, record_type="learner", today=TODAY)
    (bad,) = caught.value.report.rejected
    assert (bad.line, bad.field) == (3, "row") and "header names 4 columns" in bad.problem


# -- whole files refused once --------------------------------------------------------------------


def test_a_json_file_holding_an_object_is_one_clear_error(world: World, tmp_path: Path) -> None:
    path = write_json(tmp_path / "learner.json",
                      {"type": "learner", "learner_id": "N1", "learner_type": "student",
                       "name": "陈晓敏", "programme_code": "530302"})
    error = refused(world, path)
    assert error.field == "file" and "one JSON object, not an array" in error.problem


def test_json_that_does_not_parse_is_located_by_line_and_column(world: World,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "learners.json"
    path.write_text('[\n  {"type": "learner",, "learner_id": "N1"}\n]', encoding="utf-8")
    error = refused(world, path)
    assert error.field == "file" and "not valid JSON at line 2, column" in error.problem


def test_a_json_score_is_read_from_its_text_as_a_decimal(world: World, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('[{"type": "achievement", "kind": "course_result", "learner_id": "S1", '
                    '"course_code": "KJ1101", "term": "2021-2022-1", "score": 88.15, '
                    '"evidence_description": "成绩单"}]', encoding="utf-8")
    import_file(world.bank, path, signer=world.gzcc, today=TODAY)
    assert str(score_of(world, "S1")) == "88.15"


@pytest.mark.parametrize(("name", "content"), [
    ("empty.csv", b""), ("blank.csv", b"\n \r\n"), ("empty.json", b""), ("empty.jsonl", b"\n"),
    ("bom-only.csv", codecs.BOM_UTF8),
])
def test_an_empty_file_is_refused_as_empty(world: World, tmp_path: Path, name: str,
                                           content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = refused(world, path, record_type="learner")
    assert error.field == "file" and "is empty" in error.problem


@pytest.mark.parametrize(("name", "content"), [
    ("header-only.csv", "learner_id,learner_type,name\n"), ("none.json", "[]"),
])
def test_a_file_without_rows_is_refused(world: World, tmp_path: Path, name: str,
                                        content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    error = refused(world, path, record_type="learner")
    assert error.field == "file" and "no rows" in error.problem


def test_an_empty_workbook_is_refused(world: World, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    error = refused(world, path, record_type="learner")
    assert error.field == "file" and "is empty" in error.problem


def test_an_old_xls_file_is_refused_with_what_to_do(world: World, tmp_path: Path) -> None:
    path = tmp_path / "learners.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    error = refused(world, path, record_type="learner")
    assert ".xlsx" in error.problem


def test_a_missing_file_is_one_clear_error(world: World, tmp_path: Path) -> None:
    error = refused(world, tmp_path / "nope.csv", record_type="learner")
    assert error.field == "file" and "No such file" in error.problem
