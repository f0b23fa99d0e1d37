"""The alliance (联盟) and its shared course catalog (互选课程资源库), R11.

An :class:`Alliance` is founded by its secretariat (联盟秘书处), which admits member schools. A
member school submits a :class:`CourseOffering` per course and semester by the deadline; the
secretariat reviews and publishes it, and may withdraw it from the catalog (准入退出), citing
quality or student satisfaction. The offering also holds its seats (人数限额): admissions are
decided inside this one aggregate, so two writers admitting at once conflict instead of both
taking the last seat.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.alliance.values import (
    CourseInfo,
    OfferingStatus,
    alliance_id,
    course_offering_id,
    submission_deadline,
    validate_course_info,
)
from creditledger.domain.base import BankAggregate
from creditledger.domain.validation import (
    MAX_TEXT_LENGTH,
    validate_code,
    validate_date,
    validate_name,
    validate_term,
)
from creditledger.errors import (
    AlreadyExistsError,
    CapacityError,
    ConflictError,
    DeadlinePassedError,
    IllegalTransitionError,
    ValidationError,
)


class Alliance(BankAggregate):
    """An alliance of schools (e.g. 全国应急安全职业教育联盟) and its secretariat.

    Create with :meth:`found`. Events: ``Founded``, ``MemberAdmitted``.
    """

    @event("Founded")
    def __init__(self, code: str, name: str, secretariat: str, on: date) -> None:
        self.code = code
        self.name = name
        self.secretariat = secretariat
        self.founded_on = on
        self.members: dict[str, date] = {}

    @classmethod
    def create_id(cls, code: str, name: str, secretariat: str, on: date) -> UUID:
        return alliance_id(code)

    @classmethod
    def found(cls, *, code: str, name: str, secretariat: str, today: date) -> Alliance:
        """Found an alliance coordinated by ``secretariat``."""
        return cls(code=validate_code(code, "code"), name=validate_name(name, "name"),
                   secretariat=validate_code(secretariat, "secretariat"),
                   on=validate_date(today, "today"))

    def admit(self, school: str, today: date) -> None:
        """Admit a member school (refused if it already is one)."""
        code = validate_code(school, "school")
        if code in self.members:
            raise AlreadyExistsError("member", f"{code} of alliance {self.code}", "school")
        self._member_admitted(school=code, on=validate_date(today, "today"))

    @event("MemberAdmitted")
    def _member_admitted(self, school: str, on: date) -> None:
        self.members[school] = on

    def check_member(self, school: str, field: str = "school") -> None:
        """Refuse a school that is not a member (:class:`ValidationError` naming ``field``)."""
        if school not in self.members:
            raise ValidationError(field, f"{school} is not a member of the alliance {self.code}")


class CourseOffering(BankAggregate):
    """One school's offering of one course in one semester (互选课程), with its seats.

    Create with :meth:`submit`. Events: ``Submitted``, ``Published``, ``Withdrawn``,
    ``SeatTaken``, ``SeatReleased``.
    """

    @event("Submitted")
    def __init__(self, alliance: str, school: str, semester: str, course: CourseInfo,
                 on: date) -> None:
        self.alliance = alliance
        self.school = school
        self.semester = semester
        self.course = course
        self.submitted_on = on
        self.status = OfferingStatus.SUBMITTED
        self.seats: dict[str, date] = {}
        self.last_on = on

    @classmethod
    def create_id(cls, alliance: str, school: str, semester: str, course: CourseInfo,
                  on: date) -> UUID:
        return course_offering_id(school, course.course_code, semester)

    @classmethod
    def submit(cls, *, alliance: str, school: str, semester: str, course: CourseInfo,
               today: date) -> CourseOffering:
        """Submit an offering plan with its Annex 2 row, by the deadline of ``semester``
        (:func:`~creditledger.domain.alliance.values.submission_deadline`)."""
        term = validate_term(semester, "semester")
        day = validate_date(today, "today")
        deadline = submission_deadline(term)
        if day > deadline:
            raise DeadlinePassedError(term, deadline, day)
        return cls(alliance=validate_code(alliance, "alliance"),
                   school=validate_code(school, "school"), semester=term,
                   course=validate_course_info(course), on=day)

    @property
    def label(self) -> str:
        """``school/course/semester``, as errors name it."""
        return f"offering {self.school}/{self.course.course_code}/{self.semester}"

    @property
    def capacity(self) -> int:
        return self.course.capacity

    @property
    def seats_left(self) -> int:
        return self.capacity - len(self.seats)

    # Catalog (准入退出) --------------------------------------------------------------------

    def publish(self, today: date) -> None:
        """The secretariat publishes a submitted offering: learners may now request it."""
        if self.status is not OfferingStatus.SUBMITTED:
            raise IllegalTransitionError(self.label, self.status.value,
                                         "only a submitted offering can be published")
        self._published(on=self._day(today))

    @event("Published")
    def _published(self, on: date) -> None:
        self.status = OfferingStatus.PUBLISHED
        self.last_on = on

    def withdraw(self, *, reason: str, satisfaction: Decimal | None, ratings: int,
                 today: date) -> None:
        """The secretariat takes the offering out of the catalog (退出), stating why and citing
        the satisfaction (mean rating, and how many ratings) it had then. Admitted learners
        finish the course; no one new may request or be admitted."""
        if self.status is OfferingStatus.WITHDRAWN:
            raise IllegalTransitionError(self.label, "withdrawn", "it was already withdrawn")
        self._withdrawn(reason=validate_name(reason, "reason", max_length=MAX_TEXT_LENGTH),
                        satisfaction=satisfaction, ratings=ratings, on=self._day(today))

    @event("Withdrawn")
    def _withdrawn(self, reason: str, satisfaction: Decimal | None, ratings: int,
                   on: date) -> None:
        self.status = OfferingStatus.WITHDRAWN
        self.last_on = on

    def check_open(self) -> None:
        """Refuse unless the offering is published (open for requests and admissions)."""
        if self.status is not OfferingStatus.PUBLISHED:
            raise IllegalTransitionError(self.label, self.status.value,
                                         "only a published offering takes learners")

    # Seats (人数限额) ------------------------------------------------------------------------

    def take_seat(self, learner_id: str, today: date) -> None:
        """Give ``learner_id`` a seat, or raise :class:`CapacityError` if none is left."""
        self.check_open()
        if learner_id in self.seats:
            raise ConflictError(f"{learner_id} already has a seat in {self.label}")
        if self.seats_left <= 0:
            raise CapacityError(self.label, self.capacity)
        self._seat_taken(learner_id=learner_id, on=self._day(today))

    @event("SeatTaken")
    def _seat_taken(self, learner_id: str, on: date) -> None:
        self.seats[learner_id] = on
        self.last_on = on

    def release_seat(self, learner_id: str, today: date) -> None:
        """Free the seat of a learner whose enrolment was cancelled."""
        if learner_id not in self.seats:
            raise ConflictError(f"{learner_id} has no seat in {self.label}")
        self._seat_released(learner_id=learner_id, on=self._day(today))

    @event("SeatReleased")
    def _seat_released(self, learner_id: str, on: date) -> None:
        del self.seats[learner_id]
        self.last_on = on

    def _day(self, today: date) -> date:
        day = validate_date(today, "today")
        if day < self.submitted_on:
            raise ValidationError("today", f"is before the submission on {self.submitted_on}")
        return day
