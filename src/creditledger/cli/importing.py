"""``creditledger import``: batch import (数据批处理) of learners, courses, certificates and
achievements, a thin shell over :meth:`creditledger.services.CreditBank.import_file`.

Exit codes: 0 every row recorded (written, or already there); 1 bad rows, nothing written
(each bad row listed); 2 nothing could be imported (the file, its encoding or header, the key,
the ledger: one ``error:`` line); 3 with ``--skip-bad``, the good rows written and the bad ones
sent to the rejects file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    PassphraseEnvOption,
    err,
    fail,
    out,
    read_passphrase,
    school_kek,
    shown,
)
from creditledger.crypto.keys import SigningKey
from creditledger.errors import CreditLedgerError, ImportRejectedError
from creditledger.services import CreditBank
from creditledger.services.batch_rows import ImportReport

LISTED = 100
"""How many bad rows the command lists on stderr (the report has them all)."""


def register(app: typer.Typer) -> None:
    """Add ``import`` to ``app``."""
    app.command("import")(import_)


def import_(
    ledger: LedgerArgument,
    file: Annotated[Path, typer.Argument(
        help="CSV (UTF-8 unless --encoding), Excel .xlsx, JSON or JSON Lines file.")],
    key: Annotated[Path, typer.Option("--key", help="The importing institution's key (PEM).")],
    record_type: Annotated[
        str | None,
        typer.Option("--type", help="learner, course, certificate or achievement (for a CSV or "
                                    "Excel file without a type column)."),
    ] = None,
    skip_bad: Annotated[
        Path | None,
        typer.Option("--skip-bad", metavar="REJECTS.csv",
                     help="Write the good rows anyway; the bad ones go to this CSV (UTF-8), "
                          "and the exit code is 3 if there were any. Never the input file."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="The CSV or JSON file's text encoding if not UTF-8: "
                                        "gb18030 (or gbk) for Excel's CSV on Chinese Windows."),
    ] = None,
    commit_size: Annotated[int, typer.Option(help="Rows per signed commit.")] = 500,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Batch import (数据批处理): every row validated first; any bad row writes nothing
    (exit 1, each bad row listed) unless --skip-bad is given (then exit 3 if rows were
    rejected). A file that cannot be imported at all exits 2. Re-running is idempotent."""
    try:
        signer = SigningKey.load(key, read_passphrase(passphrase_env))
        bank = CreditBank.open(ledger, kek=school_kek())
    except CreditLedgerError as e:
        fail(str(e))
    try:
        report = _import_with_progress(bank, file, signer, show=not as_json,
                                       record_type=record_type, skip_bad=skip_bad,
                                       commit_size=commit_size, encoding=encoding)
    except ImportRejectedError as e:
        _print_import(e.report, as_json)
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    finally:
        bank.close()
    _print_import(report, as_json)
    if report.rejected:
        raise typer.Exit(3)


def _import_with_progress(bank: CreditBank, file: Path, signer: SigningKey, *, show: bool,
                          **options: Any) -> ImportReport:
    kwargs: dict[str, Any] = dict(signer=signer, **options)
    if not (show and err.is_terminal):
        return bank.import_file(file, **kwargs)
    columns = (TextColumn("importing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("import", total=None)
        return bank.import_file(file, progress=lambda d, t: bar.update(task, completed=d,
                                                                        total=t), **kwargs)


def _print_import(report: ImportReport, as_json: bool) -> None:
    if as_json:
        typer.echo(msgspec.json.encode(report).decode())
        return
    for bad in report.rejected[:LISTED]:
        err.print(escape(shown(f"line {bad.line}: {bad.field}: {bad.problem}")))
    if len(report.rejected) > LISTED:
        more = len(report.rejected) - LISTED
        err.print(f"... and {more} more bad rows (all of them: --json, or --skip-bad FILE)")
    if report.rejected and report.rejects_file is None:
        err.print(f"[bold red]rejected[/]: {len(report.rejected)} bad rows of {report.rows}; "
                  "nothing written (use --skip-bad REJECTS.csv to write the good rows)")
        return
    rejects = (f", {len(report.rejected)} rejected to {report.rejects_file}"
               if report.rejects_file else "")
    out.print(escape(shown(f"imported {report.rows} rows: {report.written} written, "
                           f"{report.unchanged} already recorded{rejects}; {report.commits} "
                           "signed commits")))

