"""``creditledger import``: batch import (数据批处理) of learners, courses, certificates and
achievements, a thin shell over :meth:`creditledger.services.CreditBank.import_file`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    PassphraseEnvOption,
    err,
    fail,
    out,
    read_passphrase,
)
from creditledger.crypto.keys import SigningKey
from creditledger.errors import CreditLedgerError, ImportRejectedError
from creditledger.services import CreditBank
from creditledger.services.batch_rows import ImportReport


def register(app: typer.Typer) -> None:
    """Add ``import`` to ``app``."""
    app.command("import")(import_)


def import_(
    ledger: LedgerArgument,
    file: Annotated[Path, typer.Argument(help="CSV, JSON or JSON Lines file (UTF-8).")],
    key: Annotated[Path, typer.Option("--key", help="The importing institution's key (PEM).")],
    record_type: Annotated[
        str | None,
        typer.Option("--type", help="learner, course, certificate or achievement (CSV files)."),
    ] = None,
    skip_bad: Annotated[
        Path | None,
        typer.Option("--skip-bad", help="Write good rows anyway; bad rows go to this CSV."),
    ] = None,
    commit_size: Annotated[int, typer.Option(help="Rows per signed commit.")] = 500,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Batch import (数据批处理): every row validated first; any bad row writes nothing
    (exit 1, each bad row listed) unless --skip-bad is given. Re-running is idempotent."""
    try:
        signer = SigningKey.load(key, read_passphrase(passphrase_env))
        bank = CreditBank.open(ledger)
    except CreditLedgerError as e:
        fail(str(e))
    try:
        report = _import_with_progress(bank, file, signer, record_type, skip_bad, commit_size,
                                       show=not as_json)
    except ImportRejectedError as e:
        _print_import(e.report, as_json)
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    finally:
        bank.close()
    _print_import(report, as_json)


def _import_with_progress(bank: CreditBank, file: Path, signer: SigningKey,
                          record_type: str | None, skip_bad: Path | None, commit_size: int, *,
                          show: bool) -> ImportReport:
    kwargs: dict[str, Any] = dict(signer=signer, record_type=record_type, skip_bad=skip_bad,
                                  commit_size=commit_size)
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
    for bad in report.rejected:
        err.print(f"line {bad.line}: {bad.field}: {bad.problem}")
    if report.rejected and report.rejects_file is None:
        err.print(f"[bold red]rejected[/]: {len(report.rejected)} bad rows of {report.rows}; "
                  "nothing written (use --skip-bad REJECTS.csv to write the good rows)")
        return
    rejects = (f", {len(report.rejected)} rejected to {report.rejects_file}"
               if report.rejects_file else "")
    out.print(f"imported {report.rows} rows: {report.written} written, {report.unchanged} "
              f"already recorded{rejects}; {report.commits} signed commits")
