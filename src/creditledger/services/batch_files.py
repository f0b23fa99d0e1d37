"""The files a batch import reads (数据批处理): CSV, JSON, JSON Lines and Excel workbooks, into
rows with their line numbers.

- **CSV** (any name but those below): a header row, then one record a row. Text is UTF-8 by
  default; ``encoding`` names another (``gb18030`` for files saved by Excel on Chinese
  Windows, which GBK is a part of). A byte-order mark (UTF-8 or UTF-16) wins over
  ``encoding``. Line breaks and Unicode line separators inside a quoted cell stay in the cell.
- **JSON** (``.json``): one array of objects. **JSON Lines** (``.jsonl``): one object a line.
  Numbers are read from their text as ``Decimal`` (88.5 is exactly 88.5), never as floats.
- **Excel** (``.xlsx``, ``.xlsm``): the first worksheet, with a header in row 1; a row's line
  is its row number. A number cell is read as the shortest text of its value (88.5 stays
  88.5), a date cell as ``YYYY-MM-DD``, formulas as their last computed value.

A file as a whole that cannot be imported — unreadable, not in its encoding, empty, without
rows, a JSON object instead of an array, a header naming unknown columns or missing required
ones, no record type — raises one :class:`~creditledger.errors.ValidationError` naming
``file``, ``encoding``, ``header`` or ``record_type``: nothing is imported. A problem of one row
is that row's, reported with its line (see :func:`~creditledger.services.batch_rows.parse`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from creditledger.errors import ValidationError
from creditledger.services.batch_rows import (
    RECORD_TYPES,
    Row,
    columns_of,
    quoted,
    required_columns_of,
)

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_ZIP = b"PK\x03\x04"
_JSON = msgspec.json.Decoder(float_hook=Decimal)

Record = tuple[int, Sequence[Any]]
"""A row of a table as read: its line (or row number) and its cells."""


def read_rows(path: str | Path, record_type: str | None = None, *,
              encoding: str | None = None) -> list[Row]:
    """Read a CSV, JSON, JSON Lines or Excel file into rows with their line numbers."""
    p = Path(path)
    if record_type is not None and record_type not in RECORD_TYPES:
        raise ValidationError("record_type", f"unknown record type {quoted(record_type)}; "
                                             f"one of {', '.join(RECORD_TYPES)}")
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise ValidationError("file", f"{path}: old Excel .xls files are not read; save it as "
                                      ".xlsx (Excel Workbook) or as CSV UTF-8")
    if suffix in EXCEL_SUFFIXES:
        rows = _table(path, _workbook_records(p), record_type)
    else:
        text = decode(_read_bytes(p), encoding, path)
        if suffix == ".json":
            rows = _json_rows(path, text, record_type)
        elif suffix == ".jsonl":
            rows = _json_lines(path, text, record_type)
        else:
            rows = _table(path, _csv_records(text), record_type)
    if not rows:
        raise ValidationError("file", f"{path} has no rows to import")
    return rows


# -- bytes to text -------------------------------------------------------------------------------


def _read_bytes(p: Path) -> bytes:
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ValidationError("file", f"cannot read {p}: {e.strerror or e}") from None
    if not data.strip():
        raise ValidationError("file", f"{p} is empty: nothing to import")
    if data.startswith(_ZIP):
        raise ValidationError("file", f"{p} is an Excel workbook or another zip file, not "
                                      "text: name a workbook .xlsx to import it")
    return data


def decode(data: bytes, encoding: str | None, path: str | Path) -> str:
    """``data`` as text: by its byte-order mark if it has one, else in ``encoding`` (UTF-8 if
    not given); :class:`ValidationError` (field ``encoding``) if it is not."""
    chosen = next((name for bom, name in _BOMS if data.startswith(bom)), encoding or "utf-8")
    try:
        text = data.decode(chosen)
    except LookupError:
        raise ValidationError("encoding", f"unknown text encoding {quoted(chosen)}; for "
                                          "example utf-8 or gb18030") from None
    except UnicodeDecodeError as e:
        raise ValidationError("encoding", _not_text(data, e, chosen, path, encoding)) from None
    if not text.strip():
        raise ValidationError("file", f"{path} is empty: nothing to import")
    return text


def _not_text(data: bytes, e: UnicodeDecodeError, chosen: str, path: str | Path,
              asked: str | None) -> str:
    line = data.count(b"\n", 0, e.start) + 1
    name = "UTF-8" if chosen == "utf-8" else chosen
    where = f"{path} is not {name} text: line {line} has the byte 0x{data[e.start]:02x}"
    if asked is None:
        return (f"{where}, which UTF-8 does not allow. A file saved by Excel on Chinese "
                "Windows is usually GB18030 (GBK): import it with encoding gb18030 "
                "(--encoding gb18030), or save it as CSV UTF-8")
    return f"{where}; name the encoding it was saved in"


# -- tables: CSV and Excel -----------------------------------------------------------------------


def _csv_records(text: str) -> Iterator[Record]:
    """The CSV's rows with the line each starts on; blank rows left out. Only ``\\n``, ``\\r``
    and ``\\r\\n`` end a line (a U+2028 in a cell is part of the cell)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as e:
        raise ValidationError("file", f"line {start}: not valid CSV ({e})") from None


def _table(path: str | Path, records: Iterable[Record], record_type: str | None) -> list[Row]:
    table = list(records)
    if not table:
        raise ValidationError("file", f"{path} is empty: nothing to import")
    (_, header), body = table[0], table[1:]
    columns = _columns(header)
    types = _types(path, columns, body, record_type)
    check_header(path, columns, types)
    return [_table_row(line, columns, cells, record_type) for line, cells in body]


def _columns(header: Sequence[Any]) -> list[str]:
    columns = ["" if c is None else str(c).strip() for c in header]
    while columns and not columns[-1]:
        columns.pop()  # empty columns after the last named one (Excel keeps some)
    return columns


def _types(path: str | Path, columns: list[str], body: Sequence[Record],
           record_type: str | None) -> list[str]:
    """The record types the table's rows hold (for checking its header)."""
    if record_type is not None:
        return [record_type]
    if "type" not in columns:
        raise ValidationError("record_type", f"{path} names no record type: give the record "
                                             f"type (--type {'|'.join(RECORD_TYPES)}) or a "
                                             "'type' column")
    at = columns.index("type")
    named = {str(cells[at]).strip() for _, cells in body if at < len(cells)}
    return [t for t in RECORD_TYPES if t in named]


def check_header(path: str | Path, columns: list[str], types: list[str]) -> None:
    """Refuse a header with unknown, repeated, unnamed or missing columns, once for the file
    (:class:`ValidationError` naming ``header``, listing the expected columns). With no known
    record type in ``types`` the rows say what is wrong with their type instead."""
    if not types:
        return
    expected = list(dict.fromkeys(c for t in types for c in columns_of(t)))
    required = list(dict.fromkeys(c for t in types for c in required_columns_of(t)))
    problems = [f"column {n} has no name" for n, c in enumerate(columns, 1) if not c]
    problems += [f"column {quoted(c)} appears {k} times"
                 for c, k in Counter(columns).items() if c and k > 1]
    unknown = [c for c in columns if c and c != "type" and c not in expected]
    missing = [c for c in required if c not in columns]
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(map(quoted, unknown))}")
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(map(quoted, missing))}")
    if problems:
        what = " and ".join(types) or "record"
        raise ValidationError("header", f"{path}: {'; '.join(problems)}. The columns of a "
                                        f"{what} file are: {', '.join(expected)} (required: "
                                        f"{', '.join(required)})")


def _table_row(line: int, columns: list[str], cells: Sequence[Any],
               record_type: str | None) -> Row:
    row = make_row(line, dict(zip(columns, cells, strict=False)), record_type)
    extra = [c for c in cells[len(columns):] if not _blank(c)]
    if extra:
        row.problem = ("row", f"has {len(columns) + len(extra)} or more cells, but the header "
                              f"names {len(columns)} columns")
    return row


def make_row(line: int, item: Any, record_type: str | None) -> Row:
    """A row from an object of a file (a table's row, a JSON object)."""
    if not isinstance(item, dict):
        return Row(line, record_type or "", {"value": item},
                   problem=("row", f"is {quoted(item)}, not an object with the columns as keys"))
    raw = {str(k): v for k, v in item.items() if not _blank(v)}
    kind = raw.pop("type", "")
    return Row(line, record_type or str(kind).strip(), raw)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- Excel ----------------------------------------------------------------------------------------


def _workbook_records(p: Path) -> list[Record]:
    """The first worksheet's non-empty rows, with their row numbers, cells as text."""
    import openpyxl  # type: ignore[import-untyped]  # only when a workbook is read
    from openpyxl.utils.exceptions import (  # type: ignore[import-untyped]
        InvalidFileException,
    )

    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except OSError as e:
        raise ValidationError("file", f"cannot read {p}: {e.strerror or e}") from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, SyntaxError):
        raise ValidationError("file", f"{p} is not an Excel workbook (.xlsx) that can be "
                                      "read; save it again as Excel Workbook or CSV UTF-8"
                              ) from None
    try:
        sheet = book.worksheets[0]
        records: list[Record] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                records.append((number, cells))
        return records
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile):
        raise ValidationError("file", f"{p}: the first worksheet cannot be read") from None
    finally:
        book.close()


_MIDNIGHT = time()


def cell_text(value: Any) -> str:
    """An Excel cell's value as the text a CSV file would hold: numbers from their shortest
    exact text (a cell holding 88.5 gives ``"88.5"``, 32 gives ``"32"``), dates as
    ``YYYY-MM-DD``, empty as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == _MIDNIGHT else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _number_text(Decimal(repr(value)) if isinstance(value, float) else value)
    return str(value)


def _number_text(number: Decimal) -> str:
    if not number.is_finite():
        return str(number)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number, "f")


# -- JSON ----------------------------------------------------------------------------------------


def _json_rows(path: str | Path, text: str, record_type: str | None) -> list[Row]:
    items = _decode_json(text, path)
    if isinstance(items, dict):
        raise ValidationError("file", f"{path} holds one JSON object, not an array of "
                                      "objects: write the records as [{...}, {...}] (or one "
                                      "object a line in a .jsonl file)")
    if not isinstance(items, list):
        raise ValidationError("file", f"{path} holds {quoted(items)}, not an array of objects")
    _need_type(path, items, record_type)
    return [make_row(n, item, record_type) for n, item in enumerate(items, start=1)]


def _json_lines(path: str | Path, text: str, record_type: str | None) -> list[Row]:
    items = [(n, _decode_json(line, path, n)) for n, line in enumerate(text.split("\n"), 1)
             if line.strip()]
    _need_type(path, [item for _, item in items], record_type)
    return [make_row(n, item, record_type) for n, item in items]


def _need_type(path: str | Path, items: list[Any], record_type: str | None) -> None:
    if record_type is None and not any(isinstance(i, dict) and "type" in i for i in items):
        raise ValidationError("record_type", f"{path} names no record type: give the record "
                                             f"type (--type {'|'.join(RECORD_TYPES)}) or a "
                                             "\"type\" in each object")


def _decode_json(text: str, path: str | Path, line: int | None = None) -> Any:
    try:
        return _JSON.decode(text)
    except msgspec.DecodeError as e:
        where = f"{path}, line {line}" if line is not None else str(path)
        raise ValidationError("file", f"{where}: not valid JSON{_json_problem(str(e), text)}"
                              ) from None


def _json_problem(message: str, text: str) -> str:
    """Where and what, from the decoder's message, in the file's own lines and columns."""
    if "truncated" in message:
        return ": it ends before an array, object or text is closed"
    m = re.fullmatch(r"JSON is malformed: (.*) \(byte (\d+)\)", message)
    if m is None:
        return ""
    before = text.encode("utf-8")[:int(m.group(2))].decode("utf-8", "ignore")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    if line == 1 and "\n" not in text:
        return f" at character {column}: {m.group(1)}"
    return f" at line {line}, column {column}: {m.group(1)}"
