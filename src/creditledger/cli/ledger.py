"""Commands on a whole ledger: ``verify``, ``head``, ``export-ledger`` and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from creditledger.audit.head import SignedHead
from creditledger.audit.verify import VerifyReport, sign_head, verify_ledger
from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    PassphraseEnvOption,
    RootKeyOption,
    err,
    fail,
    key_option,
    out,
    pinned_key,
    shown,
    signing_key,
    write_output,
)
from creditledger.cli.output import Format, FormatOption, JsonOption, chosen, emit_report
from creditledger.crypto.keys import PublicKey
from creditledger.errors import CreditLedgerError, TamperedLedgerError


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(verify)
    app.command()(head)
    app.command("export-ledger")(export_ledger)
    app.command()(demo)


def verify(
    ledger: LedgerArgument,
    against: Annotated[Path | None, typer.Option(
        "--against", metavar="HEAD.json", help="A signed head file the ledger must extend.")
    ] = None,
    root_key: RootKeyOption = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify every hash, link and signature of a ledger (exit 0 intact, 1 tampered, 2 unusable)."""
    shape = chosen(fmt, as_json)
    try:
        pinned = pinned_key(root_key)
        signed_head = SignedHead.load(against) if against is not None else None
        report = _verify_with_progress(ledger, pinned, signed_head,
                                       show=shape is Format.table)
    except TamperedLedgerError as e:
        _print_report(e.report, shape)
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    _print_report(report, shape)


def _verify_with_progress(
    ledger: str, pinned: PublicKey | None, signed_head: SignedHead | None, *, show: bool
) -> VerifyReport:
    if not (show and err.is_terminal):
        return verify_ledger(ledger, root_key=pinned, against=signed_head)
    columns = (TextColumn("verifying"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("verify", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return verify_ledger(ledger, root_key=pinned, against=signed_head, progress=progress)


def _print_report(report: VerifyReport, shape: Format) -> None:
    if shape is not Format.table:
        emit_report(report.to_dict(), shape, lambda: [])
        return
    pinned = "pinned" if report.root_key_pinned else "taken from the genesis event"
    if report.fault is None:
        extends = (f", extends the signed head of {report.head_size} events"
                   if report.head_size else "")
        out.print(
            f"[bold green]intact[/]: {report.events} events in {report.commits} signed commits, "
            f"{report.aggregates} aggregates, {report.keys} keys{extends}; "
            f"last hash {report.last_hash}; root key {escape(shown(report.root_key_id))} "
            f"({pinned}); write policy {escape(shown(report.policy or 'none declared'))} "
            "replayed")
        return
    f = report.fault
    aggregate = f" aggregate {f.aggregate}" if f.aggregate else ""
    commit = f" commit {f.commit}" if f.commit is not None else ""
    where = escape(shown(f"first bad position {f.position}{aggregate}{commit}: "
                         f"{f.kind.value}: {f.detail}"))
    out.print(f"[bold red]TAMPERED[/]: {where}")


def head(
    ledger: LedgerArgument,
    key: Annotated[Path, key_option("The ledger's root key")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the head here, not to stdout.")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Print the ledger's head (size and last hash), signed by the root key."""
    try:
        root = signing_key(key, passphrase_env)
        signed = sign_head(ledger, root)
    except CreditLedgerError as e:
        fail(str(e))
    write_output(signed.to_json(), output, f"signed head of {signed.size} events")


def export_ledger(
    url: Annotated[str, typer.Argument(
        metavar="URL", help="The PostgreSQL ledger: postgresql://USER:PW@HOST:PORT/DB?schema=S.")],
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="The new SQLite ledger file (never overwritten).")],
) -> None:
    """Copy a PostgreSQL ledger, in one snapshot, into a new SQLite ledger file that verifies
    to the same head (for auditors who verify offline)."""
    from creditledger.audit.export import export_to_sqlite

    try:
        report = export_to_sqlite(url, file)
    except CreditLedgerError as e:
        fail(str(e))
    out.print(
        f"exported {report.events} events in {report.commits} signed commits of ledger "
        f"{report.ledger_id} from {report.source} to {report.path} (one snapshot); last hash "
        f"{report.last_hash or '-'}, Merkle root {report.merkle_root or '-'}. Check it offline: "
        f"creditledger verify {report.path}")


def demo(
    path: Annotated[
        Path | None,
        typer.Argument(help="Where to write the new ledger (default: a new file in this folder)."),
    ] = None,
) -> None:
    """Play the credit bank scenario of the seed documents into a new ledger, then verify it."""
    from rich.console import Console

    from creditledger.cli.demo import run_demo

    try:
        run_demo(path, Console())
    except CreditLedgerError as e:
        fail(str(e))
