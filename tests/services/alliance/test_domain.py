"""The pure rules of the alliance: deadlines, the one-third absence rule, the Annex 2 row, and
the state machines of an offering and an enrolment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import msgspec
import pytest

from creditledger.domain.alliance import (
    CourseOffering,
    Enrolment,
    EnrolmentStatus,
    OfferingStatus,
    is_disqualified,
    submission_deadline,
)
from creditledger.errors import (
    CapacityError,
    ConflictError,
    DeadlinePassedError,
    DisqualifiedError,
    IllegalTransitionError,
    ValidationError,
)

from .world import course_info

DAY = date(2022, 9, 1)


@pytest.mark.parametrize(("semester", "deadline"), [
    ("2022-2023-1", date(2022, 6, 30)),   # autumn 2022: by 30 June 2022
    ("2022-2023-2", date(2022, 12, 31)),  # spring 2023: by 31 December 2022
    ("2021-2022-2", date(2021, 12, 31)),  # Annex 1: spring 2022 courses due by 31 Dec 2021
])
def test_the_plan_is_due_by_30_june_or_31_december(semester: str, deadline: date) -> None:
    assert submission_deadline(semester) == deadline
    on_time = CourseOffering.submit(alliance="A", school="S", semester=semester,
                                    course=course_info(), today=deadline)
    assert on_time.status is OfferingStatus.SUBMITTED
    with pytest.raises(DeadlinePassedError) as late:
        CourseOffering.submit(alliance="A", school="S", semester=semester, course=course_info(),
                              today=date.fromordinal(deadline.toordinal() + 1))
    assert late.value.field == "semester" and str(deadline) in str(late.value)


def test_a_bad_semester_is_refused() -> None:
    with pytest.raises(ValidationError) as e:
        submission_deadline("2022-2024-1")
    assert e.value.field == "semester"


@pytest.mark.parametrize(("absent", "total", "disqualified"), [
    (15, 48, False), (16, 48, True), (10, 32, False), (11, 32, True), (0, 1, False),
    (1, 3, True), (1, 4, False),
])
def test_a_third_of_the_hours_disqualifies(absent: int, total: int, disqualified: bool) -> None:
    assert is_disqualified(absent, total) is disqualified


@pytest.mark.parametrize(("field", "value"), [
    ("capacity", 0), ("capacity", True), ("hours", 0), ("credits", Decimal(0)),
    ("credits", 2.0), ("link", "ftp://x"), ("name", " "), ("lead_teacher", ""),
    ("assessment_method", "oral"), ("course_code", "a b"),
])
def test_every_annex_2_field_is_checked(field: str, value: object) -> None:
    bad = msgspec.structs.replace(course_info(), **{field: value})
    with pytest.raises(ValidationError) as e:
        CourseOffering.submit(alliance="A", school="S", semester="2022-2023-1", course=bad,
                              today=date(2022, 6, 1))
    assert e.value.field == f"course.{field}"


def offering(capacity: int = 2) -> CourseOffering:
    o = CourseOffering.submit(alliance="A", school="S", semester="2022-2023-1",
                              course=course_info(capacity=capacity), today=date(2022, 6, 1))
    return o


def test_an_offering_takes_learners_only_while_published_and_never_beyond_capacity() -> None:
    o = offering()
    with pytest.raises(IllegalTransitionError, match="submitted"):
        o.take_seat("L1", DAY)
    o.publish(DAY)
    with pytest.raises(IllegalTransitionError, match="only a submitted"):
        o.publish(DAY)
    o.take_seat("L1", DAY)
    with pytest.raises(ConflictError, match="already has a seat"):
        o.take_seat("L1", DAY)
    o.take_seat("L2", DAY)
    with pytest.raises(CapacityError, match="all 2 seats") as full:
        o.take_seat("L3", DAY)
    assert full.value.capacity == 2
    o.release_seat("L1", DAY)
    o.take_seat("L3", DAY)
    o.withdraw(reason="满意度低", satisfaction=Decimal("2.10"), ratings=10, today=DAY)
    with pytest.raises(IllegalTransitionError, match="withdrawn"):
        o.take_seat("L4", DAY)
    with pytest.raises(IllegalTransitionError, match="already withdrawn"):
        o.withdraw(reason="again", satisfaction=None, ratings=0, today=DAY)


def enrolment(total_hours: int = 48) -> Enrolment:
    return Enrolment.request(offering_id=uuid4(), alliance="A", school="S", course_code="C",
                             semester="2022-2023-1", home_school="H", learner_id="L1",
                             total_hours=total_hours, pass_mark=Decimal(60), today=DAY)


def test_an_enrolment_moves_only_along_its_transitions() -> None:
    e = enrolment()
    with pytest.raises(IllegalTransitionError, match="approved by the home school"):
        e.admit(None, DAY)
    with pytest.raises(IllegalTransitionError, match="only an admitted learner"):
        e.assess(Decimal(80), DAY)
    e.approve(DAY)
    e.admit("icve-001", DAY)
    with pytest.raises(IllegalTransitionError, match="after a failed assessment"):
        e.decide_makeup(True, DAY)
    assert e.assess(Decimal(55), DAY) is False
    assert e.status is EnrolmentStatus.FAILED
    with pytest.raises(IllegalTransitionError, match="准予补考"):
        e.assess_makeup(Decimal(70), DAY)
    e.decide_makeup(True, DAY)
    with pytest.raises(IllegalTransitionError, match="only an enrolment not yet assessed"):
        e.cancel(by="H", reason="changed mind", today=DAY)
    assert e.assess_makeup(Decimal(75), DAY) is True
    assert (e.status, e.score, e.by_makeup) == (EnrolmentStatus.PASSED, Decimal(75), True)


def test_a_refused_makeup_leaves_the_fail_and_is_decided_once() -> None:
    e = enrolment()
    e.approve(DAY)
    e.admit(None, DAY)
    e.assess(Decimal(40), DAY)
    e.decide_makeup(False, DAY)
    assert e.status is EnrolmentStatus.FAILED
    with pytest.raises(IllegalTransitionError, match="already decided"):
        e.decide_makeup(True, DAY)


def test_absences_at_exactly_a_third_disqualify_from_assessment() -> None:
    e = enrolment(total_hours=48)
    e.approve(DAY)
    e.admit(None, DAY)
    e.record_absence(15, DAY)
    assert not e.disqualified and e.status is EnrolmentStatus.ADMITTED
    e.record_absence(1, DAY)                                   # 16 of 48 = one third
    assert e.disqualified and e.status.value == "disqualified"
    with pytest.raises(DisqualifiedError, match="16 of 48") as refused:
        e.assess(Decimal(90), DAY)
    assert (refused.value.absent_hours, refused.value.total_hours) == (16, 48)
    with pytest.raises(IllegalTransitionError):
        e.record_absence(1, DAY)


def test_dates_may_not_go_backwards() -> None:
    e = enrolment()
    with pytest.raises(ValidationError) as refused:
        e.approve(date(2022, 8, 31))
    assert refused.value.field == "today"


def test_a_learner_cannot_select_a_course_of_their_own_school() -> None:
    with pytest.raises(ValidationError, match="inter-school"):
        Enrolment.request(offering_id=uuid4(), alliance="A", school="S", course_code="C",
                          semester="2022-2023-1", home_school="S", learner_id="L1",
                          total_hours=32, pass_mark=Decimal(60), today=DAY)


@pytest.mark.parametrize("rating", [0, 6, True, "5"])
def test_ratings_are_whole_numbers_one_to_five(rating: object) -> None:
    e = enrolment()
    e.approve(DAY)
    e.admit(None, DAY)
    with pytest.raises(ValidationError) as refused:
        e.rate(rating, by="H", today=DAY)  # type: ignore[arg-type]
    assert refused.value.field == "rating"
    e.rate(5, by="H", today=DAY)
    with pytest.raises(ConflictError, match="already rated"):
        e.rate(4, by="S", today=DAY)
