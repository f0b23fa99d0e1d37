"""Every domain event survives the signed store on each backend: saved, reloaded, equal."""

from __future__ import annotations

from pathlib import Path

from creditledger.crypto.keys import SigningKey
from creditledger.domain.policy import POLICY_OPEN
from creditledger.store.ledger import Ledger

from ..store.contract import assert_intact, ledger_rows
from .scenario import every_event_scenario


def test_every_aggregate_reloads_equal_from_the_ledger(ledger_target: str | Path) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(ledger_target, root, policy=POLICY_OPEN)  # any key writes anything
    try:
        ledger.register_key("GZCP", school.public_key, root_key=root)
        aggregates = every_event_scenario()
        pending = sum(len(a.pending_events) for a in aggregates)
        ledger.save(*aggregates, signer=school)
        reopened = Ledger.open(ledger_target)
        try:
            for aggregate in aggregates:
                again = reopened.repository.get(aggregate.id)
                assert again == aggregate, type(aggregate).__name__
                assert type(again) is type(aggregate) and again.version == aggregate.version
        finally:
            reopened.close()
    finally:
        ledger.close()
    assert assert_intact(ledger_target).events == 3 + pending
    topics = {t for (t,) in ledger_rows(ledger_target, "SELECT DISTINCT topic FROM stored_events")}
    assert len(topics) == 3 + 24  # the genesis, its policy, a registration, the 24 domain events
