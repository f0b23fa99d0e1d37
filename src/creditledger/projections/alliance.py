"""Read models of the alliance (课程互选、学分互认): offerings, enrolments, certificates,
recognitions; monthly reports per course and per school (R17: 每月通报一次课程互选修读情况) and
satisfaction per course (R10).

Dates are the commands' own dates (``on``), so a month is the month the school recorded, not
when the event happened to be written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import msgspec
import sqlite_utils
from eventsourcing.utils import get_topic

from creditledger.domain.alliance import (
    CertificateRecognition,
    CourseCertificate,
    CourseOffering,
    Enrolment,
)
from creditledger.errors import ValidationError
from creditledger.projections.credits import cents, from_cents
from creditledger.projections.runner import Change

_EVENTS: dict[type[Any], tuple[str, ...]] = {
    CourseOffering: ("Submitted", "Published", "Withdrawn", "SeatTaken", "SeatReleased"),
    Enrolment: ("Requested", "Approved", "Rejected", "Admitted", "Cancelled", "AbsenceRecorded",
                "Assessed", "MakeupDecided", "MakeupAssessed", "Rated"),
    CourseCertificate: ("Issued", "Sealed", "RecognisedAtHome", "Revoked"),
    CertificateRecognition: ("Recognised", "Reversed"),
}
_PREFIX: dict[type[Any], str] = {
    CourseOffering: "offering", Enrolment: "enrolment", CourseCertificate: "certificate",
    CertificateRecognition: "recognition"}
_HANDLERS = {get_topic(getattr(cls, name)): f"_{_PREFIX[cls]}_{name}"
             for cls, names in _EVENTS.items() for name in names}


def _day(value: Any) -> str:
    return value.isoformat() if value is not None else ""


class AllianceProjection:
    """The alliance's offerings, enrolments, certificates and recognitions."""

    name: str = "alliance"
    version: int = 1
    tables: tuple[str, ...] = ("alliance_offerings", "alliance_enrolments",
                               "alliance_certificates", "alliance_recognitions")
    topics: frozenset[str] = frozenset(_HANDLERS)

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("alliance_offerings").create(
            {"offering_id": str, "alliance": str, "school": str, "course_code": str,
             "course_name": str, "semester": str, "capacity": int, "seats": int, "status": str,
             "submitted_on": str, "published_on": str, "withdrawn_on": str,
             "withdrawn_reason": str, "position": int},
            pk="offering_id", if_not_exists=True)
        db.table("alliance_enrolments").create(
            {"enrolment_id": str, "offering_id": str, "school": str, "course_code": str,
             "semester": str, "home_school": str, "learner_id": str, "status": str,
             "requested_on": str, "admitted_on": str, "cancelled_on": str, "result": str,
             "result_on": str, "score": str, "by_makeup": int, "absent_hours": int,
             "rating": int, "position": int},
            pk="enrolment_id", if_not_exists=True)
        db.table("alliance_certificates").create(
            {"certificate_id": str, "offering_id": str, "school": str, "course_code": str,
             "learner_id": str, "credits_cents": int, "score": str, "issued_on": str,
             "sealed_on": str, "recognised_by": str, "revoked_on": str, "position": int},
            pk="certificate_id", if_not_exists=True)
        db.table("alliance_recognitions").create(
            {"recognition_id": str, "certificate_id": str, "home_school": str,
             "learner_id": str, "mode": str,
             "recognised_on": str, "reversed_on": str, "position": int},
            pk="recognition_id", if_not_exists=True)
        db.table("alliance_enrolments").create_index(["offering_id"], if_not_exists=True)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        for c in changes:
            handler: Callable[[sqlite_utils.Database, Change], None] = getattr(
                self, _HANDLERS[c.topic])
            handler(db, c)

    # -- offerings ---------------------------------------------------------------------------

    def _offering_Submitted(self, db: sqlite_utils.Database, c: Change) -> None:
        s, course = c.state, c.state["course"]
        db.execute("INSERT INTO alliance_offerings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   [c.originator_id, s["alliance"], s["school"], course.course_code, course.name,
                    s["semester"], course.capacity, 0, "submitted", _day(s["on"]), "", "", "",
                    c.position])

    def _offering_Published(self, db: sqlite_utils.Database, c: Change) -> None:
        self._offering(db, c, status="published", published_on=_day(c.state["on"]))

    def _offering_Withdrawn(self, db: sqlite_utils.Database, c: Change) -> None:
        self._offering(db, c, status="withdrawn", withdrawn_on=_day(c.state["on"]),
                       withdrawn_reason=c.state["reason"])

    def _offering_SeatTaken(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE alliance_offerings SET seats = seats + 1 WHERE offering_id=?",
                   [c.originator_id])

    def _offering_SeatReleased(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE alliance_offerings SET seats = seats - 1 WHERE offering_id=?",
                   [c.originator_id])

    @staticmethod
    def _offering(db: sqlite_utils.Database, c: Change, **values: Any) -> None:
        _update(db, "alliance_offerings", "offering_id", c.originator_id, values)

    # -- enrolments --------------------------------------------------------------------------

    def _enrolment_Requested(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("INSERT INTO alliance_enrolments VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   [c.originator_id, s["offering_id"].hex, s["school"], s["course_code"],
                    s["semester"], s["home_school"], s["learner_id"], "requested",
                    _day(s["on"]), "", "", "", "", "", 0, 0, None, c.position])

    def _enrolment_Approved(self, db: sqlite_utils.Database, c: Change) -> None:
        self._enrolment(db, c, status="approved")

    def _enrolment_Rejected(self, db: sqlite_utils.Database, c: Change) -> None:
        self._enrolment(db, c, status="rejected")

    def _enrolment_Admitted(self, db: sqlite_utils.Database, c: Change) -> None:
        self._enrolment(db, c, status="admitted", admitted_on=_day(c.state["on"]))

    def _enrolment_Cancelled(self, db: sqlite_utils.Database, c: Change) -> None:
        self._enrolment(db, c, status="cancelled", cancelled_on=_day(c.state["on"]))

    def _enrolment_AbsenceRecorded(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        values: dict[str, Any] = {"absent_hours": s["absent_hours"]}
        if s["disqualified"]:
            values.update(status="disqualified", result="disqualified", result_on=_day(s["on"]))
        self._enrolment(db, c, **values)

    def _enrolment_Assessed(self, db: sqlite_utils.Database, c: Change) -> None:
        self._result(db, c)

    def _enrolment_MakeupAssessed(self, db: sqlite_utils.Database, c: Change) -> None:
        self._result(db, c, by_makeup=1)

    def _enrolment_MakeupDecided(self, db: sqlite_utils.Database, c: Change) -> None:
        if c.state["allowed"]:
            self._enrolment(db, c, status="makeup_allowed")

    def _enrolment_Rated(self, db: sqlite_utils.Database, c: Change) -> None:
        self._enrolment(db, c, rating=c.state["rating"])

    def _result(self, db: sqlite_utils.Database, c: Change, **extra: Any) -> None:
        result = "passed" if c.state["passed"] else "failed"
        self._enrolment(db, c, status=result, result=result, result_on=_day(c.state["on"]),
                        score=str(c.state["score"]), **extra)

    @staticmethod
    def _enrolment(db: sqlite_utils.Database, c: Change, **values: Any) -> None:
        _update(db, "alliance_enrolments", "enrolment_id", c.originator_id,
                {**values, "position": c.position})

    # -- certificates and recognitions ---------------------------------------------------------

    def _certificate_Issued(self, db: sqlite_utils.Database, c: Change) -> None:
        f = c.state["facts"]
        db.execute("INSERT INTO alliance_certificates VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   [c.originator_id, f.offering_id.hex, f.school, f.course_code, f.learner_id,
                    cents(f.credits), str(f.score), _day(f.issued_on), "", "", "", c.position])

    def _certificate_Sealed(self, db: sqlite_utils.Database, c: Change) -> None:
        self._certificate(db, c, sealed_on=_day(c.state["on"]))

    def _certificate_RecognisedAtHome(self, db: sqlite_utils.Database, c: Change) -> None:
        self._certificate(db, c, recognised_by=c.state["home_school"])

    def _certificate_Revoked(self, db: sqlite_utils.Database, c: Change) -> None:
        self._certificate(db, c, revoked_on=_day(c.state["on"]))

    def _recognition_Recognised(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("INSERT INTO alliance_recognitions VALUES (?,?,?,?,?,?,?,?)",
                   [c.originator_id, s["certificate_id"].hex, s["home_school"], s["learner_id"],
                    s["mode"].value, _day(s["on"]), "", c.position])

    def _recognition_Reversed(self, db: sqlite_utils.Database, c: Change) -> None:
        _update(db, "alliance_recognitions", "recognition_id", c.originator_id,
                {"reversed_on": _day(c.state["on"])})

    @staticmethod
    def _certificate(db: sqlite_utils.Database, c: Change, **values: Any) -> None:
        _update(db, "alliance_certificates", "certificate_id", c.originator_id, values)


def _update(db: sqlite_utils.Database, table: str, key: str, value: Any,
            values: dict[str, Any]) -> None:
    columns = ", ".join(f"{name}=?" for name in values)
    db.execute(f"UPDATE {table} SET {columns} WHERE {key}=?", [*values.values(), value])


# -- queries -------------------------------------------------------------------------------------


class CourseMonth(msgspec.Struct, frozen=True, kw_only=True):
    """One course's activity in one month (per the dates the schools recorded)."""

    month: str
    school: str
    course_code: str
    course_name: str
    requested: int
    admitted: int
    cancelled: int
    passed: int
    failed: int
    disqualified: int
    certificates: int


class SchoolMonth(msgspec.Struct, frozen=True, kw_only=True):
    """One school's month (每月通报): its learners sent out and the learners it taught."""

    month: str
    school: str
    sent_requested: int
    sent_admitted: int
    sent_passed: int
    received_admitted: int
    received_passed: int
    certificates_issued: int
    certificates_recognised: int


class Satisfaction(msgspec.Struct, frozen=True, kw_only=True):
    """Satisfaction with one offering (R10): how many rated it and the mean (1–5)."""

    school: str
    course_code: str
    course_name: str
    semester: str
    status: str
    enrolled: int
    ratings: int
    mean: Decimal | None


# Each activity as (month, offering school, course, home school, kind), one row per happening.
_ACTIVITY = """
SELECT substr(requested_on, 1, 7) AS month, school, course_code, home_school,
       'requested' AS kind FROM alliance_enrolments
UNION ALL SELECT substr(admitted_on, 1, 7), school, course_code, home_school, 'admitted'
       FROM alliance_enrolments WHERE admitted_on != ''
UNION ALL SELECT substr(cancelled_on, 1, 7), school, course_code, home_school, 'cancelled'
       FROM alliance_enrolments WHERE cancelled_on != ''
UNION ALL SELECT substr(result_on, 1, 7), school, course_code, home_school, result
       FROM alliance_enrolments WHERE result != ''
UNION ALL SELECT substr(c.issued_on, 1, 7), c.school, c.course_code, e.home_school, 'certificate'
       FROM alliance_certificates c JOIN alliance_enrolments e
       ON e.offering_id = c.offering_id AND e.learner_id = c.learner_id
UNION ALL SELECT substr(r.recognised_on, 1, 7), c.school, c.course_code, r.home_school,
       'recognised' FROM alliance_recognitions r
       JOIN alliance_certificates c ON c.certificate_id = r.certificate_id
"""


def _month_filter(month: str | None) -> tuple[str, list[Any]]:
    if month is None:
        return "", []
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValidationError("month", f"must look like 2022-09 ({month!r})")
    return "WHERE month = ?", [month]


def monthly_by_course(db: sqlite_utils.Database, month: str | None = None) -> list[CourseMonth]:
    """Requests, admissions, cancellations, results and certificates per course and month."""
    where, params = _month_filter(month)
    rows = db.execute(
        f"SELECT a.month, a.school, a.course_code, "
        f" (SELECT course_name FROM alliance_offerings o WHERE o.school = a.school "
        f"  AND o.course_code = a.course_code LIMIT 1), "
        f" SUM(kind='requested'), SUM(kind='admitted'), SUM(kind='cancelled'), "
        f" SUM(kind='passed'), SUM(kind='failed'), SUM(kind='disqualified'), "
        f" SUM(kind='certificate') "
        f"FROM ({_ACTIVITY}) a {where} GROUP BY a.month, a.school, a.course_code "
        f"ORDER BY a.month, a.school, a.course_code", params)
    return [CourseMonth(month=r[0], school=r[1], course_code=r[2], course_name=r[3] or "",
                        requested=r[4], admitted=r[5], cancelled=r[6], passed=r[7],
                        failed=r[8], disqualified=r[9], certificates=r[10]) for r in rows]


def monthly_by_school(db: sqlite_utils.Database, month: str | None = None) -> list[SchoolMonth]:
    """Per school and month: its learners' requests, admissions and passes at other schools;
    the learners it admitted and passed; certificates it issued and recognised (R17)."""
    where, params = _month_filter(month)
    rows = db.execute(monthly_by_school_sql(where), params)
    return [SchoolMonth(month=r[0], school=r[1], sent_requested=r[2], sent_admitted=r[3],
                        sent_passed=r[4], received_admitted=r[5], received_passed=r[6],
                        certificates_issued=r[7], certificates_recognised=r[8]) for r in rows]


def monthly_by_school_sql(where: str = "") -> str:
    """The query of :func:`monthly_by_school`, filtered by ``where`` (a ``WHERE`` clause over
    ``month``): shared with the registrar's portal, whose canned query must give the same
    figures as ``alliance-report --by school``."""
    return (
        f"SELECT month, school, SUM(sr) AS sent_requested, SUM(sa) AS sent_admitted, "
        f"SUM(sp) AS sent_passed, SUM(ra) AS received_admitted, SUM(rp) AS received_passed, "
        f"SUM(ci) AS certificates_issued, SUM(cr) AS certificates_recognised "
        f"FROM (SELECT month, home_school AS school, kind='requested' AS sr, "
        f"  kind='admitted' AS sa, kind='passed' AS sp, 0 AS ra, 0 AS rp, 0 AS ci, "
        f"  kind='recognised' AS cr FROM ({_ACTIVITY}) "
        f" UNION ALL SELECT month, school, 0, 0, 0, kind='admitted', kind='passed', "
        f"  kind='certificate', 0 FROM ({_ACTIVITY})) {where} "
        f"GROUP BY month, school "
        f"HAVING SUM(sr) + SUM(sa) + SUM(sp) + SUM(ra) + SUM(rp) + SUM(ci) + SUM(cr) > 0 "
        f"ORDER BY month, school")


def satisfaction(db: sqlite_utils.Database) -> list[Satisfaction]:
    """Every offering's satisfaction: ratings of its enrolled learners, mean to two places."""
    rows = db.execute(
        "SELECT o.school, o.course_code, o.course_name, o.semester, o.status, o.seats, "
        " COUNT(e.rating), SUM(e.rating) FROM alliance_offerings o "
        "LEFT JOIN alliance_enrolments e ON e.offering_id = o.offering_id "
        " AND e.status NOT IN ('requested', 'approved', 'rejected', 'cancelled') "
        "GROUP BY o.offering_id ORDER BY o.school, o.course_code, o.semester")
    return [Satisfaction(school=r[0], course_code=r[1], course_name=r[2], semester=r[3],
                         status=r[4], enrolled=r[5], ratings=r[6],
                         mean=(Decimal(r[7]) / r[6]).quantize(Decimal("0.01")) if r[6] else None)
            for r in rows]


def recognised_credits(db: sqlite_utils.Database, home_school: str) -> Decimal:
    """Credits on the certificates ``home_school`` recognised as credits and did not reverse."""
    row = db.execute(
        "SELECT SUM(c.credits_cents) FROM alliance_recognitions r JOIN alliance_certificates c "
        "ON c.certificate_id = r.certificate_id WHERE r.home_school = ? AND r.mode = 'credits' "
        "AND r.reversed_on = ''", [home_school]).fetchone()
    return from_cents(row[0])
