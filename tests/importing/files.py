"""Files to import, written the way a school's tools write them: CSV in an encoding, Excel
workbooks (openpyxl), JSON; and the rows of the facade world (tests/services/bank/fixtures)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl

LEARNER_COLUMNS = ["learner_id", "learner_type", "name", "programme_code"]
RESULT_COLUMNS = ["kind", "learner_id", "course_code", "term", "score", "evidence_description"]


def learner(learner_id: str, name: str = "黄志强") -> list[str]:
    return [learner_id, "student", name, "530302"]


def result(learner_id: str, score: str = "88", course: str = "KJ1101") -> list[str]:
    return ["course_result", learner_id, course, "2021-2022-1", score, "成绩单"]


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, columns: list[str], rows: list[list[Any]], *,
              encoding: str = "utf-8") -> Path:
    path.write_bytes(csv_text(columns, rows).encode(encoding))
    return path


def write_xlsx(path: Path, columns: list[Any], rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path
