"""The whole path, from offering to recognition at the home school, in both kinds of school
(seed 002 §三): a credit-system school converts the certificate into an exemption (免修) under
its agreement with the offering school; a school without a credit system records a grade."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from creditledger import verify_ledger
from creditledger.audit.credential import dumps, verify_credential
from creditledger.domain import Category
from creditledger.domain.alliance import (
    CertificateStatus,
    EnrolmentStatus,
    OfferingStatus,
    RecognitionMode,
)
from creditledger.services.core import ledger_of

from .world import AGREEMENT, ASSESSED, OPENED, RULE, SEMESTER, TERM_DAY, World, agreement

HOME_DAY = date(2023, 1, 20)


def test_a_credit_system_school_converts_the_certificate_into_an_exemption(world: World) -> None:
    bank = world.bank
    agreement(world)
    offering = world.offer()
    assert offering.status is OfferingStatus.PUBLISHED
    learner = world.learner("HNAT-2022-0107", "HNAT")
    request = bank.request_enrolment(offering.id, learner_id=learner, signer=world.key("HNAT"),
                                     today=OPENED)
    assert request.status is EnrolmentStatus.REQUESTED
    bank.approve_enrolment(offering.id, learner_id=learner, signer=world.key("HNAT"),
                           today=OPENED)                                       # 资格审查
    admitted = bank.admit_learner(offering.id, learner_id=learner, signer=world.key("CQAT"),
                                  platform_account="icve-cq-0107", today=TERM_DAY)
    assert (admitted.status, admitted.platform_account) == (EnrolmentStatus.ADMITTED,
                                                           "icve-cq-0107")
    assert bank.course_offering(offering.id).seats_left == 29
    bank.record_absence(offering.id, learner_id=learner, hours=4, signer=world.key("CQAT"),
                        today=date(2022, 10, 8))
    bank.assess(offering.id, learner_id=learner, score=Decimal(86), signer=world.key("CQAT"),
                today=ASSESSED)
    bank.rate_course(offering.id, learner_id=learner, rating=5, signer=world.key("HNAT"),
                     today=ASSESSED)
    issued = bank.issue_course_certificate(offering.id, learner_id=learner,
                                           signer=world.key("CQAT"), today=ASSESSED)
    assert issued.status is CertificateStatus.ISSUED
    sealed = bank.countersign_course_certificate(issued.id, signer=world.sec, today=ASSESSED)
    assert sealed.status is CertificateStatus.SEALED

    document = bank.export_course_certificate(sealed.id)
    assert verify_credential(document).credits == Decimal("2.00")
    recognition = bank.import_course_certificate(dumps(document), signer=world.key("HNAT"),
                                                 rule_id=RULE, agreement_code=AGREEMENT,
                                                 today=HOME_DAY)
    assert recognition.mode is RecognitionMode.CREDITS
    achievement = bank.achievement(recognition.achievement_id)  # type: ignore[arg-type]
    assert achievement.record.certified_by == "CQAT"
    assert achievement.record.course is not None and achievement.record.course.score == 86
    assert achievement.record.evidence.reference == f"urn:uuid:{sealed.id}"
    assert bank.balances(learner)[Category.MAJOR_ELECTIVE] == Decimal("2.00")
    (exempt,) = bank.exemptions(learner)
    assert (exempt.target.code, exempt.conversion_id) == ("AQ2105", recognition.conversion_id)
    assert bank.course_certificate(sealed.id).recognised_by == "HNAT"
    assert verify_ledger(world.path).fault is None


def test_a_school_without_a_credit_system_records_a_grade(world: World) -> None:
    offering = world.offer()
    learner = world.learner("LYVC-2022-0031", "LYVC")
    certificate = world.passed(offering.id, learner, "LYVC", score="72.5")
    recognition = world.bank.import_course_certificate(
        world.bank.export_course_certificate(certificate), signer=world.key("LYVC"),
        today=HOME_DAY)
    assert recognition.mode is RecognitionMode.GRADE and recognition.achievement_id is None
    assert recognition.grade is not None
    assert (recognition.grade.course_name, recognition.grade.score,
            recognition.grade.hours) == ("安全检测与监控技术", Decimal("72.5"), 32)
    assert world.bank.account(learner).total_balance() == 0       # a grade, no credits


def test_a_makeup_pass_is_certified_and_says_so(world: World) -> None:
    bank, cq = world.bank, world.key("CQAT")
    offering = world.offer()
    learner = world.learner("LYVC-2022-0032", "LYVC")
    world.admitted(offering.id, learner, "LYVC")
    bank.assess(offering.id, learner_id=learner, score=Decimal(48), signer=cq, today=ASSESSED)
    bank.decide_makeup(offering.id, learner_id=learner, allowed=True, signer=cq,
                       today=ASSESSED)
    bank.assess_makeup(offering.id, learner_id=learner, score=Decimal(66), signer=cq,
                       today=date(2023, 3, 1))
    certificate = bank.issue_course_certificate(offering.id, learner_id=learner, signer=cq,
                                                today=date(2023, 3, 2))
    assert (certificate.facts.score, certificate.facts.by_makeup) == (Decimal(66), True)
    bank.countersign_course_certificate(certificate.id, signer=world.sec)
    document = bank.export_course_certificate(certificate.id)
    assert document["credentialSubject"]["byMakeup"] is True
    assert document["credentialSubject"]["result"][0]["value"] == "66"


def test_retrying_any_step_writes_nothing_new(world: World) -> None:
    bank = world.bank
    offering = world.offer()
    learner = world.learner("HNAT-2022-0001", "HNAT")
    certificate = world.passed(offering.id, learner, "HNAT")
    document = bank.export_course_certificate(certificate)
    first = bank.import_course_certificate(document, signer=world.key("HNAT"), today=HOME_DAY)
    size = world.size()
    assert bank.submit_offering(alliance="ESVEA", semester=SEMESTER,
                                course=bank.course_offering(offering.id).course,
                                signer=world.key("CQAT"), today=date(2022, 6, 20)).id == offering.id
    bank.admit_member(alliance="ESVEA", school="HNAT", signer=world.sec)
    bank.request_enrolment(offering.id, learner_id=learner, signer=world.key("HNAT"),
                           today=OPENED)
    bank.issue_course_certificate(offering.id, learner_id=learner, signer=world.key("CQAT"))
    bank.countersign_course_certificate(certificate, signer=world.sec)
    again = bank.import_course_certificate(document, signer=world.key("HNAT"))
    assert again.id == first.id and world.size() == size


def test_the_secretariat_withdraws_a_course_citing_satisfaction(world: World) -> None:
    bank = world.bank
    offering = world.offer()
    for n, rating in enumerate((2, 1, 3)):
        learner = world.learner(f"HNAT-{n}", "HNAT")
        world.admitted(offering.id, learner, "HNAT")
        bank.rate_course(offering.id, learner_id=learner, rating=rating,
                         signer=world.key("CQAT"), today=TERM_DAY)
    assert bank.satisfaction(offering.id) == (Decimal("2.00"), 3)
    withdrawn = bank.withdraw_offering(offering.id, reason="学生满意度低于 3 分（准入退出）",
                                       signer=world.sec, today=date(2022, 12, 1))
    assert withdrawn.status is OfferingStatus.WITHDRAWN
    event = [e for e in ledger_of(bank).repository.event_store.get(offering.id)][-1]
    assert (event.satisfaction, event.ratings) == (Decimal("2.00"), 3)  # type: ignore[attr-defined]


def test_a_school_that_adopts_a_credit_system_recognises_credits(world: World) -> None:
    bank = world.bank
    offering = world.offer()
    learner = world.learner("LYVC-2023-0001", "LYVC")
    certificate = world.passed(offering.id, learner, "LYVC")
    assert bank.declare_credit_system(has_credit_system=True,
                                      signer=world.key("LYVC")).has_credit_system
    recognition = bank.import_course_certificate(bank.export_course_certificate(certificate),
                                                 signer=world.key("LYVC"),
                                                 category="public_basic", today=HOME_DAY)
    assert recognition.mode is RecognitionMode.CREDITS
    assert bank.balances(learner)[Category.PUBLIC_BASIC] == Decimal("2.00")
