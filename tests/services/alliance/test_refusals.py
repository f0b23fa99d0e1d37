"""Every illegal step is refused with a typed error that says why, and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.domain.alliance import CertificateRecognition, course_offering_id
from creditledger.errors import (
    CapacityError,
    CertificateRevokedError,
    ConflictError,
    CreditLedgerError,
    DeadlinePassedError,
    DisqualifiedError,
    IllegalTransitionError,
    InvalidCredentialError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)

from .world import ALLIANCE, ASSESSED, OPENED, SEMESTER, TERM_DAY, World, course_info


def refused(world: World, error: type[CreditLedgerError], match: str,
            command: Callable[[], Any]) -> CreditLedgerError:
    size = world.size()
    with pytest.raises(error, match=match) as caught:
        command()
    assert world.size() == size, "a refused command wrote something"
    return caught.value


def test_the_catalog_refuses_what_is_not_its_to_do(world: World) -> None:
    bank, cq = world.bank, world.key("CQAT")
    refused(world, DeadlinePassedError, "due by 2022-06-30", lambda: bank.submit_offering(
        alliance=ALLIANCE, semester=SEMESTER, course=course_info(), signer=cq,
        today=date(2022, 7, 1)))
    outsider = SigningKey.generate()
    bank.register_institution(code="OUT", name="联盟外学校", kind="school",
                              public_key=outsider.public_key, root_key=world.keys["root"])
    refused(world, ValidationError, "not a member", lambda: bank.submit_offering(
        alliance=ALLIANCE, semester=SEMESTER, course=course_info(), signer=outsider,
        today=date(2022, 6, 1)))
    refused(world, NotAuthorisedError, "alliance_secretariat", lambda: bank.found_alliance(
        code="X", name="X 联盟", signer=cq))
    offering = world.offer(publish=False)
    refused(world, NotAuthorisedError, "only ESVEA-SEC", lambda: bank.publish_offering(
        offering.id, signer=cq))
    refused(world, ConflictError, "other details", lambda: bank.submit_offering(
        alliance=ALLIANCE, semester=SEMESTER, course=course_info(capacity=5), signer=cq,
        today=date(2022, 6, 1)))
    refused(world, NotFoundError, "course offering", lambda: bank.publish_offering(
        course_offering_id("CQAT", "NOPE", SEMESTER), signer=world.sec))


def test_enrolment_refusals(world: World) -> None:
    bank, hn, cq = world.bank, world.key("HNAT"), world.key("CQAT")
    learner = world.learner("HNAT-1", "HNAT")
    own = world.learner("CQAT-1", "CQAT")
    unpublished = world.offer(publish=False)
    refused(world, IllegalTransitionError, "only a published offering", lambda:
            bank.request_enrolment(unpublished.id, learner_id=learner, signer=hn, today=OPENED))
    offering = bank.publish_offering(unpublished.id, signer=world.sec, today=OPENED)
    refused(world, NotAuthorisedError, "home school", lambda: bank.request_enrolment(
        offering.id, learner_id=learner, signer=world.key("LYVC"), today=OPENED))
    refused(world, ValidationError, "inter-school", lambda: bank.request_enrolment(
        offering.id, learner_id=own, signer=cq, today=OPENED))
    bank.request_enrolment(offering.id, learner_id=learner, signer=hn, today=OPENED)
    refused(world, IllegalTransitionError, "资格审查", lambda: bank.admit_learner(
        offering.id, learner_id=learner, signer=cq, today=TERM_DAY))
    refused(world, NotAuthorisedError, "only HNAT may", lambda: bank.approve_enrolment(
        offering.id, learner_id=learner, signer=cq, today=OPENED))
    bank.approve_enrolment(offering.id, learner_id=learner, signer=hn, today=OPENED)
    refused(world, NotAuthorisedError, "only CQAT may", lambda: bank.admit_learner(
        offering.id, learner_id=learner, signer=hn, today=TERM_DAY))
    refused(world, IllegalTransitionError, "only an admitted learner", lambda: bank.assess(
        offering.id, learner_id=learner, score=Decimal(80), signer=cq, today=ASSESSED))
    refused(world, IllegalTransitionError, "only an enrolled learner", lambda: bank.rate_course(
        offering.id, learner_id=learner, rating=4, signer=hn, today=OPENED))
    refused(world, NotFoundError, "enrolment", lambda: bank.admit_learner(
        offering.id, learner_id="HNAT-404", signer=cq, today=TERM_DAY))


def test_a_full_course_refuses_the_next_learner(world: World) -> None:
    bank = world.bank
    offering = world.offer(course=course_info(capacity=1))
    world.admitted(offering.id, world.learner("HNAT-1", "HNAT"), "HNAT")
    late = world.learner("HNAT-2", "HNAT")
    bank.request_enrolment(offering.id, learner_id=late, signer=world.key("HNAT"), today=OPENED)
    bank.approve_enrolment(offering.id, learner_id=late, signer=world.key("HNAT"), today=OPENED)
    error = refused(world, CapacityError, "all 1 seats", lambda: bank.admit_learner(
        offering.id, learner_id=late, signer=world.key("CQAT"), today=TERM_DAY))
    assert isinstance(error, CapacityError) and error.capacity == 1
    bank.cancel_enrolment(offering.id, learner_id="HNAT-1", reason="退选",
                          signer=world.key("HNAT"), today=TERM_DAY)
    bank.admit_learner(offering.id, learner_id=late, signer=world.key("CQAT"), today=TERM_DAY)


def test_assessment_refusals(world: World) -> None:
    bank, cq = world.bank, world.key("CQAT")
    offering = world.offer()
    absent = world.learner("HNAT-1", "HNAT")
    world.admitted(offering.id, absent, "HNAT")
    bank.record_absence(offering.id, learner_id=absent, hours=11, signer=cq, today=TERM_DAY)
    refused(world, DisqualifiedError, "absent 11 of 32", lambda: bank.assess(
        offering.id, learner_id=absent, score=Decimal(95), signer=cq, today=ASSESSED))
    failed = world.learner("HNAT-2", "HNAT")
    world.admitted(offering.id, failed, "HNAT")
    bank.assess(offering.id, learner_id=failed, score=Decimal(59), signer=cq, today=ASSESSED)
    refused(world, IllegalTransitionError, "pass only", lambda: bank.issue_course_certificate(
        offering.id, learner_id=failed, signer=cq, today=ASSESSED))
    refused(world, IllegalTransitionError, "准予补考", lambda: bank.assess_makeup(
        offering.id, learner_id=failed, score=Decimal(70), signer=cq, today=ASSESSED))
    refused(world, NotAuthorisedError, "only CQAT", lambda: bank.decide_makeup(
        offering.id, learner_id=failed, allowed=True, signer=world.key("HNAT"), today=ASSESSED))
    refused(world, IllegalTransitionError, "not yet assessed", lambda: bank.cancel_enrolment(
        offering.id, learner_id=failed, reason="too late", signer=world.key("HNAT"),
        today=ASSESSED))
    fresh = world.learner("HNAT-3", "HNAT")
    world.admitted(offering.id, fresh, "HNAT")
    refused(world, ValidationError, "score", lambda: bank.assess(
        offering.id, learner_id=fresh, score=Decimal(101), signer=cq, today=ASSESSED))


def test_certificate_refusals(world: World) -> None:
    bank, cq, hn = world.bank, world.key("CQAT"), world.key("HNAT")
    offering = world.offer()
    learner = world.learner("HNAT-1", "HNAT")
    world.admitted(offering.id, learner, "HNAT")
    bank.assess(offering.id, learner_id=learner, score=Decimal(80), signer=cq, today=ASSESSED)
    refused(world, NotAuthorisedError, "only CQAT", lambda: bank.issue_course_certificate(
        offering.id, learner_id=learner, signer=hn, today=ASSESSED))
    certificate = bank.issue_course_certificate(offering.id, learner_id=learner, signer=cq,
                                                today=ASSESSED)
    refused(world, IllegalTransitionError, "not sealed it yet", lambda:
            bank.export_course_certificate(certificate.id))
    refused(world, NotAuthorisedError, "secretariat", lambda:
            bank.countersign_course_certificate(certificate.id, signer=hn))
    bank.countersign_course_certificate(certificate.id, signer=world.sec)
    document = bank.export_course_certificate(certificate.id)
    refused(world, NotAuthorisedError, "home school", lambda: bank.import_course_certificate(
        document, signer=world.key("LYVC")))
    refused(world, NotAuthorisedError, "only CQAT", lambda: bank.revoke_course_certificate(
        certificate.id, reason="error", note="x", signer=hn))
    refused(world, NotFoundError, "agreement", lambda: bank.import_course_certificate(
        document, signer=hn, rule_id="nope", agreement_code="NO-SUCH"))
    bank.import_course_certificate(document, signer=hn)
    changed = {**document, "validFrom": "2023-01-11T00:00:00Z"}
    refused(world, InvalidCredentialError, "changed after it was signed", lambda:
            bank.import_course_certificate(changed, signer=hn))
    bank.revoke_course_certificate(certificate.id, reason="error", note="登分错误", signer=cq,
                                   today=ASSESSED)
    refused(world, CertificateRevokedError, "revoked", lambda: bank.import_course_certificate(
        document, signer=hn))
    refused(world, CertificateRevokedError, "revoked", lambda:
            bank.export_course_certificate(certificate.id))
    refused(world, ConflictError, "already revoked", lambda: bank.revoke_course_certificate(
        certificate.id, reason="error", note="again", signer=cq))


def test_a_grade_school_does_not_convert(world: World) -> None:
    offering = world.offer()
    learner = world.learner("LYVC-1", "LYVC")
    certificate = world.passed(offering.id, learner, "LYVC")
    document = world.bank.export_course_certificate(certificate)
    error = refused(world, ValidationError, "no credit system", lambda:
                    world.bank.import_course_certificate(document, signer=world.key("LYVC"),
                                                         rule_id="any"))
    assert isinstance(error, ValidationError) and error.field == "rule_id"


def test_importing_twice_returns_the_first_and_another_document_conflicts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank, hn = world.bank, world.key("HNAT")
    offering = world.offer()
    learner = world.learner("HNAT-1", "HNAT")
    certificate = world.passed(offering.id, learner, "HNAT")
    document = bank.export_course_certificate(certificate)
    first = bank.import_course_certificate(document, signer=hn)
    size = world.size()
    assert bank.import_course_certificate(document, signer=hn).id == first.id
    assert world.size() == size
    recognition = bank._certificate_recognition(certificate)  # a live copy, to change
    recognition.document_sha256 = "0" * 64  # as if another document had been imported
    real = bank._optional
    monkeypatch.setattr(bank, "_optional", lambda cls, aggregate_id: recognition
                        if cls is CertificateRecognition else real(cls, aggregate_id))
    refused(world, ConflictError, "another document", lambda:
            bank.import_course_certificate(document, signer=hn))
