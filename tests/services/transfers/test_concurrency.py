"""Concurrent writers: the invariants live in one aggregate per learner, so a writer working
from a stale copy conflicts instead of double counting; the facade reloads and re-checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from eventsourcing.persistence import RecordConflictError

from creditledger.domain import ConversionStatus, RuleVersionRef, rule_set_id, source_facts
from creditledger.domain.transfers.conversion import ConversionRequest
from creditledger.errors import InsufficientCreditsError
from creditledger.services.bank import CreditBank
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import KEK

from .builders import category_rule, certificate_rule
from .world import TODAY, World


def test_a_stale_ledger_cannot_be_saved_over_a_newer_one(world: World) -> None:
    world.publish(certificate_rule(), category_rule(credits="3.00"))
    cert = world.certificate()
    stale = world.bank._credit_transfers("S1")  # a live copy, as another writer holds it
    world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    other = CreditBank.open(world.path, kek=KEK)  # a second writer, working from the stale copy
    try:
        stale.convert(ConversionRequest(
            rule=category_rule(credits="3.00"), agreement=None, target_credits=None, on=TODAY,
            rule_ref=RuleVersionRef(rule_set_id=rule_set_id("GZCC"), version=1,
                                    rule_id="elective"),
            sources=(source_facts(world.bank.achievement(cert.id)),)))
        with pytest.raises(RecordConflictError):
            ledger_of(other).save(stale, signer=world.gzcc)
    finally:
        other.close()
    assert world.bank.credit_transfers("S1").available(source_facts(cert)) == 0


def test_the_facade_reloads_after_a_conflict_and_checks_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.publish(certificate_rule(), category_rule(credits="3.00"))
    cert = world.certificate()
    stale = world.bank._credit_transfers("S1")
    world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    loads: list[Any] = [stale]
    real = CreditBank._credit_transfers

    def first_stale(bank: CreditBank, learner_id: str) -> Any:
        return loads.pop() if loads else real(bank, learner_id)

    monkeypatch.setattr(CreditBank, "_credit_transfers", first_stale)
    with pytest.raises(InsufficientCreditsError):  # the retry sees the 4 credits drawn
        world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id],
                           rule_id="elective", signer=world.gzcc, today=TODAY)
    assert not loads


def test_a_source_revoked_while_it_was_being_converted_is_compensated(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.publish(certificate_rule())
    cert = world.certificate()
    world.bank.revoke(cert.id, reason="fraud", note="forged", signer=world.keys["ISSUER"],
                      today=TODAY)

    def stale_facts(achievement_id: Any) -> Any:  # read before the revocation committed
        facts = source_facts(world.bank.achievement(achievement_id))
        return msgspec.structs.replace(facts, revoked=False)

    monkeypatch.setattr(world.bank, "_facts", stale_facts)
    done = world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id],
                              rule_id="cert", signer=world.gzcc, today=TODAY)
    ledger = world.bank.credit_transfers("S1")
    assert ledger.conversion(done.id).status is ConversionStatus.REVERSED
    assert world.bank.exemptions("S1") == ()
    assert ledger.available(source_facts(cert)) == Decimal("4.00")
