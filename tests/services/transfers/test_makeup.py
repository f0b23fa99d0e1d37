"""The makeup path (补考, R7, R13): pending until the makeup passes, then posted, or voided."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditledger.domain import Conditions, ConversionStatus, TransferKind, achievement_account
from creditledger.errors import (
    InsufficientCreditsError,
    NotAuthorisedError,
    NotPendingError,
    ValidationError,
)

from .builders import category_rule, certificate_rule
from .world import TODAY, World

KJ2103 = "requirement/GZCC/530302/course/KJ2103"


def pending(world: World) -> tuple[Any, Any]:
    world.publish(certificate_rule(conditions=Conditions(makeup_pass_mark=Decimal(60))),
                  category_rule("direct", credits="1.00"))
    cert = world.certificate()
    conversion = world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id],
                                    rule_id="cert", signer=world.gzcc, today=TODAY)
    return cert, conversion


def test_a_makeup_conversion_reserves_credits_and_waits(world: World) -> None:
    cert, conversion = pending(world)
    assert [t.kind for t in conversion.transfers] == [TransferKind.PENDING]
    ledger = world.bank.credit_transfers("S1")
    assert world.bank.exemptions("S1") == ()
    assert ledger.balance(KJ2103).pending == Decimal("4.00")
    assert ledger.balance(KJ2103).posted == Decimal(0)
    with pytest.raises(InsufficientCreditsError):  # reserved: no double counting meanwhile
        world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="direct",
                           signer=world.gzcc, today=TODAY)


def test_a_passed_makeup_posts_the_conversion_and_grants_the_exemption(world: World) -> None:
    _, conversion = pending(world)
    with pytest.raises(ValidationError, match="does not reach the pass mark 60"):
        world.bank.post_pending(learner_id="S1", conversion_id=conversion.id,
                                makeup_score=Decimal(55), signer=world.gzcc, today=TODAY)
    with pytest.raises(NotAuthorisedError):
        world.bank.post_pending(learner_id="S1", conversion_id=conversion.id,
                                makeup_score=Decimal(75), signer=world.lnpc, today=TODAY)
    world.bank.post_pending(learner_id="S1", conversion_id=conversion.id,
                            makeup_score=Decimal(75), signer=world.gzcc, today=date(2022, 9, 20))
    ledger = world.bank.credit_transfers("S1")
    state = ledger.conversion(conversion.id)
    assert state.status is ConversionStatus.POSTED
    assert [t.kind for t in state.transfers] == [TransferKind.PENDING,
                                                 TransferKind.POSTED_FROM_PENDING]
    assert state.transfers[1].pending_id == state.transfers[0].id
    assert ledger.balance(KJ2103).posted == Decimal("4.00")
    assert ledger.balance(KJ2103).pending == Decimal(0)
    (exempt,) = world.bank.exemptions("S1")
    assert exempt.granted_on == date(2022, 9, 20)
    with pytest.raises(NotPendingError):
        world.bank.void_pending(learner_id="S1", conversion_id=conversion.id, reason="late",
                                signer=world.gzcc, today=TODAY)


def test_a_voided_conversion_releases_the_credits(world: World) -> None:
    cert, conversion = pending(world)
    world.bank.void_pending(learner_id="S1", conversion_id=conversion.id,
                            reason="makeup failed (48)", signer=world.gzcc, today=TODAY)
    ledger = world.bank.credit_transfers("S1")
    assert ledger.conversion(conversion.id).status is ConversionStatus.VOIDED
    assert all(b.posted == 0 and b.pending == 0 for b in ledger.accounts.values())
    assert world.bank.exemptions("S1") == ()
    again = world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id],
                               rule_id="cert", signer=world.gzcc, today=TODAY)
    assert again.id != conversion.id  # a new attempt, not the voided one


def test_revoking_the_source_of_a_pending_conversion_voids_it(world: World) -> None:
    cert, conversion = pending(world)
    world.bank.revoke(cert.id, reason="fraud", note="forged certificate",
                      signer=world.keys["ISSUER"], today=TODAY)
    ledger = world.bank.credit_transfers("S1")
    state = ledger.conversion(conversion.id)
    assert state.status is ConversionStatus.REVERSED
    assert [t.kind for t in state.transfers] == [TransferKind.PENDING, TransferKind.VOIDED]
    assert ledger.balance(achievement_account(cert.id)).drawn == 0
