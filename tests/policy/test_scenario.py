"""The permission matrix's ledger holds every event type the write policy names, and verifies."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from creditledger.audit.verify import verify_ledger
from creditledger.domain.policy.rules import RULES

from .scenario import every_rule_ledger


def test_the_scenario_writes_every_event_type_the_policy_names(tmp_path: Path) -> None:
    path = tmp_path / "rules.ledger"
    every_rule_ledger(path).bank.close()
    with closing(sqlite3.connect(path)) as db:
        stored = {row[0] for row in db.execute("SELECT DISTINCT topic FROM stored_events")}
    missing = sorted(set(RULES) - stored)
    assert set(RULES) <= stored, "no event of: " + ", ".join(missing)
    assert verify_ledger(str(path)).fault is None
