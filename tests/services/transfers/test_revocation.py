"""Revocation reverses, by compensating transfers, every conversion and exemption resting on
the revoked achievement — in the revocation's own signed commit."""

from __future__ import annotations

from decimal import Decimal

from creditledger.domain import (
    ConversionStatus,
    TransferKind,
    achievement_account,
    credit_transfers_id,
)

from .builders import certificate_rule, module_rule
from .world import TODAY, World

M_TAX = "requirement/GZCC/530302/module/M-TAX"


def test_revoking_a_module_source_reverses_the_module_exemption(world: World) -> None:
    world.publish(module_rule(), certificate_rule())
    cert, training = world.certificate("M1"), world.training("M1")
    world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
    module = world.bank.convert(learner_id="M1", source_achievement_ids=[cert.id, training.id],
                                rule_id="module", signer=world.gzcc, today=TODAY)
    assert [t.amount for t in module.transfers] == [Decimal(4), Decimal(2)]  # module = 6.00
    assert [e.target.code for e in world.bank.exemptions("M1")] == ["M-TAX"]
    size = world.size()
    world.bank.revoke(training.id, reason="fraud", note="forged attendance",
                      signer=world.keys["VTC"], today=TODAY)
    assert world.size() == size + 3  # Revoked, Reversed, SourceReversed: history only grows
    ledger = world.bank.credit_transfers("M1")
    assert world.bank.exemptions("M1") == ()
    assert ledger.balance(M_TAX).posted == 0
    assert ledger.balance(achievement_account(cert.id)).drawn == 0  # the co-source is freed
    state = ledger.conversion(module.id)
    assert state.status is ConversionStatus.REVERSED
    reversals = [t for t in state.transfers if t.kind is TransferKind.REVERSAL]
    assert [t.reverses for t in reversals] == [t.id for t in module.transfers]
    # the certificate alone may now be converted again
    world.bank.convert(learner_id="M1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    assert [e.target.code for e in world.bank.exemptions("M1")] == ["KJ2103"]


def test_the_reversal_is_in_the_revocations_commit_signed_by_the_revoker(world: World) -> None:
    world.publish(certificate_rule())
    cert = world.certificate()
    world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    world.bank.revoke(cert.id, reason="error", note="wrong learner", signer=world.keys["ISSUER"],
                      today=TODAY)
    (seq, key_id), = world.rows(
        "SELECT e.commit_seq, c.key_id FROM stored_events e JOIN ledger_commits c "
        "ON c.seq = e.commit_seq WHERE e.originator_id = ? ORDER BY e.position DESC LIMIT 1",
        (credit_transfers_id("S1").hex,))
    (count,), = world.rows("SELECT event_count FROM ledger_commits WHERE seq = ?", (seq,))
    assert world.bank.principal_of(key_id) == "ISSUER"
    assert count == 3  # achievement Revoked, account Reversed, ledger SourceReversed


def test_revoking_an_unconverted_achievement_leaves_the_transfer_ledger_alone(
    world: World,
) -> None:
    world.publish(certificate_rule())
    used, unused = world.certificate(number="A"), world.certificate(number="B")
    world.bank.convert(learner_id="S1", source_achievement_ids=[used.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    size = world.size()
    world.bank.revoke(unused.id, reason="error", note="duplicate", signer=world.keys["ISSUER"],
                      today=TODAY)
    assert world.size() == size + 2
    assert len(world.bank.exemptions("S1")) == 1
