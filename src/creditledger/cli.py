"""The ``creditledger`` command: a thin shell over the library's public functions.

Exit codes follow the auditor's convention: 0 intact / done, 1 the ledger is tampered,
2 unusable input (no such file, not a ledger, a key that cannot be read), with one clear line
on standard error and no traceback.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from creditledger.cli_util import fail, read_passphrase
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import CreditLedgerError, UnusableLedgerError
from creditledger.head import SignedHead
from creditledger.verify import TamperedLedgerError, VerifyReport, verify_ledger

app = typer.Typer(
    name="creditledger",
    help="A signed, hash-linked credit bank (学分银行) ledger: demo, verify, head.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

PASSPHRASE_ENV = "CREDITLEDGER_PASSPHRASE"


_fail = fail


LedgerArgument = Annotated[str, typer.Argument(
    metavar="LEDGER", help="The ledger file, or postgresql://USER:PW@HOST:PORT/DB?schema=S.")]
"""A ledger file or URL: a plain string, since a path would fold a URL's ``//``."""


def _load_root_key(root_key: Path | None) -> PublicKey | None:
    return PublicKey.from_file(root_key) if root_key is not None else None


@app.command()
def verify(
    ledger: LedgerArgument,
    against: Annotated[
        Path | None, typer.Option("--against", help="A signed head file the ledger must extend.")
    ] = None,
    root_key: Annotated[
        Path | None,
        typer.Option("--root-key", help="Pin the root public key (PEM, base64 or hex file)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify every hash, link and signature of a ledger (exit 0 intact, 1 tampered, 2 unusable)."""
    try:
        pinned = _load_root_key(root_key)
        head = SignedHead.load(against) if against is not None else None
        report = _verify_with_progress(ledger, pinned, head, show=not as_json)
    except TamperedLedgerError as e:
        _print_report(e.report, as_json)
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        _fail(str(e))
    _print_report(report, as_json)


def _verify_with_progress(
    ledger: str, pinned: PublicKey | None, head: SignedHead | None, *, show: bool
) -> VerifyReport:
    if not (show and err.is_terminal):
        return verify_ledger(ledger, root_key=pinned, against=head)
    columns = (TextColumn("verifying"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("verify", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return verify_ledger(ledger, root_key=pinned, against=head, progress=progress)


def _print_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str, ensure_ascii=False, indent=2))
        return
    pinned = "pinned" if report.root_key_pinned else "taken from the genesis event"
    if report.fault is None:
        head = f", extends the signed head of {report.head_size} events" if report.head_size else ""
        out.print(
            f"[bold green]intact[/]: {report.events} events in {report.commits} signed commits, "
            f"{report.aggregates} aggregates, {report.keys} keys{head}; "
            f"last hash {report.last_hash}; root key {report.root_key_id} ({pinned})",
            highlight=False,
        )
        return
    f = report.fault
    aggregate = f" aggregate {f.aggregate}" if f.aggregate else ""
    commit = f" commit {f.commit}" if f.commit is not None else ""
    out.print(
        f"[bold red]TAMPERED[/]: first bad position {f.position}{aggregate}{commit}: "
        f"{f.kind.value}: {f.detail}",
        highlight=False,
    )


@app.command()
def head(
    ledger: LedgerArgument,
    key: Annotated[Path, typer.Option("--key", help="The root key (encrypted PKCS#8 PEM).")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the head here, not to stdout.")
    ] = None,
    passphrase_env: Annotated[
        str, typer.Option(help="Environment variable holding the key's passphrase.")
    ] = PASSPHRASE_ENV,
) -> None:
    """Print the ledger's head (size and last hash), signed by the root key."""
    from creditledger.verify import sign_head

    try:
        root_key = SigningKey.load(key, read_passphrase(passphrase_env))
        signed = sign_head(ledger, root_key)
    except CreditLedgerError as e:
        _fail(str(e))
    if output is None:
        sys.stdout.buffer.write(signed.to_json())
    else:
        output.write_bytes(signed.to_json())
        err.print(f"signed head of {signed.size} events written to {output}", highlight=False)


@app.command()
def demo(
    path: Annotated[
        Path | None,
        typer.Argument(help="Where to write the new ledger (default: a new file in this folder)."),
    ] = None,
) -> None:
    """Play the credit bank scenario of the seed documents into a new ledger, then verify it."""
    from creditledger.demo import run_demo

    try:
        run_demo(path, out)
    except CreditLedgerError as e:
        _fail(str(e))


# -- read models ---------------------------------------------------------------------------------


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ViewsOption = Annotated[
    Path | None, typer.Option("--views", help="The views database (default: LEDGER.views.db "
                              "beside a ledger file; required for a postgresql:// ledger).")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, json or csv.")]


def _projector(ledger: str, views: Path | None) -> Any:
    from creditledger.bank import CreditBank
    from creditledger.projections import open_projector

    bank = CreditBank.open(ledger)
    projector = open_projector(bank, views)
    projector.catch_up()
    return projector


def _emit(rows: list[dict[str, Any]], fmt: Format, title: str) -> None:
    if fmt is Format.json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    if fmt is Format.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=title)
    for column in rows[0] if rows else []:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


def _structs(items: list[Any]) -> list[dict[str, Any]]:
    import msgspec

    return [msgspec.to_builtins(i) for i in items]


@app.command()
def transcript(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", help="The learner id.")],
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A learner's achievements and revocations in order, each with its signed event position."""
    from creditledger.projections import queries

    try:
        lines = queries.transcript(_projector(ledger, views).db, learner)
    except CreditLedgerError as e:
        _fail(str(e))
    rows = _structs(lines)
    if fmt is Format.table:  # the full ids stay in --format json/csv
        rows = [{k: r[k] for k in ("position", "entry", "title", "category", "credits", "detail")}
                for r in rows]
    _emit(rows, fmt, f"transcript of {learner}")


@app.command()
def balances(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", help="The learner id.")],
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A learner's credits per category (recognised minus revoked)."""
    from creditledger.projections import queries

    try:
        db = _projector(ledger, views).db
        result = queries.balances(db, learner)
    except CreditLedgerError as e:
        _fail(str(e))
    rows = [{"account": f"category/{c.value}", "名称": c.zh, "credits": str(v), "pending": "",
             "exempt": ""} for c, v in result.items()]
    rows += _requirement_rows(db, learner)
    _emit(rows, fmt, f"credits of {learner}: accumulated per category, converted per "
                     "programme requirement")


def _requirement_rows(db: Any, learner: str) -> list[dict[str, Any]]:
    from creditledger.projections import transfers

    held = {e.account for e in transfers.exemptions(db, learner)}
    return [{"account": b.account, "名称": "转换", "credits": str(b.posted),
             "pending": str(b.pending), "exempt": "免修" if b.account in held else ""}
            for b in transfers.requirement_balances(db, learner)]


@app.command()
def history(
    ledger: LedgerArgument,
    learner: Annotated[str | None, typer.Option("--learner", help="Only this learner.")] = None,
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Every credit transfer, in chain order, with its rule, agreement and source (lineage)."""
    from creditledger.projections import transfers

    try:
        lines = transfers.transfer_history(_projector(ledger, views).db, learner)
    except CreditLedgerError as e:
        _fail(str(e))
    rows = _structs(lines)
    if fmt is Format.table:
        rows = [{k: r[k] for k in ("position", "learner_id", "kind", "credit_account", "amount",
                                   "rule", "agreement")} for r in rows]
    _emit(rows, fmt, "credit transfers")


@app.command()
def stats(
    ledger: LedgerArgument,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Group by kind, institution, category, term, year, level, "
                     "learner_type, programme (repeatable)."),
    ] = None,
    certificates: Annotated[
        bool, typer.Option("--certificates", help="Candidates and pass rates by certificate, "
                           "level and major instead.")] = False,
    quotas: Annotated[
        int | None, typer.Option("--quotas", metavar="YEAR",
                                 help="Quota completion of the 1+X pilots in YEAR (R20).")] = None,
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Statistics for pilot evaluation (R10, R17, R20): credits recognised (net of revocations)
    grouped --by, or certificate pass rates (--certificates), or quota completion (--quotas)."""
    from creditledger.projections import pilot, queries

    groups = tuple(by or ["kind", "institution"])
    try:
        db = _projector(ledger, views).db
        if quotas is not None:
            _emit(_structs(pilot.quota_completion(db, quotas)), fmt, f"quota completion {quotas}")
            return
        if certificates:
            rows = [{"certificate": r.group[0], "level": r.group[1], "major": r.group[2],
                     "candidates": r.candidates, "passed": r.passed,
                     "pass_rate_%": str(r.pass_rate)} for r in pilot.certificate_results(db)]
            _emit(rows, fmt, "certificate candidates and pass rates")
            return
        result = queries.credit_statistics(db, groups)
    except CreditLedgerError as e:
        _fail(str(e))
    rows = [{**dict(zip(groups, r.group, strict=True)), "achievements": r.achievements,
             "revoked": r.revoked, "credits": str(r.credits)} for r in result]
    _emit(rows, fmt, "credits recognised")


@app.command()
def export(
    ledger: LedgerArgument,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="A read-model table.")],
    views: ViewsOption = None,
    fmt: FormatOption = Format.csv,
) -> None:
    """Export one read-model table (accounts, balances, achievements, transcript, courses...)."""
    from creditledger.projections import queries

    try:
        db = _projector(ledger, views).db
        if table_name.startswith("_") or table_name not in db.table_names():
            names = ", ".join(t for t in db.table_names() if not t.startswith("_"))
            _fail(f"table: unknown read-model table {table_name!r}; one of {names}")
        rows = queries.rows(db, table_name)
    except CreditLedgerError as e:
        _fail(str(e))
    _emit(rows, fmt, table_name)


@app.command("export-ledger")
def export_ledger(
    url: Annotated[str, typer.Argument(
        metavar="URL", help="The PostgreSQL ledger: postgresql://USER:PW@HOST:PORT/DB?schema=S.")],
    file: Annotated[Path, typer.Argument(help="The new SQLite ledger file (never overwritten).")],
) -> None:
    """Copy a PostgreSQL ledger, in one snapshot, into a new SQLite ledger file that verifies
    to the same head (for auditors who verify offline)."""
    _export_ledger(url, file)


def _export_ledger(url: str, path: Path) -> None:
    from creditledger.export import export_to_sqlite

    try:
        report = export_to_sqlite(url, path)
    except CreditLedgerError as e:
        _fail(str(e))
    out.print(
        f"exported {report.events} events in {report.commits} signed commits of ledger "
        f"{report.ledger_id} from {report.source} to {report.path} (one snapshot); last hash "
        f"{report.last_hash or '-'}, Merkle root {report.merkle_root or '-'}. Check it offline: "
        f"creditledger verify {report.path}", highlight=False, soft_wrap=True)


@app.command("import")
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
    passphrase_env: Annotated[
        str, typer.Option(help="Environment variable holding the key's passphrase.")
    ] = PASSPHRASE_ENV,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Batch import (数据批处理): every row validated first; any bad row writes nothing
    (exit 1, each bad row listed) unless --skip-bad is given. Re-running is idempotent."""
    from creditledger.bank import CreditBank
    from creditledger.batch import ImportRejectedError

    try:
        signer = SigningKey.load(key, read_passphrase(passphrase_env))
        bank = CreditBank.open(ledger)
    except CreditLedgerError as e:
        _fail(str(e))
    try:
        report = _import_with_progress(bank, file, signer, record_type, skip_bad, commit_size,
                                       show=not as_json)
    except ImportRejectedError as e:
        _print_import(e.report, as_json)
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        _fail(str(e))
    finally:
        bank.close()
    _print_import(report, as_json)


def _import_with_progress(bank: Any, file: Path, signer: SigningKey, record_type: str | None,
                          skip_bad: Path | None, commit_size: int, *, show: bool) -> Any:
    from creditledger.batch import import_file

    kwargs: dict[str, Any] = dict(signer=signer, record_type=record_type, skip_bad=skip_bad,
                                  commit_size=commit_size)
    if not (show and err.is_terminal):
        return import_file(bank, file, **kwargs)
    columns = (TextColumn("importing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("import", total=None)
        return import_file(bank, file, progress=lambda d, t: bar.update(task, completed=d,
                                                                         total=t), **kwargs)


def _print_import(report: Any, as_json: bool) -> None:
    import msgspec

    if as_json:
        typer.echo(msgspec.json.encode(report).decode())
        return
    for bad in report.rejected:
        err.print(f"line {bad.line}: {bad.field}: {bad.problem}", highlight=False,
                  soft_wrap=True)
    if report.rejected and report.rejects_file is None:
        err.print(f"[bold red]rejected[/]: {len(report.rejected)} bad rows of {report.rows}; "
                  "nothing written (use --skip-bad REJECTS.csv to write the good rows)",
                  highlight=False)
        return
    rejects = (f", {len(report.rejected)} rejected to {report.rejects_file}"
               if report.rejects_file else "")
    out.print(f"imported {report.rows} rows: {report.written} written, {report.unchanged} "
              f"already recorded{rejects}; {report.commits} signed commits", highlight=False)



def _register_extensions() -> None:
    """Commands that live beside their library code (each a thin shell over it)."""
    from creditledger.alliance import register_cli as register_alliance
    from creditledger.audit_cli import register_cli as register_audit
    from creditledger.transfers import register_cli as register_transfers

    register_transfers(app)
    register_audit(app)
    register_alliance(app)


_register_extensions()

def main() -> None:
    """Entry point of the ``creditledger`` command."""
    try:
        app()
    except UnusableLedgerError as e:  # pragma: no cover - commands catch their own errors
        _fail(str(e))
