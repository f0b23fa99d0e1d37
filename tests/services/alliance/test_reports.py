"""The alliance read models: monthly enrolments and results per course and per school (R17),
satisfaction per course (R10), through the projector and ``creditledger alliance-report``."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from creditledger.cli.app import app
from creditledger.projections import alliance as views
from tests.store.contract import sqlite_only

from .world import ASSESSED, OPENED, World, course_info


def play(world: World) -> None:
    bank, cq = world.bank, world.key("CQAT")
    security = world.offer()
    rescue = world.offer("HNAT", course_info(code="HN-YJ201", name="事故应急救援", capacity=10))
    for n, home in enumerate(("HNAT", "LYVC", "LYVC")):
        learner = world.learner(f"{home}-{n}", home)
        certificate = world.passed(security.id, learner, home, score=str(70 + n))
        bank.rate_course(security.id, learner_id=learner, rating=3 + n % 2, signer=cq,
                         today=ASSESSED)
        if home == "LYVC":
            bank.import_course_certificate(bank.export_course_certificate(certificate),
                                           signer=world.key(home), today=date(2023, 2, 3))
    failing = world.learner("LYVC-9", "LYVC")
    world.admitted(security.id, failing, "LYVC")
    bank.record_absence(security.id, learner_id=failing, hours=11, signer=cq,
                        today=date(2022, 11, 3))
    visitor = world.learner("CQAT-1", "CQAT")
    bank.request_enrolment(rescue.id, learner_id=visitor, signer=cq, today=OPENED)


def test_monthly_reports_and_satisfaction(world: World) -> None:
    play(world)
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    db = projector.db
    september = {(r.school, r.course_code): r for r in views.monthly_by_course(db, "2022-09")}
    assert september[("CQAT", "CQ-AQ301")].admitted == 4
    august = views.monthly_by_course(db, "2022-08")
    assert {(r.course_code, r.requested) for r in august} == {("CQ-AQ301", 4), ("HN-YJ201", 1)}
    (january,) = views.monthly_by_course(db, "2023-01")
    assert (january.passed, january.certificates, january.course_name) == (
        3, 3, "安全检测与监控技术")
    (november,) = views.monthly_by_course(db, "2022-11")
    assert november.disqualified == 1
    by_school = {(r.month, r.school): r for r in views.monthly_by_school(db)}
    assert by_school[("2022-09", "LYVC")].sent_admitted == 3
    assert by_school[("2022-09", "CQAT")].received_admitted == 4
    assert by_school[("2023-01", "CQAT")].certificates_issued == 3
    assert by_school[("2023-02", "LYVC")].certificates_recognised == 2
    satisfaction = {r.course_code: r for r in views.satisfaction(db)}
    assert (satisfaction["CQ-AQ301"].ratings, satisfaction["CQ-AQ301"].mean) == (
        3, Decimal("3.33"))
    assert satisfaction["HN-YJ201"].mean is None
    assert views.recognised_credits(db, "LYVC") == 0     # grades, not credits
    projector.close()


@sqlite_only  # the command takes a ledger file
def test_the_alliance_report_command(world: World, tmp_path: Path) -> None:
    play(world)
    world.bank.close()
    runner = CliRunner()
    table = runner.invoke(app, ["alliance-report", str(world.path), "--month", "2023-01"])
    assert table.exit_code == 0, table.output
    assert "enrolments and results per course and month" in table.output
    (january,) = json.loads(runner.invoke(app, ["alliance-report", str(world.path), "--month",
                                                "2023-01", "-f", "json"]).output)
    assert (january["course_code"], january["passed"]) == ("CQ-AQ301", 3)
    rows = json.loads(runner.invoke(app, ["alliance-report", str(world.path), "--by", "school",
                                          "-f", "json"]).output)
    assert {"month", "school", "sent_admitted", "received_passed"} <= set(rows[0])
    csv = runner.invoke(app, ["alliance-report", str(world.path), "--by", "satisfaction",
                              "-f", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines()[0].startswith("school,course_code")
    bad = runner.invoke(app, ["alliance-report", str(world.path), "--month", "2023/01"])
    assert bad.exit_code == 2 and "month" in bad.output
