"""Read-model commands (学分查询): ``views``, ``transcript``, ``balances``, ``history``,
``stats``, ``export`` and ``alliance-report``. Each opens the ledger read-only, catches the views
up with it (a progress bar on a terminal), then prints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import sqlite_utils
import typer

from creditledger.cli.common import (
    LedgerArgument,
    ViewsOption,
    done,
    fail,
    read_views,
    reading,
    views_of,
)
from creditledger.cli.output import Format, FormatOption, OutputOption, chosen, emit, structs
from creditledger.errors import CreditLedgerError, ValidationError
from creditledger.projections import alliance as alliance_views
from creditledger.projections import pilot, queries, transfers

LearnerOption = Annotated[str, typer.Option("--learner", metavar="ID", help="The learner id.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    for command in (transcript, balances, history, stats, export):
        app.command()(command)
    app.command("alliance-report")(alliance_report)
    app.command("views")(views_command)


def views_command(ledger: LedgerArgument, views: ViewsOption = None) -> None:
    """Build the read models, or catch them up with the ledger (what every read command does
    first): run it after a large import, or from cron, so that queries start at once."""
    try:
        with reading(ledger) as bank, views_of(bank, views) as projector:
            position = projector.position()
            path = projector.db.conn.execute("PRAGMA database_list").fetchone()[2]
    except CreditLedgerError as e:
        fail(str(e))
    done(f"views {path}: caught up to event {position}")


def transcript(
    ledger: LedgerArgument,
    learner: LearnerOption,
    views: ViewsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A learner's achievements, corrections and revocations in order, each with its signed
    event position (the achievement ids are in --format json or csv)."""
    shape = chosen(fmt, output=output)
    try:
        with read_views(ledger, views) as db:
            rows = structs(queries.transcript(db, learner))
    except CreditLedgerError as e:
        fail(str(e))
    if shape is Format.table:
        rows = [{k: r[k] for k in ("position", "entry", "title", "category", "credits", "detail")}
                for r in rows]
    emit(rows, shape, f"transcript of {learner}", output)


def balances(
    ledger: LedgerArgument,
    learner: LearnerOption,
    views: ViewsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A learner's credits per category (recognised minus revoked), and per programme
    requirement (converted)."""
    try:
        with read_views(ledger, views) as db:
            result = queries.balances(db, learner)
            rows = [{"account": f"category/{c.value}", "名称": c.zh, "credits": str(v),
                     "pending": "", "exempt": ""} for c, v in result.items()]
            rows += _requirement_rows(db, learner)
    except CreditLedgerError as e:
        fail(str(e))
    emit(rows, chosen(fmt, output=output), f"credits of {learner}: accumulated per category, "
         "converted per programme requirement", output)


def _requirement_rows(db: sqlite_utils.Database, learner: str) -> list[dict[str, Any]]:
    held = {e.account for e in transfers.exemptions(db, learner)}
    return [{"account": b.account, "名称": "转换", "credits": str(b.posted),
             "pending": str(b.pending), "exempt": "免修" if b.account in held else ""}
            for b in transfers.requirement_balances(db, learner)]


def history(
    ledger: LedgerArgument,
    learner: Annotated[str | None, typer.Option(
        "--learner", metavar="ID", help="Only this learner.")] = None,
    views: ViewsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Every credit transfer, in chain order, with its rule, agreement and source (lineage)."""
    shape = chosen(fmt, output=output)
    try:
        with reading(ledger) as bank, views_of(bank, views) as projector:
            if learner is not None:
                bank.account(learner)  # an unknown learner is an error, not an empty history
            rows = structs(transfers.transfer_history(projector.db, learner))
    except CreditLedgerError as e:
        fail(str(e))
    if shape is Format.table:
        rows = [{k: r[k] for k in ("position", "learner_id", "kind", "credit_account", "amount",
                                   "rule", "agreement")} for r in rows]
    emit(rows, shape, "credit transfers", output)


def stats(
    ledger: LedgerArgument,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="GROUP", help="Group by kind, institution, category, term, year, level, "
        "learner_type, programme (repeatable).")] = None,
    certificates: Annotated[bool, typer.Option(
        "--certificates", help="Candidates and pass rates by certificate, level and major "
        "instead.")] = False,
    quotas: Annotated[int | None, typer.Option(
        "--quotas", metavar="YEAR", help="Quota completion of the 1+X pilots in YEAR (R20).")
    ] = None,
    views: ViewsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Statistics for pilot evaluation (R10, R17, R20): credits recognised (net of revocations)
    grouped --by, or certificate pass rates (--certificates), or quota completion (--quotas)."""
    try:
        with read_views(ledger, views) as db:
            rows, title = _statistics(db, tuple(by or ["kind", "institution"]), certificates,
                                      quotas)
    except CreditLedgerError as e:
        fail(str(e))
    emit(rows, chosen(fmt, output=output), title, output)


def _statistics(db: sqlite_utils.Database, groups: tuple[str, ...], certificates: bool,
                quotas: int | None) -> tuple[list[dict[str, Any]], str]:
    if quotas is not None:
        return structs(pilot.quota_completion(db, quotas)), f"quota completion {quotas}"
    if certificates:
        return [{"certificate": r.group[0], "level": r.group[1], "major": r.group[2],
                 "candidates": r.candidates, "passed": r.passed,
                 "pass_rate_%": str(r.pass_rate)} for r in pilot.certificate_results(db)
                ], "certificate candidates and pass rates"
    return [{**dict(zip(groups, r.group, strict=True)), "achievements": r.achievements,
             "revoked": r.revoked, "credits": str(r.credits)}
            for r in queries.credit_statistics(db, groups)], "credits recognised"


def export(
    ledger: LedgerArgument,
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="A read-model table.")],
    views: ViewsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Export one read-model table (accounts, balances, achievements, transcript, courses...):
    a table on a terminal, CSV when piped or written with -o."""
    try:
        with read_views(ledger, views) as db:
            names = [t for t in db.table_names() if not t.startswith("_")]
            if table_name not in names:
                fail(f"table: unknown read-model table {table_name!r}; one of "
                     f"{', '.join(names)}")
            rows = queries.rows(db, table_name)
    except CreditLedgerError as e:
        fail(str(e))
    emit(rows, chosen(fmt, output=output, piped=Format.csv), table_name, output)


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
        "--month", metavar="YYYY-MM", help="Only this month, e.g. 2022-09.")] = None,
    by: Annotated[Report, typer.Option(
        "--by", metavar="course|school|satisfaction",
        help="course, school (每月通报) or satisfaction (满意度).")] = Report.course,
    views: ViewsOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Monthly enrolments and results per course or per school (R17), or satisfaction
    per course (R10), from the alliance read models."""
    try:
        _check_month(month)
        with read_views(ledger, views) as db:
            rows = (structs(alliance_views.satisfaction(db)) if by is Report.satisfaction
                    else structs(_MONTHLY[by](db, month)))
    except CreditLedgerError as e:
        fail(str(e))
    emit(rows, chosen(fmt, output=output), _REPORT_TITLES[by], output)


_MONTHLY: dict[Report, Callable[[sqlite_utils.Database, str | None], list[Any]]] = {
    Report.course: alliance_views.monthly_by_course,
    Report.school: alliance_views.monthly_by_school}


def _check_month(month: str | None) -> None:
    """A month as the reports name them (2022-09): a real one, or an error (not an empty
    report)."""
    if month is None:
        return
    try:
        date.fromisoformat(f"{month}-01")
        ok = len(month) == 7
    except ValueError:
        ok = False
    if not ok:
        raise ValidationError("month", f"{month!r} is not a month like 2022-09")
