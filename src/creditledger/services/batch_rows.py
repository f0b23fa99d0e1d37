"""The rows a batch import reads (数据批处理): their types, how a row's cells become values,
and the report.

The columns are the fields of :class:`LearnerRow`, :class:`CourseRow`, :class:`CertificateRow`
and :class:`AchievementRow`; list fields (``programmes``, ``levels``, ``majors``) are separated
by ``;``. Empty cells mean "not given". Every cell is converted here, by its field's type, with
each problem said in words and naming its column (text, a whole number, a number read as a
``Decimal`` from its text, or a ``YYYY-MM-DD`` date). Reading the files (CSV, JSON, JSON Lines,
Excel; encodings) is :mod:`creditledger.services.batch_files`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_args

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


def columns_of(record_type: str) -> list[str]:
    """The columns of a record type, in the order of its fields."""
    return [f.name for f in msgspec.structs.fields(ROW_TYPES[record_type])]


def required_columns_of(record_type: str) -> list[str]:
    """The columns every row of a record type must fill."""
    return [f.name for f in msgspec.structs.fields(ROW_TYPES[record_type]) if f.required]


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
    """One row of a file: its line, record type, raw cells, (once parsed) its value, and a
    problem found while reading it (``(field, problem)``), reported as the row's error."""

    line: int
    type: str
    raw: dict[str, Any]
    parsed: Any = field(default=None)
    problem: tuple[str, str] | None = field(default=None)


# -- parsing: each cell to its field's type, every problem in words ------------------------------


def parse(row: Row) -> Any:
    """The row as its record type (:class:`ValidationError` naming the column otherwise)."""
    if row.problem is not None:
        raise ValidationError(*row.problem)
    cls = ROW_TYPES.get(row.type)
    if not row.type:
        raise ValidationError("type", f"is required (one of {', '.join(RECORD_TYPES)}), "
                                      "unless the import names the record type")
    if cls is None:
        raise ValidationError("type", f"unknown record type {quoted(row.type)}; one of "
                                      f"{', '.join(RECORD_TYPES)}")
    fields = _FIELDS[row.type]
    values = {}
    for name, value in row.raw.items():
        kind = fields.get(name)
        if kind is None:
            article = "an" if row.type[0] in "aeiou" else "a"
            raise ValidationError(str(name), f"is not a column of {article} {row.type} record "
                                             f"(its columns: {', '.join(columns_of(row.type))})")
        values[name] = _CONVERT[kind](name, value)
    for name in _REQUIRED[row.type]:
        if name not in values:
            raise ValidationError(name, "is required")
    return cls(**values)


def _field_kinds(cls: type[msgspec.Struct]) -> dict[str, type]:
    """Each field's type, without ``| None``."""
    kinds = {}
    for f in msgspec.structs.fields(cls):
        args = [a for a in get_args(f.type) if a is not type(None)] or [f.type]
        kinds[f.name] = args[0]
    return kinds


_FIELDS = {name: _field_kinds(cls) for name, cls in ROW_TYPES.items()}
_REQUIRED = {name: required_columns_of(name) for name in ROW_TYPES}
_WHOLE = re.compile(r"[+-]?\d{1,18}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def quoted(value: Any, limit: int = 40) -> str:
    """A cell's value as a message shows it: quoted text (cut at ``limit``), or in words."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "…"
        return f"'{text}'"
    if isinstance(value, bool):
        return f"the JSON value {str(value).lower()}"
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValidationError(name, f"must be text (in quotes), not {quoted(value)}")


def _whole(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip())
    raise ValidationError(name, f"must be a whole number, not {quoted(value)}")


def _number(name: str, value: Any) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        number = Decimal(str(value))  # the shortest text that reads back as this float
    elif isinstance(value, str) and len(value) <= 100:
        with suppress(InvalidOperation):
            number = Decimal(value.strip())
    if number is None or not number.is_finite():
        raise ValidationError(name, f"must be a number such as 88.5, not {quoted(value)}")
    return number


def _date(name: str, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(name, f"{quoted(value)} is not a day of the calendar"
                                  ) from None
    raise ValidationError(name, f"must be a date written YYYY-MM-DD, not {quoted(value)}")


_CONVERT: dict[type, Callable[[str, Any], Any]] = {
    str: _text, int: _whole, Decimal: _number, date: _date,
}


# -- one thing twice in one file -----------------------------------------------------------------

_KEYS: dict[str, tuple[str, ...]] = {
    "learner": ("learner_id",), "course": ("code",), "certificate": ("code",),
    "course_result": ("learner_id", "course_owner", "course_code", "term"),
    "x_certificate": ("number",), "qualification_certificate": ("reference",),
    "diploma": ("reference",), "training_record": ("learner_id", "reference"),
    "online_course": ("learner_id", "reference"),
}
"""The columns that name the one thing a row records (its natural key, for the signer's
institution). Certificates and qualification certificates share their numbers."""

_KEY_KIND = {"qualification_certificate": "x_certificate", "online_course": "training_record"}


def row_key(row: Row) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """What the row records: its kind and its key's (column, value) pairs (``None`` if the row
    names no kind it can have)."""
    kind = row.type
    if kind == "achievement":
        kind = str(row.raw.get("kind", ""))
    columns = _KEYS.get(kind)
    if columns is None:
        return None
    return _KEY_KIND.get(kind, kind), tuple((c, str(row.raw.get(c, ""))) for c in columns)


def differing(first: Row, other: Row) -> list[str]:
    """The columns whose cells differ between two rows (in the order of the second)."""
    names = dict.fromkeys([*other.raw, *first.raw])
    return [n for n in names if first.raw.get(n) != other.raw.get(n)]


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def write_rejects(path: str | Path, rejected: Sequence[RowError]) -> None:
    """Write the bad rows to a CSV (UTF-8): line, field, problem, then the row's own columns."""
    columns: dict[str, None] = {}
    for r in rejected:
        columns.update(dict.fromkeys(r.row))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["line", "field", "problem", *columns])
        writer.writeheader()
        for r in rejected:
            writer.writerow({"line": r.line, "field": r.field, "problem": r.problem, **r.row})
