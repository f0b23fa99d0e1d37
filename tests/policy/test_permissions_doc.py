"""``docs/permissions.md`` shows the matrix the policy enforces: generated from the rules, and
checked here. Run this file (``python tests/policy/test_permissions_doc.py``) to regenerate it."""

from __future__ import annotations

import sys
from pathlib import Path

from creditledger.domain.policy.matrix import BEGIN, END, matrix
from creditledger.domain.policy.rules import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def with_current_matrix(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n\n" + matrix() + "\n" + text[end:]


def test_the_permissions_doc_shows_the_matrix_the_policy_enforces() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == with_current_matrix(text), \
        "docs/permissions.md is stale: run python tests/policy/test_permissions_doc.py"


def test_the_matrix_has_a_row_for_every_event_type_the_policy_names() -> None:
    rows = [line for line in matrix().splitlines()[2:] if line.startswith("| `")]
    assert len(rows) == len(RULES)
    assert all(line.count("✓") == len(RULES[topic].roles) for line, topic in
               zip(rows, sorted(RULES, key=lambda t: tuple(t.rpartition(":")[2].split(".", 1))),
                   strict=True))


if __name__ == "__main__":
    DOC.write_text(with_current_matrix(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"{DOC} regenerated\n")
