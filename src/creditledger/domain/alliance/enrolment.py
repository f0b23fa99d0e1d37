"""One learner's enrolment in another school's course (校际选课), R12–R13 and R10.

The learner asks; the home school records the request on the learner's behalf and checks
eligibility (资格审查); the offering school admits while seats last (the seat itself is taken
in :class:`~creditledger.domain.alliance.offering.CourseOffering`, in the same commit). The
offering school records absences in hours — at a third of the total hours the learner loses
the right to be assessed — and the assessment: a pass earns the credits; after a fail the
offering school decides whether a makeup (补考) is allowed, and the makeup's result counts.
Enrolled learners rate the course (满意度, 1–5).

::

    requested ─approve→ approved ─admit→ admitted ─assess→ passed
        │                  │                │  │              ↑
        └─reject→ rejected └──cancel──→ cancelled            │
                                            │  └─absences ≥ ⅓→ disqualified
                                            └─assess→ failed ─allow makeup→ makeup_allowed
                                                                         └─makeup→ passed/failed
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.alliance.values import (
    SCORE_SCALE,
    EnrolmentStatus,
    enrolment_id,
    is_disqualified,
    validate_rating,
)
from creditledger.domain.base import BankAggregate
from creditledger.domain.validation import (
    MAX_HOURS,
    MAX_TEXT_LENGTH,
    validate_code,
    validate_date,
    validate_name,
    validate_score,
)
from creditledger.errors import (
    ConflictError,
    DisqualifiedError,
    IllegalTransitionError,
    ValidationError,
)

S = EnrolmentStatus
_ASSESSED = frozenset({S.PASSED, S.FAILED, S.MAKEUP_ALLOWED})
_ENROLLED = frozenset({S.ADMITTED, S.DISQUALIFIED, *_ASSESSED})


class Enrolment(BankAggregate):
    """A learner's enrolment in one course offering of another member school.

    Create with :meth:`request`. Events: ``Requested``, ``Approved``, ``Rejected``,
    ``Admitted``, ``Cancelled``, ``AbsenceRecorded``, ``Assessed``, ``MakeupDecided``,
    ``MakeupAssessed``, ``Rated``.
    """

    @event("Requested")
    def __init__(self, offering_id: UUID, alliance: str, school: str, course_code: str,
                 semester: str, home_school: str, learner_id: str, total_hours: int,
                 pass_mark: Decimal, on: date) -> None:
        self.offering_id = offering_id
        self.alliance = alliance
        self.school = school
        self.course_code = course_code
        self.semester = semester
        self.home_school = home_school
        self.learner_id = learner_id
        self.total_hours = total_hours
        self.pass_mark = pass_mark
        self.status = S.REQUESTED
        self.last_on = on
        self.absent_hours = 0
        self.score: Decimal | None = None
        self.by_makeup = False
        self.makeup_decided = False
        self.rating: int | None = None
        self.platform_account: str | None = None

    @classmethod
    def create_id(cls, offering_id: UUID, alliance: str, school: str, course_code: str,
                  semester: str, home_school: str, learner_id: str, total_hours: int,
                  pass_mark: Decimal, on: date) -> UUID:
        return enrolment_id(offering_id, learner_id)

    @classmethod
    def request(cls, *, offering_id: UUID, alliance: str, school: str, course_code: str,
                semester: str, home_school: str, learner_id: str, total_hours: int,
                pass_mark: Decimal, today: date) -> Enrolment:
        """Record a learner's request, made through their home school (learners hold no keys).

        Inter-school only: a learner cannot select a course of their own school here.
        """
        home = validate_code(home_school, "home_school")
        if home == school:
            raise ValidationError("learner_id", f"the learner studies at {school}: inter-school "
                                  "selection (校际选课) is for courses of other schools")
        return cls(offering_id=offering_id, alliance=alliance, school=school,
                   course_code=course_code, semester=semester, home_school=home,
                   learner_id=validate_code(learner_id, "learner_id"), total_hours=total_hours,
                   pass_mark=pass_mark, on=validate_date(today, "today"))

    @property
    def label(self) -> str:
        return f"enrolment of {self.learner_id} in {self.school}/{self.course_code}/{self.semester}"

    @property
    def disqualified(self) -> bool:
        return is_disqualified(self.absent_hours, self.total_hours)

    @property
    def enrolled(self) -> bool:
        """Admitted at some point and not cancelled: the learner takes (took) the course."""
        return self.status in _ENROLLED

    # Eligibility (资格审查) and admission ----------------------------------------------------

    def approve(self, today: date) -> None:
        """The home school finds the learner eligible (资格审查) and forwards the request."""
        self._require(S.REQUESTED, "only a requested enrolment can be approved")
        self._approved(on=self._day(today))

    @event("Approved")
    def _approved(self, on: date) -> None:
        self.status = S.APPROVED
        self.last_on = on

    def reject(self, reason: str, today: date) -> None:
        """The home school finds the learner not eligible."""
        self._require(S.REQUESTED, "only a requested enrolment can be rejected")
        self._rejected(reason=validate_name(reason, "reason", max_length=MAX_TEXT_LENGTH),
                       on=self._day(today))

    @event("Rejected")
    def _rejected(self, reason: str, on: date) -> None:
        self.status = S.REJECTED
        self.last_on = on

    def admit(self, platform_account: str | None, today: date) -> None:
        """The offering school admits the learner and opens their platform account (R12).
        The seat must be taken in the offering in the same commit."""
        self._require(S.APPROVED, "it must be approved by the home school (资格审查) "
                                  "before the offering school admits it")
        account = None if platform_account is None else validate_code(
            platform_account, "platform_account")
        self._admitted(platform_account=account, on=self._day(today))

    @event("Admitted")
    def _admitted(self, platform_account: str | None, on: date) -> None:
        self.status = S.ADMITTED
        self.platform_account = platform_account
        self.last_on = on

    def cancel(self, *, by: str, reason: str, today: date) -> bool:
        """Cancel before assessment (by the home or the offering school); returns whether a
        seat must be released in the offering."""
        if self.status not in (S.REQUESTED, S.APPROVED, S.ADMITTED, S.DISQUALIFIED):
            raise IllegalTransitionError(self.label, self.status.value,
                                         "only an enrolment not yet assessed can be cancelled")
        had_seat = self.status in (S.ADMITTED, S.DISQUALIFIED)
        self._cancelled(by=validate_code(by, "by"),
                        reason=validate_name(reason, "reason", max_length=MAX_TEXT_LENGTH),
                        had_seat=had_seat, on=self._day(today))
        return had_seat

    @event("Cancelled")
    def _cancelled(self, by: str, reason: str, had_seat: bool, on: date) -> None:
        self.status = S.CANCELLED
        self.last_on = on

    # Attendance and assessment (R13) ---------------------------------------------------------

    def record_absence(self, hours: int, today: date) -> None:
        """Add absent hours (缺课); at a third of the total the learner is disqualified."""
        self._require(S.ADMITTED, "absences are recorded while the learner attends the course")
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
            raise ValidationError("hours", f"must be a whole number of hours 1–{MAX_HOURS}")
        total = self.absent_hours + hours
        if total > self.total_hours:
            raise ValidationError("hours", f"{total} absent hours exceed the course's "
                                  f"{self.total_hours} hours")
        self._absence_recorded(hours=hours, absent_hours=total,
                               disqualified=is_disqualified(total, self.total_hours),
                               on=self._day(today))

    @event("AbsenceRecorded")
    def _absence_recorded(self, hours: int, absent_hours: int, disqualified: bool,
                          on: date) -> None:
        self.absent_hours = absent_hours
        if disqualified:
            self.status = S.DISQUALIFIED
        self.last_on = on

    def assess(self, score: Decimal, today: date) -> bool:
        """Record the assessment (考核): a pass reaches the pass mark. Returns whether passed."""
        if self.status is S.DISQUALIFIED:
            raise DisqualifiedError(self.label, self.absent_hours, self.total_hours)
        self._require(S.ADMITTED, "only an admitted learner is assessed")
        checked = validate_score(score, scale=SCORE_SCALE)
        passed = checked >= self.pass_mark
        self._assessed(score=checked, passed=passed, on=self._day(today))
        return passed

    @event("Assessed")
    def _assessed(self, score: Decimal, passed: bool, on: date) -> None:
        self.score = score
        self.status = S.PASSED if passed else S.FAILED
        self.last_on = on

    def decide_makeup(self, allowed: bool, today: date) -> None:
        """After a fail, the offering school decides whether a makeup (补考) is allowed; once."""
        if not isinstance(allowed, bool):
            raise ValidationError("allowed", "must be True or False")
        self._require(S.FAILED, "a makeup is decided after a failed assessment")
        if self.makeup_decided:
            raise IllegalTransitionError(self.label, "failed", "the makeup was already decided")
        self._makeup_decided(allowed=allowed, on=self._day(today))

    @event("MakeupDecided")
    def _makeup_decided(self, allowed: bool, on: date) -> None:
        self.makeup_decided = True
        if allowed:
            self.status = S.MAKEUP_ALLOWED
        self.last_on = on

    def assess_makeup(self, score: Decimal, today: date) -> bool:
        """Record the makeup's result; it replaces the first score. Returns whether passed."""
        self._require(S.MAKEUP_ALLOWED, "a makeup result needs the offering school's leave "
                                        "(准予补考)")
        checked = validate_score(score, scale=SCORE_SCALE)
        passed = checked >= self.pass_mark
        self._makeup_assessed(score=checked, passed=passed, on=self._day(today))
        return passed

    @event("MakeupAssessed")
    def _makeup_assessed(self, score: Decimal, passed: bool, on: date) -> None:
        self.score = score
        self.by_makeup = True
        self.status = S.PASSED if passed else S.FAILED
        self.last_on = on

    # Evaluation (R10) ------------------------------------------------------------------------

    def rate(self, rating: int, *, by: str, today: date) -> None:
        """Record the learner's satisfaction with the course (1–5), once."""
        if not self.enrolled:
            raise IllegalTransitionError(self.label, self.status.value,
                                         "only an enrolled learner rates the course")
        value = validate_rating(rating)
        if self.rating is not None:
            raise ConflictError(f"{self.label} already rated the course ({self.rating})")
        self._rated(rating=value, by=validate_code(by, "by"), on=self._day(today))

    @event("Rated")
    def _rated(self, rating: int, by: str, on: date) -> None:
        self.rating = rating
        self.last_on = on

    # Helpers -------------------------------------------------------------------------------

    def _require(self, status: EnrolmentStatus, needed: str) -> None:
        if self.status is not status:
            raise IllegalTransitionError(self.label, self.status.value, needed)

    def _day(self, today: date) -> date:
        day = validate_date(today, "today")
        if day < self.last_on:
            raise ValidationError("today", f"is before the last step of the enrolment "
                                  f"({self.last_on})")
        return day
