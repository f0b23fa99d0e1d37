"""What every command module of the ``creditledger`` command shares: arguments, output, errors.

Exit codes follow the auditor's convention everywhere: 0 done or intact, 1 fails verification
(or rows were rejected), 2 unusable input — with one ``error:`` line on standard error and no
traceback.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from creditledger.crypto.keys import PublicKey
from creditledger.errors import UnusableLedgerError

if TYPE_CHECKING:
    from creditledger.projections import Projector

PASSPHRASE_ENV = "CREDITLEDGER_PASSPHRASE"
"""The environment variable a private key's passphrase is read from (else a prompt)."""

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
tables = Console()

LedgerArgument = Annotated[str, typer.Argument(
    metavar="LEDGER", help="The ledger file, or postgresql://USER:PW@HOST:PORT/DB?schema=S.")]
"""A ledger file or URL: a plain string, since a path would fold a URL's ``//``."""

RootKeyOption = Annotated[
    Path | None,
    typer.Option("--root-key", help="Pin the ledger's root public key (PEM, base64 or hex file)."),
]
PassphraseEnvOption = Annotated[
    str, typer.Option(help="Environment variable holding the key's passphrase.")
]


class Format(StrEnum):
    """How a command prints records."""

    table = "table"
    json = "json"
    csv = "csv"


ViewsOption = Annotated[
    Path | None, typer.Option("--views", help="The views database (default: LEDGER.views.db "
                              "beside a ledger file; required for a postgresql:// ledger).")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, json or csv.")]


def shown(text: str) -> str:
    """``text`` safe to print on one line: every character that is not printable (a line break,
    a Unicode line or record separator, a terminal escape) written as an escape instead.

    Messages quote what a ledger or a document says (an aggregate id, a name), which whoever
    made the file chose: it must not start a new line or drive the terminal, or a forged file
    could print its own "intact" line under the verifier's verdict."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr (the message as plain text, never as rich markup,
    so ``creditledger[postgres]`` stays as written) and exit with ``code``."""
    err.print(f"[bold red]error:[/] {escape(shown(message))}")
    raise typer.Exit(code)


def tampered(message: str) -> NoReturn:
    """Print ``TAMPERED: message`` and exit 1 (the document or ledger fails verification)."""
    out.print(f"[bold red]TAMPERED[/]: {escape(shown(message))}")
    raise typer.Exit(1)


def read_passphrase(env_name: str) -> bytes:
    """A private key's passphrase: from the environment variable, else a prompt on a terminal.

    Raises :class:`UnusableLedgerError` (the CLI's exit 2) when neither is available.
    """
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise UnusableLedgerError(f"no passphrase: set the environment variable {env_name}")
        value = typer.prompt("passphrase of the key", hide_input=True)
    return value.encode("utf-8")


def pinned_key(path: Path | None) -> PublicKey | None:
    """The public key in the file ``path`` (``--root-key``), if one is given."""
    return PublicKey.from_file(path) if path is not None else None


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file given on the command line (:class:`UnusableLedgerError` otherwise)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise UnusableLedgerError(f"{what} {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise UnusableLedgerError(f"{what} {path}: not UTF-8 text") from e


def write_output(data: bytes, output: Path | None, what: str) -> None:
    """Write a document to ``output`` (saying so on stderr), or to stdout."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror}")
    err.print(f"{what} written to {output}")


def open_views(ledger: str, views: Path | None) -> Projector:
    """The read models of ``ledger``, caught up (in ``views``, or beside a ledger file)."""
    from creditledger.services import CreditBank

    bank = CreditBank.open(ledger)
    projector = bank.read_models(views)
    projector.catch_up()
    return projector


def structs(items: list[Any]) -> list[dict[str, Any]]:
    """msgspec values as plain dicts, for :func:`emit`."""
    return [msgspec.to_builtins(i) for i in items]


def emit(rows: list[dict[str, Any]], fmt: Format, title: str) -> None:
    """Print records as a table, JSON or CSV."""
    if fmt is Format.json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    if fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=title)
    for column in rows[0] if rows else []:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    tables.print(table)


def trust_note(pinned: bool) -> str:
    """How a root key was trusted, for a report line."""
    if pinned:
        return "pinned"
    return "named by the file itself, NOT pinned: pass --root-key to check it is the ledger's"
