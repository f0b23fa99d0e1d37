"""Revoking a certificate at the offering school reverses its recognition at the home school,
in the same signed commit: the achievement is revoked, its credits reversed, the conversion
and exemption compensated; a grade is marked reversed. An import racing the revocation
conflicts on the certificate and, retried, sees it revoked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditledger import verify_ledger
from creditledger.domain.alliance import CertificateStatus
from creditledger.errors import CertificateRevokedError
from creditledger.services.bank import CreditBank

from .world import AGREEMENT, RULE, World, agreement

HOME_DAY, REVOKED = date(2023, 1, 20), date(2023, 2, 1)


def commits(world: World) -> int:
    return verify_ledger(world.path).commits


def test_revocation_reverses_credits_conversion_and_exemption_in_one_commit(
        world: World) -> None:
    bank = world.bank
    agreement(world)
    offering = world.offer()
    learner = world.learner("HNAT-1", "HNAT")
    certificate = world.passed(offering.id, learner, "HNAT")
    recognition = bank.import_course_certificate(
        bank.export_course_certificate(certificate), signer=world.key("HNAT"), rule_id=RULE,
        agreement_code=AGREEMENT, today=HOME_DAY)
    assert bank.exemptions(learner) and bank.account(learner).total_balance() == 2
    before = commits(world)
    bank.revoke_course_certificate(certificate, reason="fraud", note="代考，经查属实",
                                   signer=world.key("CQAT"), today=REVOKED)
    assert commits(world) == before + 1
    assert bank.course_certificate(certificate).status is CertificateStatus.REVOKED
    assert bank.certificate_recognition(certificate).reversed
    achievement = bank.achievement(recognition.achievement_id)  # type: ignore[arg-type]
    assert achievement.is_revoked and achievement.revocation is not None
    assert achievement.revocation.note.endswith("fraud: 代考，经查属实")
    assert bank.account(learner).total_balance() == Decimal(0)
    assert bank.exemptions(learner) == ()
    kinds = [t.kind.value for t in bank.credit_transfers(learner).conversion(
        recognition.conversion_id).transfers]  # type: ignore[arg-type]
    assert kinds == ["posted", "reversal"]
    assert verify_ledger(world.path).fault is None


def test_revocation_reverses_a_grade(world: World) -> None:
    offering = world.offer()
    learner = world.learner("LYVC-1", "LYVC")
    certificate = world.passed(offering.id, learner, "LYVC")
    world.bank.import_course_certificate(world.bank.export_course_certificate(certificate),
                                         signer=world.key("LYVC"), today=HOME_DAY)
    world.bank.revoke_course_certificate(certificate, reason="error", note="成绩登记错误",
                                         signer=world.key("CQAT"), today=REVOKED)
    assert world.bank.certificate_recognition(certificate).reversed


def test_an_import_racing_a_revocation_conflicts_and_sees_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = world.bank
    offering = world.offer()
    learner = world.learner("HNAT-1", "HNAT")
    certificate = world.passed(offering.id, learner, "HNAT")
    document = bank.export_course_certificate(certificate)
    stale = [bank._course_certificate(certificate) for _ in range(3)]  # read before revoking
    bank.revoke_course_certificate(certificate, reason="fraud", note="代考",
                                   signer=world.key("CQAT"), today=REVOKED)
    real = CreditBank._course_certificate

    def reads(bank_: CreditBank, certificate_id: Any) -> Any:
        return stale.pop() if stale else real(bank_, certificate_id)

    monkeypatch.setattr(CreditBank, "_course_certificate", reads)
    size = world.size()
    with pytest.raises(CertificateRevokedError):
        bank.import_course_certificate(document, signer=world.key("HNAT"), today=HOME_DAY)
    assert not stale and world.size() == size
    assert bank.account(learner).total_balance() == 0
