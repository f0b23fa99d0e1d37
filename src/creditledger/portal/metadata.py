"""What Datasette is told about the views database: titles (in Chinese where a registrar looks
for them), facets, the canned queries, and who may do what (read only, no arbitrary SQL)."""

from __future__ import annotations

from typing import Any

from creditledger.portal.queries import canned_queries

DATABASE = "creditledger"
"""The database's name in the portal's URLs (``/creditledger/achievements``)."""

TABLES: dict[str, tuple[str, list[str]]] = {
    "accounts": ("学分账户 learner accounts", ["learner_type", "home_institution",
                                             "programme_code"]),
    "balances": ("各类别学分 credits per learner and category", ["category"]),
    "achievements": ("学习成果 achievements", ["kind", "category", "status", "certified_by",
                                           "term", "method"]),
    "transcript": ("成绩单 transcripts (one row per entry)", ["kind", "category", "entry"]),
    "transfers": ("学分转换 transfers (lineage: source_achievement_id, rule, agreement)",
                  ["kind", "rule_id", "agreement_code"]),
    "conversions": ("转换 conversions", ["rule_kind", "status", "rule_id"]),
    "account_balances": ("转换账户 requirement accounts", ["account"]),
    "exemptions": ("免修 exemptions", ["label", "rule_id"]),
    "pilot_quotas": ("1+X 试点指标 pilot quotas", ["year", "certificate_code", "level",
                                               "school"]),
    "sittings": ("1+X 证书考核 exam sittings", ["certificate_code", "level", "major", "passed",
                                            "in_school"]),
    "institutions": ("机构 institutions", ["kind", "has_credit_system"]),
    "programmes": ("专业 programmes", ["institution"]),
    "courses": ("课程 courses", ["owner", "category", "nature", "assessment_method"]),
    "certificates": ("证书 certificates", ["issuer"]),
    "alliance_offerings": ("联盟课程 alliance offerings", ["school", "semester", "status"]),
    "alliance_enrolments": ("联盟选课 alliance enrolments", ["school", "home_school", "status",
                                                        "result"]),
    "alliance_certificates": ("联盟课程证书 alliance certificates", ["school"]),
    "alliance_recognitions": ("联盟学分认定 alliance recognitions", ["home_school", "mode"]),
}
"""Each read-model table's title and the columns it is faceted by."""

HIDDEN = ("_projection_tracking", "transfer_ledgers")

DESCRIPTION = (
    '<p>学分银行 · 门户管理 — the registrar\'s read-only view of the credit bank\'s read models, '
    'kept up to date with the signed ledger while it runs. 学分查询: the canned queries below '
    '(a learner\'s transcript and credits); 统计: credits per category, pass rates, 1+X quota '
    'completion, the alliance\'s monthly report, and <a href="/-/charts">统计图表 charts</a>. '
    'Every table and query downloads as CSV or JSON. No personal data is shown.</p>')


def portal_metadata(withheld: dict[str, str]) -> dict[str, Any]:
    """Datasette's metadata for the portal; ``withheld`` maps each table refused for carrying a
    personal column to the public view served instead (see :mod:`creditledger.portal.privacy`).
    """
    tables: dict[str, Any] = {}
    for table, (title, facets) in TABLES.items():
        tables[table] = {"title": title, "facets": facets}
        if table in withheld:
            tables[withheld[table]] = {"title": title, "facets": facets}
    for table in HIDDEN:
        tables[table] = {"hidden": True}
    for table in withheld:
        tables[table] = {"hidden": True, "allow": False}  # refused to everyone, token or not
    return {
        "title": "学分银行 门户 · Credit bank registrar's portal",
        "description_html": DESCRIPTION,
        "allow_sql": False,  # canned queries only: arbitrary SQL could read withheld columns
        "databases": {DATABASE: {"title": "学分查询 · read models", "tables": tables,
                                 "queries": canned_queries()}},
    }


SETTINGS = {
    "allow_download": False,  # the database file itself: it may carry withheld columns
    "default_allow_sql": False,
    "allow_csv_stream": True,
    "suggest_facets": False,  # suggestions cost a query per column on every page
    "sql_time_limit_ms": 3000,
    "default_facet_size": 20,
}
"""Datasette's settings for the portal."""
