"""Read-model commands (学分查询): ``transcript``, ``balances``, ``history``, ``stats``,
``export`` and ``alliance-report``. Each catches the views up with the ledger, then prints."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from creditledger.cli.common import (
    Format,
    FormatOption,
    LedgerArgument,
    ViewsOption,
    emit,
    fail,
    open_views,
    structs,
)
from creditledger.errors import CreditLedgerError
from creditledger.projections import alliance as alliance_views
from creditledger.projections import pilot, queries, transfers


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    for command in (transcript, balances, history, stats, export):
        app.command()(command)
    app.command("alliance-report")(alliance_report)


def transcript(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", help="The learner id.")],
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A learner's achievements and revocations in order, each with its signed event position."""
    try:
        lines = queries.transcript(open_views(ledger, views).db, learner)
    except CreditLedgerError as e:
        fail(str(e))
    rows = structs(lines)
    if fmt is Format.table:  # the full ids stay in --format json/csv
        rows = [{k: r[k] for k in ("position", "entry", "title", "category", "credits", "detail")}
                for r in rows]
    emit(rows, fmt, f"transcript of {learner}")


def balances(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", help="The learner id.")],
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A learner's credits per category (recognised minus revoked)."""
    try:
        db = open_views(ledger, views).db
        result = queries.balances(db, learner)
    except CreditLedgerError as e:
        fail(str(e))
    rows = [{"account": f"category/{c.value}", "名称": c.zh, "credits": str(v), "pending": "",
             "exempt": ""} for c, v in result.items()]
    rows += _requirement_rows(db, learner)
    emit(rows, fmt, f"credits of {learner}: accumulated per category, converted per "
                    "programme requirement")


def _requirement_rows(db: Any, learner: str) -> list[dict[str, Any]]:
    held = {e.account for e in transfers.exemptions(db, learner)}
    return [{"account": b.account, "名称": "转换", "credits": str(b.posted),
             "pending": str(b.pending), "exempt": "免修" if b.account in held else ""}
            for b in transfers.requirement_balances(db, learner)]


def history(
    ledger: LedgerArgument,
    learner: Annotated[str | None, typer.Option("--learner", help="Only this learner.")] = None,
    views: ViewsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Every credit transfer, in chain order, with its rule, agreement and source (lineage)."""
    try:
        lines = transfers.transfer_history(open_views(ledger, views).db, learner)
    except CreditLedgerError as e:
        fail(str(e))
    rows = structs(lines)
    if fmt is Format.table:
        rows = [{k: r[k] for k in ("position", "learner_id", "kind", "credit_account", "amount",
                                   "rule", "agreement")} for r in rows]
    emit(rows, fmt, "credit transfers")


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
    groups = tuple(by or ["kind", "institution"])
    try:
        db = open_views(ledger, views).db
        if quotas is not None:
            emit(structs(pilot.quota_completion(db, quotas)), fmt, f"quota completion {quotas}")
            return
        if certificates:
            rows = [{"certificate": r.group[0], "level": r.group[1], "major": r.group[2],
                     "candidates": r.candidates, "passed": r.passed,
                     "pass_rate_%": str(r.pass_rate)} for r in pilot.certificate_results(db)]
            emit(rows, fmt, "certificate candidates and pass rates")
            return
        result = queries.credit_statistics(db, groups)
    except CreditLedgerError as e:
        fail(str(e))
    rows = [{**dict(zip(groups, r.group, strict=True)), "achievements": r.achievements,
             "revoked": r.revoked, "credits": str(r.credits)} for r in result]
    emit(rows, fmt, "credits recognised")


def export(
    ledger: LedgerArgument,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="A read-model table.")],
    views: ViewsOption = None,
    fmt: FormatOption = Format.csv,
) -> None:
    """Export one read-model table (accounts, balances, achievements, transcript, courses...)."""
    try:
        db = open_views(ledger, views).db
        if table_name.startswith("_") or table_name not in db.table_names():
            names = ", ".join(t for t in db.table_names() if not t.startswith("_"))
            fail(f"table: unknown read-model table {table_name!r}; one of {names}")
        rows = queries.rows(db, table_name)
    except CreditLedgerError as e:
        fail(str(e))
    emit(rows, fmt, table_name)


class Report(StrEnum):
    """What ``alliance-report`` groups by."""

    course = "course"
    school = "school"
    satisfaction = "satisfaction"


_REPORT_TITLES = {
    Report.course: "enrolments and results per course and month",
    Report.school: "每月通报: enrolments and results per school and month",
    Report.satisfaction: "satisfaction per course (满意度)",
}


def alliance_report(
    ledger: Annotated[str, typer.Argument(
        metavar="LEDGER", help="The alliance ledger: a file or a postgresql:// URL.")],
    month: Annotated[str | None, typer.Option(
        "--month", help="Only this month, e.g. 2022-09.")] = None,
    by: Annotated[Report, typer.Option(
        "--by", help="course, school (每月通报) or satisfaction (满意度).")] = Report.course,
    views: ViewsOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Monthly enrolments and results per course or per school (R17), or satisfaction
    per course (R10), from the alliance read models."""
    try:
        shape = Format(fmt)
    except ValueError:
        fail(f"--format: {fmt!r} is not table, json or csv")
    try:
        db = open_views(ledger, views).db
        if by is Report.satisfaction:
            rows: list[Any] = alliance_views.satisfaction(db)
        elif by is Report.school:
            rows = alliance_views.monthly_by_school(db, month)
        else:
            rows = alliance_views.monthly_by_course(db, month)
    except CreditLedgerError as e:
        fail(str(e))
    emit(structs(rows), shape, _REPORT_TITLES[by])
