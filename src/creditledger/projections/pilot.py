"""Read models of the 1+X pilots (R18, R20): quotas, exam sittings, pass rates, completion."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec
import sqlite_utils
from eventsourcing.utils import get_topic

from creditledger.domain.pilot import CertificatePilot, ExamSitting
from creditledger.errors import ValidationError
from creditledger.projections.runner import Change


class PilotProjection:
    """Pilot quotas per major and every recorded exam sitting."""

    name: str = "pilot"
    version: int = 1
    tables: tuple[str, ...] = ("pilot_quotas", "sittings")
    topics: frozenset[str] = frozenset({
        get_topic(CertificatePilot.Approved),  # type: ignore[attr-defined]
        get_topic(CertificatePilot.QuotasChanged),  # type: ignore[attr-defined]
        get_topic(ExamSitting.Recorded),  # type: ignore[attr-defined]
    })

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("pilot_quotas").create(
            {"pilot_id": str, "school": str, "issuer": str, "certificate_code": str,
             "level": str, "year": int, "major": str, "quota": int, "changed": int,
             "position": int},
            pk=("pilot_id", "major"), if_not_exists=True)
        db.table("sittings").create(
            {"sitting_id": str, "learner_id": str, "in_school": int, "school": str,
             "major": str, "issuer": str, "certificate_code": str, "level": str, "sat_on": str,
             "passed": int, "position": int},
            pk="sitting_id", if_not_exists=True)
        db.table("sittings").create_index(["certificate_code", "level", "sat_on"],
                                          if_not_exists=True)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        for c in changes:
            s = c.state
            if c.topic.endswith(".Approved"):
                for q in s["quotas"]:
                    db.execute("INSERT INTO pilot_quotas VALUES (?,?,?,?,?,?,?,?,?,?)",
                               [c.originator_id, s["school"], s["issuer"], s["certificate_code"],
                                s["level"].value, s["year"], q.major, q.quota, 0, c.position])
            elif c.topic.endswith(".QuotasChanged"):
                for q in s["quotas"]:
                    db.execute("UPDATE pilot_quotas SET quota=?, changed=1 "
                               "WHERE pilot_id=? AND major=?", [q.quota, c.originator_id, q.major])
            else:
                db.execute("INSERT INTO sittings VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                           [c.originator_id, s["learner_id"], int(s["in_school"]), s["school"],
                            s["major"], s["issuer"], s["certificate_code"], s["level"].value,
                            s["sat_on"].isoformat(), int(s["passed"]), c.position])


class ResultRow(msgspec.Struct, frozen=True, kw_only=True):
    """Candidates (sittings), passes and the pass rate of one group."""

    group: tuple[str, ...]
    candidates: int
    passed: int
    pass_rate: Decimal


class QuotaRow(msgspec.Struct, frozen=True, kw_only=True):
    """A pilot major's quota and the in-school candidates who sat by 31 December (R20)."""

    school: str
    certificate_code: str
    level: str
    year: int
    major: str
    quota: int
    sat: int
    completion: Decimal
    met: bool


RESULT_GROUPS = {"certificate": "certificate_code", "level": "level", "major": "major",
                 "school": "school", "year": "substr(sat_on, 1, 4)"}


def certificate_results(db: sqlite_utils.Database,
                        by: tuple[str, ...] = ("certificate", "level", "major")) -> list[ResultRow]:
    """Candidates and pass rates by certificate, level and major (or any of RESULT_GROUPS)."""
    unknown = [g for g in by if g not in RESULT_GROUPS]
    if unknown or not by:
        raise ValidationError("by", f"group by some of {sorted(RESULT_GROUPS)}")
    columns = ", ".join(RESULT_GROUPS[g] for g in by)
    result = []
    for r in db.execute(f"SELECT {columns}, COUNT(*), SUM(passed) FROM sittings "
                        f"GROUP BY {columns} ORDER BY {columns}"):
        n = len(by)
        rate = (Decimal(r[n + 1]) * 100 / r[n]).quantize(Decimal("0.1"))
        result.append(ResultRow(group=tuple("" if v is None else str(v) for v in r[:n]),
                                candidates=r[n], passed=r[n + 1], pass_rate=rate))
    return result


def quota_completion(db: sqlite_utils.Database, year: int) -> list[QuotaRow]:
    """Quota completion of every pilot major in ``year``: distinct in-school learners who sat the
    certificate's exam at that level between 1 January and 31 December (R20)."""
    rows = db.execute(
        "SELECT q.school, q.certificate_code, q.level, q.year, q.major, q.quota, "
        " (SELECT COUNT(DISTINCT s.learner_id) FROM sittings s WHERE s.in_school = 1 "
        "  AND s.school = q.school AND s.issuer = q.issuer "
        "  AND s.certificate_code = q.certificate_code AND s.level = q.level "
        "  AND s.major = q.major AND s.sat_on BETWEEN ? AND ?) "
        "FROM pilot_quotas q WHERE q.year = ? ORDER BY q.school, q.certificate_code, q.major",
        [f"{year}-01-01", f"{year}-12-31", year])
    result = []
    for school, cert, level, y, major, quota, sat in rows:
        completion = (Decimal(sat) * 100 / quota).quantize(Decimal("0.1")) if quota else \
            Decimal(100)
        result.append(QuotaRow(school=school, certificate_code=cert, level=level, year=y,
                               major=major, quota=quota, sat=sat, completion=completion,
                               met=sat >= quota))
    return result
