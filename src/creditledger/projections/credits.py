"""Read models of the credit bank: the catalog, accounts, balances, achievements, transcripts.

Credits are stored as integer hundredths (``*_cents``) so sums in SQL stay exact; queries turn
them back into ``Decimal``. Every row that comes from an event keeps the event's ``position`` in
the signed chain, so a reader can go from any line to its proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

import sqlite_utils
from eventsourcing.utils import get_topic

from creditledger.domain import Achievement, Certificate, Course, Institution, LearnerAccount
from creditledger.domain.programme import Programme
from creditledger.domain.values import is_sealed
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
    # ``_value_`` is what Enum's ``value`` property returns, without the descriptor's cost.
    return x._value_ if isinstance(x, Enum) else getattr(x, "value", x)


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
    """Learner accounts, balances per category, achievements and transcripts (R2–R5, R15).

    No personal field is projected (data minimisation): ``accounts.personal_data_status`` says
    only where the learner's personal data is — ``sealed`` in the ledger, ``plaintext`` (a
    ledger of policy 1) or ``erased`` (docs/privacy.md)."""

    name: str = "credits"
    version: int = 3  # 2: corrections (Achievement.Corrected); 3: personal_data_status
    tables: tuple[str, ...] = ("accounts", "balances", "achievements", "transcript")
    topics: frozenset[str] = frozenset({
        _topic(LearnerAccount, "Opened"), _topic(LearnerAccount, "Enrolled"),
        _topic(LearnerAccount, "Credited"), _topic(LearnerAccount, "Reversed"),
        _topic(LearnerAccount, "PersonalDataErased"), _topic(Achievement, "Recognised"),
        _topic(Achievement, "Revoked"),
        _topic(Achievement, "Corrected"),
    })

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("accounts").create(
            {"account_id": str, "learner_id": str, "learner_type": str,
             "home_institution": str, "programme_code": str, "position": int,
             "personal_data_status": str},
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
        # No secondary index on achievements: no query of the library or the portal looks
        # them up by learner (the transcript table has that, clustered by its key) or by
        # kind, and each index cost about 1 µs of every row's insert at catch-up. Views built
        # before keep theirs (same rows, same answers).
        db.table("transcript").create(
            {"learner_id": str, "position": int, "entry": str, "achievement_id": str,
             "title": str, "kind": str, "category": str, "credits_cents": int,
             "detail": str},
            pk=("learner_id", "position"), if_not_exists=True)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        """Apply ``changes`` in order. The frequent events (Opened, Credited, Reversed,
        Recognised) are buffered and written with one ``executemany`` per statement; the
        buffers are flushed before anything whose outcome could depend on their order
        (Enrolled, Revoked, a credit recorded before its account's Opened), so the tables end
        exactly as if every event had been applied on its own, in order."""
        batch = _CreditsBatch(db, changes)
        for c in changes:
            kind = c.topic.rsplit(".", 1)[-1]
            if kind == "Recognised":
                batch.recognised(c)
            elif kind == "Credited":
                batch.credit(c, +1)
            elif kind == "Opened":
                batch.open(c)
            elif kind == "Reversed":
                batch.credit(c, -1)
            else:  # Enrolled, Revoked, Corrected: rare; applied on their own, in order
                batch.flush()
                getattr(self, f"_{kind}")(db, c)
                batch.forget()
        batch.flush()

    def _Opened(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute(_INSERT_ACCOUNT, _account_row(c))

    def _PersonalDataErased(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE accounts SET personal_data_status='erased' WHERE account_id=?",
                   [c.originator_id])

    def _Enrolled(self, db: sqlite_utils.Database, c: Change) -> None:
        db.execute("UPDATE accounts SET home_institution=?, programme_code=? WHERE account_id=?",
                   [c.state["institution"], c.state["programme_code"], c.originator_id])

    def _Credited(self, db: sqlite_utils.Database, c: Change) -> None:
        self._add(db, c, +1)

    def _Reversed(self, db: sqlite_utils.Database, c: Change) -> None:
        self._add(db, c, -1)

    def _add(self, db: sqlite_utils.Database, c: Change, sign: int) -> None:
        db.execute(_ADD_TO_BALANCE, _balance_row(c, sign))

    def _Recognised(self, db: sqlite_utils.Database, c: Change) -> None:
        account = db.execute(_SELECT_ACCOUNT, [c.state["record"].learner_id]).fetchone()
        achievement, line = _recognised_rows(c, account or _NO_ACCOUNT)
        db.execute(_INSERT_ACHIEVEMENT, achievement)
        db.execute(_INSERT_LINE, line)

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

    def _Corrected(self, db: sqlite_utils.Database, c: Change) -> None:
        fix = c.state["correction"]
        db.execute("UPDATE achievements SET score=? WHERE achievement_id=?",
                   [str(fix.score), c.originator_id])
        row = db.execute(
            "SELECT learner_id, title, kind, category FROM achievements WHERE achievement_id=?",
            [c.originator_id]).fetchone()
        if row is not None:
            learner_id, title, kind, category = row
            self._line(db, learner_id, c, "corrected", title, kind, category, 0,
                       f"score {fix.previous_score} → {fix.score}: {fix.reason}")

    @staticmethod
    def _line(db: sqlite_utils.Database, learner_id: str, c: Change, entry: str, title: str,
              kind: str, category: str, amount: int, detail: str) -> None:
        db.execute(_INSERT_LINE, [learner_id, c.position, entry, c.originator_id, title, kind,
                                  category, amount, detail])


# -- the credits projection's statements and rows ------------------------------------------------

_INSERT_ACCOUNT = "INSERT INTO accounts VALUES (?,?,?,?,?,?,?)"
_ADD_TO_BALANCE = (
    "INSERT INTO balances (learner_id, category, credits_cents) "
    "SELECT learner_id, ?, ? FROM accounts WHERE account_id=? "
    "ON CONFLICT (learner_id, category) DO UPDATE SET "
    "credits_cents = credits_cents + excluded.credits_cents")
_SELECT_ACCOUNT = ("SELECT learner_type, home_institution, programme_code FROM accounts "
                   "WHERE learner_id=?")
_INSERT_ACHIEVEMENT = (
    "INSERT INTO achievements VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_INSERT_LINE = "INSERT INTO transcript VALUES (?,?,?,?,?,?,?,?,?)"
_NO_ACCOUNT: tuple[Any, Any, Any] = (None, None, None)
_IN_CHUNK = 512  # learner ids per lookup statement (SQLite allows 999 parameters or more)


@cache
def _select_accounts(n: int) -> str:
    return ("SELECT learner_id, learner_type, home_institution, programme_code FROM accounts "
            f"WHERE learner_id IN ({','.join('?' * n)})")


def _account_row(c: Change) -> list[Any]:
    s = c.state
    # personal_data_status: never the data, only where it is (sealed, plaintext, or erased);
    # named so that no reader (the portal) takes the column for personal data
    return [c.originator_id, s["learner_id"], _value(s["learner_type"]), s["home_institution"],
            s["programme_code"], c.position,
            "sealed" if is_sealed(s["personal_data"]) else "plaintext"]


def _balance_row(c: Change, sign: int) -> list[Any]:
    return [_value(c.state["category"]), sign * cents(c.state["amount"]), c.originator_id]


def _recognised_rows(c: Change, account: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """The ``achievements`` row and the ``transcript`` line of a Recognised event, given the
    learner's (learner_type, home_institution, programme_code) at that point of the log."""
    r = c.state["record"]
    course, cert, rec = r.course, r.certificate, r.learning_record
    kind, method, category = _value(r.kind), _value(r.method), _value(r.category)
    credits = cents(r.credits)
    achievement = [
        c.originator_id, r.learner_id, kind, r.title, r.certified_by, method, category,
        credits, "recognised",
        course.term if course else None,
        course.course_code if course else None,
        cert.certificate_code if cert else None,
        _value(cert.level) if cert and cert.level else None,
        cert.number if cert else (rec.reference if rec else None),
        str(course.score) if course and course.score is not None else None,
        r.recognised_on.isoformat(), *account, c.position, None, None]
    line = [r.learner_id, c.position, "recognised", c.originator_id, r.title, kind, category,
            credits, f"certified by {r.certified_by} ({method}), "
                     f"rule {r.rule.rule_id} v{r.rule.version}"]
    return achievement, line


class _CreditsBatch:
    """Rows of one :meth:`CreditsProjection.apply` call, buffered per statement.

    Buffered writes are flushed in a fixed order (accounts, achievements, transcript, balances),
    which gives the same tables as applying them one by one in log order because:

    - a Recognised event's account columns are looked up *when it is buffered*: in ``known``,
      which holds the accounts table as it was before this batch (read in bulk) overlaid with
      the accounts opened since, so it sees exactly the accounts recorded before it;
    - a balance row reads only an account's ``learner_id``, which never changes once opened; an
      account's Opened comes before its credits, and if a log had it the other way round the
      buffers are flushed first;
    - achievements and transcript lines are inserted only, and read by no buffered statement;
    - everything else (Enrolled, Revoked) is applied on its own after a flush, and then
      ``known`` is forgotten.
    """

    def __init__(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        self.db = db
        self.conn = db.conn
        self.accounts: list[list[Any]] = []
        self.achievements: list[list[Any]] = []
        self.lines: list[list[Any]] = []
        self.balances: list[list[Any]] = []
        self.credited: set[str] = set()  # accounts with a buffered balance row
        self.known: dict[str, tuple[Any, ...] | None] = {}
        self._prefetch([c.state["record"].learner_id for c in changes
                        if c.topic.endswith(".Recognised")])

    def _prefetch(self, learner_ids: list[str]) -> None:
        wanted = list(dict.fromkeys(i for i in learner_ids if i not in self.known))
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            self.known.update(dict.fromkeys(chunk))
            size = 1 << (len(chunk) - 1).bit_length()  # a few statement shapes, all cached
            rows = self.conn.execute(_select_accounts(size), chunk + [None] * (size - len(chunk)))
            for row in rows:
                self.known[row[0]] = row[1:]

    def open(self, c: Change) -> None:
        if c.originator_id in self.credited:
            self.flush()
        row = _account_row(c)
        self.accounts.append(row)
        self.known[row[1]] = (row[2], row[3], row[4])

    def credit(self, c: Change, sign: int) -> None:
        self.balances.append(_balance_row(c, sign))
        self.credited.add(c.originator_id)

    def recognised(self, c: Change) -> None:
        learner_id = c.state["record"].learner_id
        if learner_id not in self.known:
            self._prefetch([learner_id])
        achievement, line = _recognised_rows(c, self.known[learner_id] or _NO_ACCOUNT)
        self.achievements.append(achievement)
        self.lines.append(line)

    def flush(self) -> None:
        for statement, rows in ((_INSERT_ACCOUNT, self.accounts),
                                (_INSERT_ACHIEVEMENT, self.achievements),
                                (_INSERT_LINE, self.lines),
                                (_ADD_TO_BALANCE, self.balances)):
            if rows:
                self.conn.executemany(statement, rows)
                rows.clear()
        self.credited.clear()

    def forget(self) -> None:
        """After an event applied on its own: accounts may have changed, look them up again."""
        self.known.clear()
