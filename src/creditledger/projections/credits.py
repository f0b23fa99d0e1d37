"""Read models of the credit bank: the catalog, accounts, balances, achievements, transcripts.

Credits are stored as integer hundredths (``*_cents``) so sums in SQL stay exact; queries turn
them back into ``Decimal``. Every row that comes from an event keeps the event's ``position`` in
the signed chain, so a reader can go from any line to its proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlite_utils
from eventsourcing.utils import get_topic

from creditledger.domain import Achievement, Certificate, Course, Institution, LearnerAccount
from creditledger.domain.programme import Programme
from creditledger.projections.runner import Change


def cents(amount: Decimal) -> int:
    """Exact integer hundredths of a credit amount (amounts carry at most two places)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(value)


def from_cents(value: int | None) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(Decimal("0.01"))


def _topic(cls: type[Any], name: str) -> str:
    return get_topic(getattr(cls, name))


def _value(x: Any) -> Any:
    """Enums as their value; everything else as is."""
    return getattr(x, "value", x)


class CatalogProjection:
    """Institutions, programmes, courses and certificates, for catalog search (R1, R11, R18)."""

    name: str = "catalog"
    version: int = 1
    tables: tuple[str, ...] = (
        "institutions", "programmes", "programme_courses", "courses", "certificates")
    topics: frozenset[str] = frozenset({
        _topic(Institution, "Registered"), _topic(Institution, "Renamed"),
        _topic(Programme, "Established"), _topic(Programme, "CourseAdded"),
        _topic(Programme, "CourseRemoved"),
        _topic(Course, "Defined"), _topic(Course, "CreditValueRevised"),
        _topic(Certificate, "Registered"), _topic(Certificate, "LevelAdded"),
        _topic(Certificate, "MajorMapped"),
    })

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("institutions").create(
            {"institution_id": str, "code": str, "name": str, "kind": str,
             "has_credit_system": int, "position": int},
            pk="institution_id", if_not_exists=True)
        db.table("programmes").create(
            {"programme_id": str, "institution": str, "code": str, "name": str, "position": int},
            pk="programme_id", if_not_exists=True)
        db.table("programme_courses").create(
            {"programme_id": str, "course_code": str, "category": str},
            pk=("programme_id", "course_code"), if_not_exists=True)
        db.table("courses").create(
            {"course_id": str, "owner": str, "code": str, "name": str, "category": str,
             "nature": str, "course_type": str, "attribute": str, "theory_hours": int,
             "practice_hours": int, "difficulty": str, "credits_cents": int,
             "assessment_method": str, "position": int},
            pk="course_id", if_not_exists=True)
        db.table("certificates").create(
            {"certificate_id": str, "issuer": str, "code": str, "name": str, "name_en": str,
             "levels": str, "majors": str, "position": int},
            pk="certificate_id", if_not_exists=True)
        for table, columns in (("courses", ["owner", "code"]), ("courses", ["name"]),
                               ("courses", ["category"]), ("certificates", ["name"]),
                               ("certificates", ["issuer", "code"])):
            db.table(table).create_index(columns, if_not_exists=True)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        for c in changes:
            event = c.topic.rsplit(".", 1)[-1]
            handler = getattr(self, f"_{c.topic.split(':')[1].split('.')[0].lower()}_{event}")
            handler(db, c)

    def _institution_Registered(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("INSERT INTO institutions VALUES (?,?,?,?,?,?)",
                   [c.originator_id, s["code"], s["name"], _value(s["kind"]),
                    int(s["has_credit_system"]), c.position])

    def _institution_Renamed(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE institutions SET name=? WHERE institution_id=?",
                   [c.state["name"], c.originator_id])

    def _programme_Established(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("INSERT INTO programmes VALUES (?,?,?,?,?)",
                   [c.originator_id, s["institution"], s["code"], s["name"], c.position])

    def _programme_CourseAdded(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("INSERT OR REPLACE INTO programme_courses VALUES (?,?,?)",
                   [c.originator_id, c.state["course_code"], _value(c.state["category"])])

    def _programme_CourseRemoved(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("DELETE FROM programme_courses WHERE programme_id=? AND course_code=?",
                   [c.originator_id, c.state["course_code"]])

    def _course_Defined(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute(
            "INSERT INTO courses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [c.originator_id, s["owner"], s["code"], s["name"], _value(s["category"]),
             s["nature"], s["course_type"], s["attribute"], s["theory_hours"],
             s["practice_hours"], str(s["difficulty"]), cents(s["credits"]),
             _value(s["assessment_method"]), c.position])

    def _course_CreditValueRevised(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("UPDATE courses SET credits_cents=?, position=? WHERE course_id=?",
                   [cents(s["credits"]), c.position, c.originator_id])

    def _certificate_Registered(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("INSERT INTO certificates VALUES (?,?,?,?,?,?,?,?)",
                   [c.originator_id, s["issuer"], s["code"], s["name"], s["name_en"],
                    ",".join(_value(v) for v in s["levels"]), ",".join(s["majors"]),
                    c.position])

    def _certificate_LevelAdded(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE certificates SET levels = levels || ',' || ? WHERE certificate_id=?",
                   [_value(c.state["level"]), c.originator_id])

    def _certificate_MajorMapped(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute(
            "UPDATE certificates SET majors = CASE WHEN majors = '' THEN ? "
            "ELSE majors || ',' || ? END WHERE certificate_id=?",
            [c.state["major"], c.state["major"], c.originator_id])


class CreditsProjection:
    """Learner accounts, balances per category, achievements and transcripts (R2–R5, R15)."""

    name: str = "credits"
    version: int = 1
    tables: tuple[str, ...] = ("accounts", "balances", "achievements", "transcript")
    topics: frozenset[str] = frozenset({
        _topic(LearnerAccount, "Opened"), _topic(LearnerAccount, "Enrolled"),
        _topic(LearnerAccount, "Credited"), _topic(LearnerAccount, "Reversed"),
        _topic(Achievement, "Recognised"), _topic(Achievement, "Revoked"),
    })

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("accounts").create(
            {"account_id": str, "learner_id": str, "learner_type": str,
             "home_institution": str, "programme_code": str, "position": int},
            pk="account_id", if_not_exists=True)
        db.table("accounts").create_index(["learner_id"], unique=True, if_not_exists=True)
        db.table("balances").create(
            {"learner_id": str, "category": str, "credits_cents": int},
            pk=("learner_id", "category"), if_not_exists=True)
        db.table("achievements").create(
            {"achievement_id": str, "learner_id": str, "kind": str, "title": str,
             "certified_by": str, "method": str, "category": str, "credits_cents": int,
             "status": str, "term": str, "course_code": str, "certificate_code": str,
             "level": str, "number": str, "score": str, "recognised_on": str,
             "learner_type": str, "home_institution": str, "programme_code": str,
             "position": int, "revoked_position": int, "revoked_reason": str},
            pk="achievement_id", if_not_exists=True)
        db.table("achievements").create_index(["learner_id"], if_not_exists=True)
        db.table("achievements").create_index(["kind", "certified_by"], if_not_exists=True)
        db.table("transcript").create(
            {"learner_id": str, "position": int, "entry": str, "achievement_id": str,
             "title": str, "kind": str, "category": str, "credits_cents": int,
             "detail": str},
            pk=("learner_id", "position"), if_not_exists=True)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        for c in changes:
            kind = c.topic.rsplit(".", 1)[-1]
            getattr(self, f"_{kind}")(db, c)

    def _Opened(self, db: sqlite_utils.Database, c: Change) -> None:
        s = c.state
        db.execute("INSERT INTO accounts VALUES (?,?,?,?,?,?)",
                   [c.originator_id, s["learner_id"], _value(s["learner_type"]),
                    s["home_institution"], s["programme_code"], c.position])

    def _Enrolled(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE accounts SET home_institution=?, programme_code=? WHERE account_id=?",
                   [c.state["institution"], c.state["programme_code"], c.originator_id])

    def _Credited(self, db: sqlite_utils.Database, c: Change) -> None:
        self._add(db, c, +1)

    def _Reversed(self, db: sqlite_utils.Database, c: Change) -> None:
        self._add(db, c, -1)

    def _add(self, db: sqlite_utils.Database, c: Change, sign: int) -> None:
        db.execute(
            "INSERT INTO balances (learner_id, category, credits_cents) "
            "SELECT learner_id, ?, ? FROM accounts WHERE account_id=? "
            "ON CONFLICT (learner_id, category) DO UPDATE SET "
            "credits_cents = credits_cents + excluded.credits_cents",
            [_value(c.state["category"]), sign * cents(c.state["amount"]), c.originator_id])

    def _Recognised(self, db: sqlite_utils.Database, c: Change) -> None:
        r = c.state["record"]
        course, cert, rec = r.course, r.certificate, r.learning_record
        account = db.execute(
            "SELECT learner_type, home_institution, programme_code FROM accounts "
            "WHERE learner_id=?", [r.learner_id]).fetchone() or (None, None, None)
        db.execute(
            "INSERT INTO achievements VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [c.originator_id, r.learner_id, _value(r.kind), r.title, r.certified_by,
             _value(r.method), _value(r.category), cents(r.credits), "recognised",
             course.term if course else None,
             course.course_code if course else None,
             cert.certificate_code if cert else None,
             _value(cert.level) if cert and cert.level else None,
             cert.number if cert else (rec.reference if rec else None),
             str(course.score) if course and course.score is not None else None,
             r.recognised_on.isoformat(), *account, c.position, None, None])
        self._line(db, r.learner_id, c, "recognised", r.title, _value(r.kind),
                   _value(r.category), cents(r.credits), f"certified by {r.certified_by} "
                   f"({_value(r.method)}), rule {r.rule.rule_id} v{r.rule.version}")

    def _Revoked(self, db: sqlite_utils.Database, c: Change) -> None:
        rv = c.state["revocation"]
        db.execute(
            "UPDATE achievements SET status='revoked', revoked_position=?, revoked_reason=? "
            "WHERE achievement_id=?", [c.position, _value(rv.reason), c.originator_id])
        row = db.execute(
            "SELECT learner_id, title, kind, category, credits_cents FROM achievements "
            "WHERE achievement_id=?", [c.originator_id]).fetchone()
        if row is not None:
            learner_id, title, kind, category, amount = row
            self._line(db, learner_id, c, "revoked", title, kind, category, -amount,
                       f"{_value(rv.reason)}: {rv.note}")

    @staticmethod
    def _line(db: sqlite_utils.Database, learner_id: str, c: Change, entry: str, title: str,
              kind: str, category: str, amount: int, detail: str) -> None:
        db.execute("INSERT INTO transcript VALUES (?,?,?,?,?,?,?,?,?)",
                   [learner_id, c.position, entry, c.originator_id, title, kind, category,
                    amount, detail])
