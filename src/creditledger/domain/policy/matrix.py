"""The permission matrix (event type × role) as Markdown, generated from :data:`.rules.RULES`.

``docs/permissions.md`` holds it between two marker lines; a test checks it is current. To
regenerate it after a rule changes::

    python tests/policy/test_permissions_doc.py
"""

from __future__ import annotations

from creditledger.domain.policy.roles import Role
from creditledger.domain.policy.rules import RULES

BEGIN = "<!-- matrix: generated from creditledger.domain.policy.rules -->"
END = "<!-- end of matrix -->"
COLUMNS = (Role.ROOT, Role.ADMINISTRATOR, Role.REGISTRAR, Role.ASSESSOR,
           Role.SECRETARIAT_OFFICER, Role.AUDITOR)


def matrix() -> str:
    """The Markdown table: one row per event type, grouped by aggregate; ✓ where a role may
    append it, and for which principal."""
    header = ["event type", *(f"{r.value}<br>{r.zh}" for r in COLUMNS), "for which principal"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for topic in sorted(RULES, key=_sort_key):
        rule = RULES[topic]
        marks = ["✓" if role in rule.roles else "" for role in COLUMNS]
        lines.append("| " + " | ".join([f"`{_name(topic)}`", *marks, rule.describe]) + " |")
    return "\n".join(lines) + "\n"


def _name(topic: str) -> str:
    return topic.rpartition(":")[2]


def _sort_key(topic: str) -> tuple[str, str]:
    aggregate, _, event = _name(topic).partition(".")
    return aggregate, event
