"""The portal's canned queries (固定查询): the questions a registrar asks most, as read-only SQL
over the views database, giving the same figures as the CLI's read commands."""

from __future__ import annotations

from typing import Any

from creditledger.domain import Category
from creditledger.projections.alliance import monthly_by_school_sql


def _cents(expression: str) -> str:
    """Cents as the CLI prints credits: a decimal with two places (``12.50``). Every amount is a
    whole number of cents, whose nearest double prints back exactly at two places."""
    return f"printf('%.2f', ({expression}) / 100.0)"


def _percent(part: str, whole: str) -> str:
    """``part * 100 / whole`` to one place, rounded half to even as the CLI's ``Decimal`` is: in
    tenths of a per cent, the quotient q of ``part * 1000`` by ``whole``, plus one if the
    remainder is over half of ``whole``, or exactly half and q odd (``whole`` > 0)."""
    q, r = f"(({part}) * 1000 / ({whole}))", f"(({part}) * 1000 % ({whole}))"
    return (f"printf('%.1f', ({q} + (2 * {r} > ({whole}) OR (2 * {r} = ({whole}) "
            f"AND {q} % 2 = 1))) / 10.0)")


def _category_label(column: str) -> str:
    whens = " ".join(f"WHEN '{c.value}' THEN '{c.zh}'" for c in Category)
    return f"CASE {column} {whens} ELSE {column} END"


_LEARNER_EXISTS = "EXISTS (SELECT 1 FROM accounts WHERE learner_id = :learner_id)"

TRANSCRIPT = f"""
SELECT position, entry, achievement_id, title, kind, category,
       {_cents("credits_cents")} AS credits, detail
FROM transcript WHERE learner_id = :learner_id
UNION ALL
SELECT position, 'transfer ' || kind, source_achievement_id,
       substr(CASE WHEN credit_account LIKE 'requirement/%' THEN credit_account
                   ELSE debit_account END, 13),
       'transfer', '',
       {_cents("CASE WHEN credit_account LIKE 'requirement/%' THEN amount_cents "
               "ELSE -amount_cents END")},
       'rule ' || rule_id || ' v' || rule_version
       || CASE WHEN COALESCE(agreement_code, '') != '' THEN ', agreement ' || agreement_code
               ELSE '' END
FROM transfers WHERE learner_id = :learner_id
  AND (credit_account LIKE 'requirement/%' OR debit_account LIKE 'requirement/%')
UNION ALL
SELECT position, 'exempted (免修)', sources, label, 'exemption', '', '0.00',
       {_cents("credits_cents")} || ' credits by rule ' || rule_id
FROM exemptions WHERE learner_id = :learner_id
ORDER BY position, entry
"""
"""A learner's transcript, as ``creditledger transcript --learner ID`` gives it."""

BALANCES = f"""
WITH category(category, 名称, rank) AS (VALUES {", ".join(
    f"('{c.value}', '{c.zh}', {i})" for i, c in enumerate(Category))})
SELECT c.category, c.名称, {_cents("COALESCE(b.credits_cents, 0)")} AS credits
FROM category c LEFT JOIN balances b ON b.category = c.category AND b.learner_id = :learner_id
WHERE {_LEARNER_EXISTS} ORDER BY c.rank
"""
"""A learner's credits per category (every category; no row for an unknown learner)."""

CREDITS_PER_CATEGORY = f"""
SELECT category, {_category_label("category")} AS 名称, COUNT(*) AS achievements,
       SUM(status = 'revoked') AS revoked,
       {_cents("SUM(CASE WHEN status = 'recognised' THEN credits_cents ELSE 0 END)")} AS credits
FROM achievements WHERE :institution = '' OR certified_by = :institution
GROUP BY category ORDER BY category
"""
"""Credits recognised, net of revocations, per category (``stats --by category``), for one
certifying institution or (left empty) all."""

QUOTA_COMPLETION = f"""
WITH q AS (
  SELECT q.school, q.certificate_code, q.level, q.year, q.major, q.quota,
    (SELECT COUNT(DISTINCT s.learner_id) FROM sittings s WHERE s.in_school = 1
      AND s.school = q.school AND s.issuer = q.issuer
      AND s.certificate_code = q.certificate_code AND s.level = q.level
      AND s.major = q.major AND s.sat_on BETWEEN :year || '-01-01' AND :year || '-12-31')
      AS sat
  FROM pilot_quotas q WHERE q.year = CAST(:year AS INTEGER))
SELECT school, certificate_code, level, year, major, quota, sat,
       CASE WHEN quota > 0 THEN {_percent("sat", "quota")} ELSE '100.0' END AS completion,
       sat >= quota AS met
FROM q ORDER BY school, certificate_code, major
"""
"""Quota completion of the 1+X pilots in a year (``stats --quotas YEAR``, R20)."""

PASS_RATES = f"""
SELECT certificate_code, level, major, COUNT(*) AS candidates, SUM(passed) AS passed,
       {_percent("SUM(passed)", "COUNT(*)")} AS pass_rate
FROM sittings GROUP BY certificate_code, level, major ORDER BY certificate_code, level, major
"""
"""Candidates and pass rates by certificate, level and major (``stats --certificates``)."""

LINEAGE = f"""
SELECT t.position, t.learner_id, t.kind, t.debit_account, t.credit_account,
       {_cents("t.amount_cents")} AS amount, t.rule_id, t.rule_version, t.agreement_code,
       t.source_achievement_id, a.title AS source_title, a.certified_by AS source_certified_by,
       a.status AS source_status, t.on_date
FROM transfers t LEFT JOIN achievements a ON a.achievement_id = t.source_achievement_id
WHERE :learner_id = '' OR t.learner_id = :learner_id ORDER BY t.position
"""
"""Every credit transfer with the achievement it came from (lineage), for one learner or all."""

ALLIANCE_MONTH = monthly_by_school_sql("WHERE month = :month")
"""The alliance's monthly report per school for a month (``alliance-report --by school``)."""


def canned_queries() -> dict[str, dict[str, Any]]:
    """Datasette's ``queries`` block: each canned query with its title and what it answers."""
    return {
        "learner_transcript": {
            "sql": TRANSCRIPT, "title": "学分查询 · 学习者成绩单 (a learner's transcript)",
            "description": "Achievements, revocations, conversions and exemptions of one "
                           "learner, in ledger order (as `creditledger transcript`)."},
        "learner_balances": {
            "sql": BALANCES, "title": "学分查询 · 各类别学分 (a learner's credits per category)",
            "description": "Credits per category, recognised minus revoked "
                           "(as `creditledger balances`)."},
        "credits_per_category": {
            "sql": CREDITS_PER_CATEGORY, "title": "统计 · 各类别学分 (credits per category)",
            "description": "Credits recognised net of revocations, per category; institution "
                           "empty for all (as `creditledger stats --by category`)."},
        "quota_completion": {
            "sql": QUOTA_COMPLETION, "title": "统计 · 1+X 试点指标完成 (quota completion in YEAR)",
            "description": "Distinct in-school candidates per pilot major in YEAR against its "
                           "quota (as `creditledger stats --quotas YEAR`)."},
        "pass_rates": {
            "sql": PASS_RATES, "title": "统计 · 证书考核通过率 (pass rates)",
            "description": "Candidates and passes per certificate, level and major "
                           "(as `creditledger stats --certificates`)."},
        "alliance_report": {
            "sql": ALLIANCE_MONTH, "title": "联盟每月通报 (alliance report for MONTH)",
            "description": "Per school, for MONTH (2022-09): learners sent and received, "
                           "passes, certificates issued and recognised (as `creditledger "
                           "alliance-report --by school --month MONTH`)."},
        "transfer_lineage": {
            "sql": LINEAGE, "title": "学分转换溯源 (transfers with lineage)",
            "description": "Every conversion with its rule, agreement and the achievement it "
                           "came from; learner_id empty for all (as `creditledger history`)."},
    }
