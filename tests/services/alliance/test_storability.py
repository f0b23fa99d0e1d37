"""Every event of the alliance aggregates survives the store's codec (msgspec, typed by the
event class's annotations) exactly, and every declared event class is written by a command."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import get_topic

from creditledger.domain.alliance import (
    Alliance,
    CertificateRecognition,
    CourseCertificate,
    CourseOffering,
    Enrolment,
)
from creditledger.services.core import ledger_of
from creditledger.store.mapper import decode_state, encode_state

from .world import ASSESSED, OPENED, World

CLASSES = (Alliance, CourseOffering, Enrolment, CourseCertificate, CertificateRecognition)


def declared(cls: type[Aggregate]) -> set[type]:
    return {v for n, v in vars(cls).items() if isinstance(v, type)
            and issubclass(v, CanMutateAggregate) and n not in ("Event", "Created", "Snapshot")}


def same(left: Any, right: Any) -> bool:
    return msgspec.json.encode(left) == msgspec.json.encode(right) and repr(left) == repr(right)


def test_every_alliance_event_is_recorded_and_round_trips_exactly(world: World) -> None:
    bank, cq, hn = world.bank, world.key("CQAT"), world.key("HNAT")
    offering = world.offer()
    passed = world.learner("HNAT-1", "HNAT")
    certificate = world.passed(offering.id, passed, "HNAT")
    bank.rate_course(offering.id, learner_id=passed, rating=4, signer=hn, today=ASSESSED)
    bank.import_course_certificate(bank.export_course_certificate(certificate), signer=hn,
                                   today=ASSESSED)
    bank.revoke_course_certificate(certificate, reason="appeal_upheld", note="复核", signer=cq,
                                   today=ASSESSED)
    makeup = world.learner("HNAT-2", "HNAT")
    world.admitted(offering.id, makeup, "HNAT")
    bank.record_absence(offering.id, learner_id=makeup, hours=2, signer=cq, today=ASSESSED)
    bank.assess(offering.id, learner_id=makeup, score=Decimal("59.5"), signer=cq, today=ASSESSED)
    bank.decide_makeup(offering.id, learner_id=makeup, allowed=True, signer=cq, today=ASSESSED)
    bank.assess_makeup(offering.id, learner_id=makeup, score=Decimal("61.5"), signer=cq,
                       today=ASSESSED)
    rejected, cancelled = world.learner("HNAT-3", "HNAT"), world.learner("HNAT-4", "HNAT")
    bank.request_enrolment(offering.id, learner_id=rejected, signer=hn, today=OPENED)
    bank.reject_enrolment(offering.id, learner_id=rejected, reason="先修课程未完成", signer=hn,
                          today=OPENED)
    world.admitted(offering.id, cancelled, "HNAT")
    bank.cancel_enrolment(offering.id, learner_id=cancelled, reason="退选", signer=hn,
                          today=ASSESSED)
    bank.withdraw_offering(offering.id, reason="课程调整", signer=world.sec, today=ASSESSED)

    wanted = {get_topic(c) for cls in CLASSES for c in declared(cls)}
    seen: set[str] = set()
    for notification in ledger_of(bank).recorder.select_notifications(1, 10_000):
        if notification.topic in wanted:
            seen.add(notification.topic)
            state = decode_state(notification.topic, notification.state)
            assert encode_state(state) == notification.state, notification.topic  # exact
            assert same(state, decode_state(notification.topic, encode_state(state)))
    assert seen == wanted and len(wanted) == 23
