"""Queries over the read models: typed results a school system or the CLI can show.

Every function takes the views database (``sqlite_utils.Database``) that a
:class:`~creditledger.projections.runner.Projector` keeps up to date.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import sqlite_utils

from creditledger.domain import Category
from creditledger.errors import NotFoundError
from creditledger.projections.credits import from_cents


class TranscriptLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a learner's transcript, with the position of its signed event."""

    position: int
    entry: str
    achievement_id: str
    title: str
    kind: str
    category: str
    credits: Decimal
    detail: str


class CatalogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A course or a certificate found in the catalog."""

    type: str  # "course" or "certificate"
    institution: str
    code: str
    name: str
    category: str | None = None
    credits: Decimal | None = None
    levels: tuple[str, ...] = ()
    position: int = 0


class StatRow(msgspec.Struct, frozen=True, kw_only=True):
    """Credits recognised (net of revocations) and achievement counts for one group."""

    group: tuple[str, ...]
    achievements: int
    revoked: int
    credits: Decimal


def _learner_exists(db: sqlite_utils.Database, learner_id: str) -> None:
    if db.execute("SELECT 1 FROM accounts WHERE learner_id=?", [learner_id]).fetchone() is None:
        raise NotFoundError("learner", learner_id, "learner_id")


def balances(db: sqlite_utils.Database, learner_id: str) -> dict[Category, Decimal]:
    """A learner's credits per category (every category present), from the read model."""
    _learner_exists(db, learner_id)
    result = dict.fromkeys(Category, from_cents(0))
    for category, amount in db.execute(
        "SELECT category, credits_cents FROM balances WHERE learner_id=?", [learner_id]
    ):
        result[Category(category)] = from_cents(amount)
    return result


def transcript(db: sqlite_utils.Database, learner_id: str) -> list[TranscriptLine]:
    """A learner's achievements, revocations (and, with transfers, conversions), in order."""
    _learner_exists(db, learner_id)
    rows = db.execute(
        "SELECT position, entry, achievement_id, title, kind, category, credits_cents, detail "
        "FROM transcript WHERE learner_id=? ORDER BY position", [learner_id])
    lines = [
        TranscriptLine(position=r[0], entry=r[1], achievement_id=r[2], title=r[3], kind=r[4],
                       category=r[5], credits=from_cents(r[6]), detail=r[7])
        for r in rows
    ]
    if "transfers" in db.table_names():
        lines += _transfer_lines(db, learner_id)
    return sorted(lines, key=lambda line: (line.position, line.entry))


def _transfer_lines(db: sqlite_utils.Database, learner_id: str) -> list[TranscriptLine]:
    """Conversions into (and reversals out of) the learner's programme requirements, and the
    exemptions (免修) they granted."""
    lines = []
    for r in db.execute(
        "SELECT position, kind, debit_account, credit_account, amount_cents, rule_id, "
        "rule_version, agreement_code, source_achievement_id FROM transfers "
        "WHERE learner_id=? AND (credit_account LIKE 'requirement/%' "
        "OR debit_account LIKE 'requirement/%') ORDER BY position", [learner_id]
    ):
        position, kind, debit, credit, amount, rule, version, agreement, source = r
        into = credit.startswith("requirement/")
        via = f", agreement {agreement}" if agreement else ""
        lines.append(TranscriptLine(
            position=position, entry=f"transfer {kind}", achievement_id=source,
            title=(credit if into else debit).removeprefix("requirement/"), kind="transfer",
            category="", credits=from_cents(amount if into else -amount),
            detail=f"rule {rule} v{version}{via}"))
    for r in db.execute(
        "SELECT position, label, credits_cents, rule_id, sources FROM exemptions "
        "WHERE learner_id=?", [learner_id]
    ):
        lines.append(TranscriptLine(
            position=r[0], entry="exempted (免修)", achievement_id=r[4], title=r[1],
            kind="exemption", category="", credits=from_cents(0),
            detail=f"{from_cents(r[2])} credits by rule {r[3]}"))
    return lines


def search_catalog(
    db: sqlite_utils.Database,
    *,
    text: str | None = None,
    category: str | None = None,
    level: str | None = None,
    institution: str | None = None,
    limit: int = 100,
) -> list[CatalogEntry]:
    """Courses and certificates by code or name (substring), category, level, institution."""
    found: list[CatalogEntry] = []
    like = f"%{text}%" if text else "%"
    if level is None:
        clauses, params = ["(code LIKE ? OR name LIKE ?)"], [like, like]
        if category:
            clauses.append("category = ?")
            params.append(Category.parse(category, "category").value)
        if institution:
            clauses.append("owner = ?")
            params.append(institution)
        for r in db.execute(
            "SELECT owner, code, name, category, credits_cents, position FROM courses WHERE "
            + " AND ".join(clauses) + " ORDER BY owner, code LIMIT ?", [*params, limit]
        ):
            found.append(CatalogEntry(type="course", institution=r[0], code=r[1], name=r[2],
                                      category=r[3], credits=from_cents(r[4]), position=r[5]))
    if category is None:
        clauses, params = ["(code LIKE ? OR name LIKE ? OR name_en LIKE ?)"], [like, like, like]
        if institution:
            clauses.append("issuer = ?")
            params.append(institution)
        for r in db.execute(
            "SELECT issuer, code, name, levels, position FROM certificates WHERE "
            + " AND ".join(clauses) + " ORDER BY issuer, code LIMIT ?", [*params, limit]
        ):
            levels = tuple(r[3].split(",")) if r[3] else ()
            if level is None or level in levels:
                found.append(CatalogEntry(type="certificate", institution=r[0], code=r[1],
                                          name=r[2], levels=levels, position=r[4]))
    return found[:limit]


STAT_GROUPS = {
    "kind": "kind",
    "institution": "certified_by",
    "category": "category",
    "term": "COALESCE(term, substr(recognised_on, 1, 4))",
    "year": "substr(recognised_on, 1, 4)",
    "level": "level",
    "learner_type": "learner_type",
    "programme": "programme_code",
}


def credit_statistics(db: sqlite_utils.Database, by: tuple[str, ...] = ("kind",)) -> list[StatRow]:
    """Credits recognised, net of revocations, grouped by any of :data:`STAT_GROUPS` (R10)."""
    if not by:
        by = ("kind",)
    unknown = [g for g in by if g not in STAT_GROUPS]
    if unknown:
        from creditledger.errors import ValidationError

        raise ValidationError("by", f"unknown grouping {unknown}; use {sorted(STAT_GROUPS)}")
    columns = ", ".join(STAT_GROUPS[g] for g in by)
    sql = (
        f"SELECT {columns}, COUNT(*), SUM(status='revoked'), "
        "SUM(CASE WHEN status='recognised' THEN credits_cents ELSE 0 END) "
        f"FROM achievements GROUP BY {columns} ORDER BY {columns}"
    )
    rows: list[StatRow] = []
    for r in db.execute(sql):
        n = len(by)
        rows.append(StatRow(group=tuple("" if v is None else str(v) for v in r[:n]),
                            achievements=r[n], revoked=r[n + 1] or 0,
                            credits=from_cents(r[n + 2])))
    return rows


def rows(db: sqlite_utils.Database, table: str) -> list[dict[str, Any]]:
    """Every row of a read-model table (for export)."""
    return list(db[table].rows)
