"""Inter-school course selection and credit recognition (课程互选、学分互认), seed 002, R10–R17.

:class:`AllianceCommands` is the part of :class:`~creditledger.services.bank.CreditBank` with
which an alliance secretariat (联盟秘书处) founds an alliance, admits member schools and keeps
the shared catalog (准入退出); member schools submit course offerings (Annex 2) by the deadline,
check their learners' eligibility (资格审查), admit other schools' learners while seats last,
and record absences, assessments and makeups. Certificates are in
:mod:`creditledger.services.alliance_certificates`. The alliance runs one ledger (the
secretariat builds the credit bank system, seed 002 §三(四)2), so every school reads the same
certificates, keys and revocations. Each command checks who is asking and writes one signed
commit or nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from creditledger.crypto.keys import SigningKey
from creditledger.domain.alliance import (
    Alliance,
    CourseInfo,
    CourseOffering,
    Enrolment,
    EnrolmentStatus,
    alliance_id,
    enrolment_id,
)
from creditledger.domain.base import snapshot
from creditledger.domain.values import InstitutionKind
from creditledger.errors import AlreadyExistsError, ConflictError, NotAuthorisedError
from creditledger.services.core import retrying
from creditledger.services.transfers import TransferCommands

#: How often a command is re-run when another writer changed one of its aggregates first (for
#: an admission: took or freed a seat). Every re-run reloads and checks everything again, so
#: the capacity holds however many writers there are; this only bounds the work.
CONFLICT_RETRIES = 12


class AllianceCommands(TransferCommands):
    """Alliances, members, the shared catalog, enrolments and assessments."""

    # -- queries ---------------------------------------------------------------------------

    def alliance(self, code: str) -> Alliance:
        """The alliance ``code`` (:class:`NotFoundError` naming ``alliance``)."""
        return snapshot(self._alliance(code))

    def course_offering(self, offering_id: UUID) -> CourseOffering:
        """An offering of the alliance catalog (:class:`NotFoundError` naming ``offering_id``)."""
        return snapshot(self._course_offering(offering_id))

    def alliance_enrolment(self, offering_id: UUID, learner_id: str) -> Enrolment:
        """A learner's enrolment in an offering (:class:`NotFoundError` naming ``learner_id``)."""
        return snapshot(self._alliance_enrolment(offering_id, learner_id))

    def _alliance(self, code: str) -> Alliance:
        return self._get(Alliance, alliance_id(code), "alliance", code, "alliance")

    def _course_offering(self, offering_id: UUID) -> CourseOffering:
        return self._get(CourseOffering, offering_id, "course offering", str(offering_id),
                         "offering_id")

    def _alliance_enrolment(self, offering_id: UUID, learner_id: str) -> Enrolment:
        return self._get(Enrolment, enrolment_id(offering_id, learner_id), "enrolment",
                         f"{learner_id} in {offering_id}", "learner_id")

    def satisfaction(self, offering_id: UUID) -> tuple[Decimal | None, int]:
        """Mean satisfaction (1–5, two places) of an offering's enrolled learners, and how many
        rated it (R10); ``(None, 0)`` before the first rating."""
        offering = self._course_offering(offering_id)
        ratings = [r for r in (self._alliance_enrolment(offering_id, learner).rating
                               for learner in offering.seats) if r is not None]
        if not ratings:
            return None, 0
        mean = (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"))
        return mean, len(ratings)

    # -- the alliance and its members ------------------------------------------------------

    def found_alliance(self, *, code: str, name: str, signer: SigningKey,
                       today: date | None = None) -> Alliance:
        """A secretariat founds an alliance (联盟) and coordinates it."""
        secretariat = self._principal(signer)
        self._require_kind(secretariat, InstitutionKind.ALLIANCE_SECRETARIAT)
        alliance = Alliance.found(code=code, name=name, secretariat=secretariat,
                                  today=today or self._today())
        if self._exists(alliance.id):
            raise AlreadyExistsError("alliance", alliance.code, "code")
        self._save(alliance, signer=signer)
        return snapshot(alliance)

    def admit_member(self, *, alliance: str, school: str, signer: SigningKey,
                     today: date | None = None) -> Alliance:
        """The secretariat admits a school as a member (retrying returns the alliance)."""
        found = self._as_secretariat(alliance, signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        if school not in found.members:
            found.admit(school, today or self._today())
            self._save(found, signer=signer)
        return snapshot(found)

    # -- the catalog (准入退出) ----------------------------------------------------------------

    def submit_offering(self, *, alliance: str, semester: str, course: CourseInfo,
                        signer: SigningKey, today: date | None = None) -> CourseOffering:
        """A member school submits a course for ``semester`` (its Annex 2 row), by 30 June
        (autumn semester) or 31 December (spring semester)."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        self._alliance(alliance).check_member(school, "signer")
        offering = CourseOffering.submit(alliance=alliance, school=school, semester=semester,
                                         course=course, today=today or self._today())
        if self._exists(offering.id):
            existing = self._course_offering(offering.id)
            if existing.course == offering.course and existing.alliance == offering.alliance:
                return snapshot(existing)
            raise ConflictError(f"{offering.label} was already submitted with other details")
        self._save(offering, signer=signer)
        return snapshot(offering)

    def publish_offering(self, offering_id: UUID, *, signer: SigningKey,
                         today: date | None = None) -> CourseOffering:
        """The secretariat reviews and publishes a submitted offering (认定、下发)."""
        offering = self._course_offering(offering_id)
        self._as_secretariat(offering.alliance, signer)
        offering.publish(today or self._today())
        self._save(offering, signer=signer)
        return snapshot(offering)

    def withdraw_offering(self, offering_id: UUID, *, reason: str, signer: SigningKey,
                          today: date | None = None) -> CourseOffering:
        """The secretariat takes an offering out of the catalog (退出), recording the
        satisfaction it cites (基于学生满意度的课程淘汰机制)."""
        offering = self._course_offering(offering_id)
        self._as_secretariat(offering.alliance, signer)
        mean, count = self.satisfaction(offering_id)
        offering.withdraw(reason=reason, satisfaction=mean, ratings=count,
                          today=today or self._today())
        self._save(offering, signer=signer)
        return snapshot(offering)

    # -- enrolment (R12) ---------------------------------------------------------------------

    def request_enrolment(self, offering_id: UUID, *, learner_id: str, signer: SigningKey,
                          today: date | None = None) -> Enrolment:
        """The home school records its learner's request for a published course of another
        member school (learners hold no keys). Retrying returns the enrolment."""
        home = self._principal(signer)
        self._check_home(learner_id, home)
        offering = self._course_offering(offering_id)
        offering.check_open()
        self._alliance(offering.alliance).check_member(home, "signer")
        course = offering.course
        enrolment = Enrolment.request(
            offering_id=offering.id, alliance=offering.alliance, school=offering.school,
            course_code=course.course_code, semester=offering.semester, home_school=home,
            learner_id=learner_id, total_hours=course.total_hours, pass_mark=course.pass_mark,
            today=today or self._today())
        if self._exists(enrolment.id):
            return snapshot(self._alliance_enrolment(offering_id, learner_id))
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def approve_enrolment(self, offering_id: UUID, *, learner_id: str, signer: SigningKey,
                          today: date | None = None) -> Enrolment:
        """The home school finds its learner eligible (资格审查) and forwards the request."""
        enrolment = self._enrolment(offering_id, learner_id, signer, home=True)[1]
        if enrolment.status is not EnrolmentStatus.APPROVED:
            enrolment.approve(today or self._today())
            self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def reject_enrolment(self, offering_id: UUID, *, learner_id: str, reason: str,
                         signer: SigningKey, today: date | None = None) -> Enrolment:
        """The home school finds its learner not eligible."""
        enrolment = self._enrolment(offering_id, learner_id, signer, home=True)[1]
        enrolment.reject(reason, today or self._today())
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def admit_learner(self, offering_id: UUID, *, learner_id: str, signer: SigningKey,
                      platform_account: str | None = None,
                      today: date | None = None) -> Enrolment:
        """The offering school admits an approved learner while seats last and opens their
        platform account. The seat and the admission are one commit; if another writer took a
        seat first, the command reloads and checks the capacity again, so the capacity holds
        under any number of concurrent writers (:class:`CapacityError` when full)."""
        day = today or self._today()

        def admit() -> Enrolment:
            offering, enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)
            if enrolment.status is EnrolmentStatus.ADMITTED:
                return enrolment  # a retry
            enrolment.admit(platform_account, day)
            offering.take_seat(learner_id, day)
            self._save(offering, enrolment, signer=signer)
            return enrolment

        return snapshot(retrying(admit, CONFLICT_RETRIES))

    def cancel_enrolment(self, offering_id: UUID, *, learner_id: str, reason: str,
                         signer: SigningKey, today: date | None = None) -> Enrolment:
        """The home or the offering school cancels an enrolment before assessment; an
        admitted learner's seat is freed in the same commit."""
        day = today or self._today()

        def cancel() -> Enrolment:
            offering, enrolment = self._enrolment(offering_id, learner_id, signer, home=True,
                                                  offering=True)
            if enrolment.cancel(by=self._principal(signer), reason=reason, today=day):
                offering.release_seat(learner_id, day)
                self._save(offering, enrolment, signer=signer)
            else:
                self._save(enrolment, signer=signer)
            return enrolment

        return snapshot(retrying(cancel, CONFLICT_RETRIES))

    # -- attendance, assessment, makeup (R13), evaluation (R10) --------------------------------

    def record_absence(self, offering_id: UUID, *, learner_id: str, hours: int,
                       signer: SigningKey, today: date | None = None) -> Enrolment:
        """The offering school records absent hours; at a third of the total hours the learner
        is disqualified from assessment (取消考核资格)."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.record_absence(hours, today or self._today())
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def assess(self, offering_id: UUID, *, learner_id: str, score: Decimal, signer: SigningKey,
               today: date | None = None) -> Enrolment:
        """The offering school records the assessment (考核); a pass earns the credits."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.assess(score, today or self._today())
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def decide_makeup(self, offering_id: UUID, *, learner_id: str, allowed: bool,
                      signer: SigningKey, today: date | None = None) -> Enrolment:
        """After a fail, the offering school decides whether a makeup (补考) is allowed."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.decide_makeup(allowed, today or self._today())
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def assess_makeup(self, offering_id: UUID, *, learner_id: str, score: Decimal,
                      signer: SigningKey, today: date | None = None) -> Enrolment:
        """The offering school records the makeup's result; it counts."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.assess_makeup(score, today or self._today())
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    def rate_course(self, offering_id: UUID, *, learner_id: str, rating: int,
                    signer: SigningKey, today: date | None = None) -> Enrolment:
        """Record an enrolled learner's satisfaction (1–5), through either school."""
        enrolment = self._enrolment(offering_id, learner_id, signer, home=True, offering=True)[1]
        enrolment.rate(rating, by=self._principal(signer), today=today or self._today())
        self._save(enrolment, signer=signer)
        return snapshot(enrolment)

    # -- helpers ---------------------------------------------------------------------------

    def _as_secretariat(self, code: str, signer: SigningKey) -> Alliance:
        principal = self._principal(signer)
        alliance = self._alliance(code)
        if principal != alliance.secretariat:
            raise NotAuthorisedError(f"only {alliance.secretariat}, the secretariat of "
                                     f"{alliance.code}, may do this (not {principal})")
        return alliance

    def _check_home(self, learner_id: str, school: str) -> None:
        home = self._account(learner_id).home_institution
        if home != school:
            raise NotAuthorisedError(f"only the learner's home school ({home}) may do this "
                                     f"for {learner_id}, not {school}")

    def _enrolment(self, offering_id: UUID, learner_id: str, signer: SigningKey, *,
                   home: bool = False, offering: bool = False
                   ) -> tuple[CourseOffering, Enrolment]:
        """The offering and the enrolment, once the signer is checked: the learner's home
        school (``home``) and/or the offering school (``offering``)."""
        principal = self._principal(signer)
        found = self._course_offering(offering_id)
        enrolment = self._alliance_enrolment(offering_id, learner_id)
        allowed = [s for s, ok in ((enrolment.home_school, home), (found.school, offering)) if ok]
        if principal not in allowed:
            raise NotAuthorisedError(f"only {' or '.join(allowed)} may do this for "
                                     f"{enrolment.label}, not {principal}")
        return found, enrolment
