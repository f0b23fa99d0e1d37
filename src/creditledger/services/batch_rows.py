"""The rows a batch import reads (数据批处理): their types, the file formats, and the report.

Files are UTF-8 (a BOM is accepted), with Chinese names as they are. A CSV file holds one record
type (``record_type`` argument or a ``type`` column); a JSON file is an array of objects and a
``.jsonl`` file one object per line, each with a ``type`` unless ``record_type`` is given. The
columns are the fields of :class:`LearnerRow`, :class:`CourseRow`, :class:`CertificateRow` and
:class:`AchievementRow`; list fields (``programmes``, ``levels``, ``majors``) are separated by
``;``. Empty cells mean "not given".
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from creditledger.errors import ValidationError

RECORD_TYPES = ("learner", "course", "certificate", "achievement")


class LearnerRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A learner account: ``learner_type`` is ``student`` (needs ``programme_code``) or
    ``society_member``. ``name`` and the id document are personal data."""

    learner_id: str
    learner_type: str
    name: str
    id_document_type: str | None = None
    id_document_number: str | None = None
    contact: str | None = None
    programme_code: str | None = None


class CourseRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A course of the importing school; ``programmes`` lists programme codes (``;``)."""

    code: str
    name: str
    category: str
    nature: str
    course_type: str
    attribute: str
    theory_hours: int
    practice_hours: int
    difficulty: Decimal
    assessment_method: str
    pass_mark: Decimal = Decimal(60)
    programmes: str = ""


class CertificateRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A certificate of the importing training & evaluation organisation."""

    code: str
    name: str
    levels: str
    name_en: str = ""
    majors: str = ""


class AchievementRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An achievement. By ``kind``:

    - ``course_result``: ``course_code``, ``term``, ``score`` (and ``course_owner``);
    - ``x_certificate``: ``certificate_code``, ``number``, ``level``, ``issued_on``,
      ``expires_on``, ``credits``, ``category``, ``rule_id``, ``rule_version``;
    - ``training_record`` / ``online_course`` / ``qualification_certificate`` / ``diploma``:
      ``title``, ``reference``, ``completed_on``, ``method``, ``credits``, ``category``,
      ``rule_id``, ``rule_version``, ``hours``, ``score``.

    Every kind takes ``evidence_description`` (and ``evidence_reference``,
    ``evidence_sha256``) and an optional ``recognised_on`` date (default: today).
    """

    kind: str
    learner_id: str
    evidence_description: str
    evidence_reference: str | None = None
    evidence_sha256: str | None = None
    recognised_on: date | None = None
    course_code: str | None = None
    course_owner: str | None = None
    term: str | None = None
    score: Decimal | None = None
    certificate_code: str | None = None
    number: str | None = None
    level: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    credits: Decimal | None = None
    category: str | None = None
    rule_id: str | None = None
    rule_version: int | None = None
    title: str | None = None
    reference: str | None = None
    completed_on: date | None = None
    method: str | None = None
    hours: int | None = None


ROW_TYPES: dict[str, type[msgspec.Struct]] = {
    "learner": LearnerRow, "course": CourseRow, "certificate": CertificateRow,
    "achievement": AchievementRow,
}


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    """A bad row: where (line), which field, what is wrong, and the row as read."""

    line: int
    field: str
    problem: str
    row: dict[str, Any]


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import did. ``written`` rows changed the ledger; ``unchanged`` were already there."""

    rows: int = 0
    written: int = 0
    unchanged: int = 0
    rejected: list[RowError] = msgspec.field(default_factory=list)
    commits: int = 0
    rejects_file: str | None = None




@dataclass
class Row:
    """One row of a file: its line, record type, raw cells and (once parsed) its value."""

    line: int
    type: str
    raw: dict[str, Any]
    parsed: Any = field(default=None)


# -- reading -------------------------------------------------------------------------------------


def read_rows(path: str | Path, record_type: str | None = None) -> list[Row]:
    """Read a CSV, JSON or JSON Lines file into rows with their line numbers."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError("file", f"cannot read {path} as UTF-8: {e}") from e
    if p.suffix.lower() == ".json":
        items = _decode_json(text)
        rows = [(i, item) for i, item in enumerate(items, start=1)]
    elif p.suffix.lower() == ".jsonl":
        rows = [(n, _decode_json(line)) for n, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    else:
        reader = csv.DictReader(text.splitlines())
        rows = [(reader.line_num, dict(r)) for r in reader]
    return [_row(line, item, record_type) for line, item in rows]


def _decode_json(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as e:
        raise ValidationError("file", f"not valid JSON: {e}") from e


def _row(line: int, item: Any, record_type: str | None) -> Row:
    if not isinstance(item, dict):
        return Row(line, "?", {"value": item})
    raw = {k: v for k, v in item.items() if v not in ("", None)}
    kind = str(raw.pop("type", record_type or ""))
    return Row(line, record_type or kind, raw)


def parse(row: Row) -> Any:
    cls = ROW_TYPES.get(row.type)
    if cls is None:
        raise ValidationError("type", f"unknown record type {row.type!r}; one of {RECORD_TYPES}")
    try:
        return msgspec.convert(row.raw, type=cls, strict=False)
    except msgspec.ValidationError as e:
        raise _field_error(str(e)) from None


def _field_error(message: str) -> ValidationError:
    """Turn msgspec's "… - at `$.field`" into a ValidationError naming the field."""
    m = re.search(r"at `\$\.([^`\[]+)", message)
    field_name = m.group(1) if m else "row"
    problem = re.sub(r"\s*-\s*at `[^`]*`", "", message)
    missing = re.search(r"missing required field `([^`]+)`", message)
    if missing:
        field_name, problem = missing.group(1), "is required"
    unknown = re.search(r"unknown field `([^`]+)`", message)
    if unknown:
        field_name, problem = unknown.group(1), "is not a column of this record type"
    return ValidationError(field_name, problem)


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def write_rejects(path: str | Path, rejected: Sequence[RowError]) -> None:
    """Write the bad rows to a CSV: line, field, problem, then the row's own columns."""
    columns: dict[str, None] = {}
    for r in rejected:
        columns.update(dict.fromkeys(r.row))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["line", "field", "problem", *columns])
        writer.writeheader()
        for r in rejected:
            writer.writerow({"line": r.line, "field": r.field, "problem": r.problem, **r.row})
