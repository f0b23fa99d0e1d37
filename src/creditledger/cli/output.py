"""How commands print what they found: ``--format table|json|csv`` (``-f``) and ``-o FILE``.

Records print as a table by default (the JSON and CSV keep every field, ids included); with
``-o FILE`` they are written to the file instead, in the format its suffix names (``.json``,
else CSV) unless ``--format`` says otherwise. A report (``verify``, ``explain``...) prints as
sentences by default (``table``), as one JSON object (``json``) or as CSV rows (``csv``).

``--json`` is kept, hidden, as a deprecated spelling of ``--format json``: the pages of
``docs/`` and the scripts written against them use it.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from creditledger.cli.common import err, fail, out, shown


class Format(StrEnum):
    """How a command prints records."""

    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[Format | None, typer.Option(
    "--format", "-f", metavar="table|json|csv",
    help="table (the default on a terminal), json or csv.")]
OutputOption = Annotated[Path | None, typer.Option(
    "-o", "--output", metavar="FILE",
    help="Write the records to FILE (as its suffix says: .json, else csv), not to stdout.")]
JsonOption = Annotated[bool, typer.Option(
    "--json", hidden=True, help="Deprecated: use --format json.")]


def chosen(fmt: Format | None, as_json: bool = False, output: Path | None = None,
           piped: Format = Format.table) -> Format:
    """The format asked for: ``--format``; else ``--json`` (deprecated); else the one ``-o``'s
    suffix names; else a table on a terminal, and ``piped`` otherwise."""
    if as_json:
        if fmt not in (None, Format.json):
            fail(f"--json and --format {fmt.value}: give one (--json is --format json)")
        return Format.json
    if fmt is not None:
        return fmt
    if output is not None:
        return Format.json if output.suffix.lower() == ".json" else Format.csv
    return Format.table if sys.stdout.isatty() else piped


def structs(items: list[Any]) -> list[dict[str, Any]]:
    """msgspec values as plain dicts, for :func:`emit`."""
    return [msgspec.to_builtins(i) for i in items]


def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested report as one CSV row: nested objects' fields as ``outer.inner``, lists as
    JSON text."""
    row: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flat(value, f"{name}."))
        elif isinstance(value, list | tuple):
            row[name] = json.dumps(value, default=str, ensure_ascii=False)
        else:
            row[name] = value
    return row


def emit(rows: list[dict[str, Any]], fmt: Format, title: str, output: Path | None = None
         ) -> None:
    """Print records as a table, JSON or CSV (to ``output`` if given)."""
    if fmt is Format.table and not rows:
        if output is None:
            err.print(f"{shown(title)}: none", markup=False)
        else:
            _deliver("", output, "no records")
        return
    text = _RENDER[fmt](rows, title)
    _deliver(text, output, f"{len(rows)} records ({fmt.value})")


def emit_report(data: dict[str, Any], fmt: Format, lines: Callable[[], list[str]],
                rows: Callable[[], list[dict[str, Any]]] | None = None) -> None:
    """Print a report: its sentences (``table``), one JSON object, or CSV rows (``rows()``, by
    default the report flattened into one row)."""
    if fmt is Format.json:
        typer.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))
    elif fmt is Format.csv:
        typer.echo(_csv(rows() if rows is not None else [flat(data)], ""), nl=False)
    else:
        typer.echo("\n".join(shown(line) for line in lines()))


def _json(rows: list[dict[str, Any]], title: str) -> str:
    return json.dumps(rows, default=str, ensure_ascii=False, indent=2) + "\n"


def _csv(rows: list[dict[str, Any]], title: str) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def _table(rows: list[dict[str, Any]], title: str) -> str:
    table = Table(title=shown(title))
    for column in rows[0]:
        table.add_column(shown(column))
    for row in rows:
        table.add_row(*(shown("" if v is None else str(v)) for v in row.values()))
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, markup=False, emoji=False, width=out.width,
                      force_terminal=sys.stdout.isatty())
    console.print(table)
    return buffer.getvalue()


_RENDER: dict[Format, Callable[[list[dict[str, Any]], str], str]] = {
    Format.json: _json, Format.csv: _csv, Format.table: _table}


def _deliver(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror}")
    err.print(f"{shown(what)} written to {shown(str(output))}", markup=False)
