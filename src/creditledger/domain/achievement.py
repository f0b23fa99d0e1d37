"""Learning achievements (学习成果) and their recognition (认定), R3–R5 and R9.

Every achievement has a *natural key* (its idempotency key) and its id is derived from it, so
a retried recognition collides with the recorded one:

=========================================  =================================================
kind                                       natural key
=========================================  =================================================
course result                              ("course_result", learner, institution, course, term)
X / qualification certificate              ("certificate", issuer, certificate number)
diploma                                    ("diploma", issuer, diploma number)
training record / online course            ("learning_record", learner, issuer, reference)
=========================================  =================================================

The two certificate kinds share one key family, as do training records and online courses, so
a retry that names the wrong kind is caught as a conflict instead of being credited twice. The
recorded facts and their checks are in :mod:`creditledger.domain.achievement_record`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from creditledger.domain.achievement_record import (
    AchievementRecord,
    check_details,
    check_links,
    check_method_fits_kind,
    course_credit_rule,
    natural_key,
)
from creditledger.domain.base import BankAggregate
from creditledger.domain.certificate import Certificate
from creditledger.domain.course import Course
from creditledger.domain.ids import achievement_id
from creditledger.domain.validation import (
    validate_code,
    validate_credits,
    validate_date,
    validate_evidence,
    validate_learner_id,
    validate_name,
    validate_not_future,
    validate_rule,
    validate_score,
)
from creditledger.domain.values import (
    AchievementKind,
    AchievementStatus,
    AssessmentMethod,
    Category,
    CertificateDetails,
    CertificateLevel,
    CertificationMethod,
    Correction,
    CourseResultDetails,
    Evidence,
    LearningRecordDetails,
    Revocation,
    RevocationReason,
    RuleRef,
)
from creditledger.errors import AlreadyRevokedError, DuplicateAchievementError, ValidationError

# The aggregate --------------------------------------------------------------------------------


class Achievement(BankAggregate):
    """A learning achievement recognised into the credit bank (学习成果认定).

    It records what was achieved, by whom, the evidence, who certified it and how, the rule
    and credits it earned and the category they count in. It can be revoked once (fraud, error,
    upheld appeal) and linked to achievements from the same assessment (R9, 一考双证).

    Create with :meth:`recognise_course_result`, :meth:`recognise_x_certificate` or the general
    :meth:`recognise`. Events: ``Recognised``, ``Revoked``, ``Linked``.
    """

    @event("Recognised")
    def __init__(self, record: AchievementRecord) -> None:
        self.record = record
        self.status = AchievementStatus.RECOGNISED
        self.revocation: Revocation | None = None
        self.corrections: tuple[Correction, ...] = ()
        self.linked_achievement_ids = record.linked_achievement_ids

    @classmethod
    def create_id(cls, record: AchievementRecord) -> UUID:
        """The achievement's id, derived from its natural key."""
        return achievement_id(record.natural_key)

    # Factories -----------------------------------------------------------------------------

    @classmethod
    def recognise(
        cls,
        *,
        kind: AchievementKind | str,
        learner_id: str,
        title: str,
        certified_by: str,
        method: CertificationMethod | str,
        evidence: Evidence,
        rule: RuleRef,
        credits: Decimal,
        category: Category | str,
        today: date,
        recognised_on: date | None = None,
        course: CourseResultDetails | None = None,
        certificate: CertificateDetails | None = None,
        learning_record: LearningRecordDetails | None = None,
        linked_achievement_ids: Iterable[UUID] = (),
    ) -> Achievement:
        """Recognise an achievement of any kind after validating every field.

        ``today`` is the caller's date (the domain never reads the clock); ``recognised_on``
        defaults to it and may not be later. The details argument matching ``kind`` is
        required and the others must be ``None``; ``certified_by`` must be the institution in
        those details (the course's school or the issuer).
        """
        parsed_kind = AchievementKind.parse(kind, "kind")
        parsed_method = CertificationMethod.parse(method, "method")
        check_method_fits_kind(parsed_kind, parsed_method)
        day = validate_not_future(recognised_on or today, today, "recognised_on")
        details = check_details(parsed_kind, course, certificate, learning_record, today, day)
        learner = validate_learner_id(learner_id)
        certifier = validate_code(certified_by, "certified_by")
        if certifier != details.issuer:
            raise ValidationError("certified_by", f"must be {details.issuer}, who issued it")
        key = natural_key(parsed_kind, learner, details)
        return cls(
            record=AchievementRecord(
                natural_key=key,
                kind=parsed_kind,
                learner_id=learner,
                title=validate_name(title, "title"),
                certified_by=certifier,
                method=parsed_method,
                evidence=validate_evidence(evidence),
                rule=validate_rule(rule),
                credits=validate_credits(credits),
                category=Category.parse(category, "category"),
                recognised_on=day,
                course=details.course,
                certificate=details.certificate,
                learning_record=details.learning_record,
                linked_achievement_ids=check_links(linked_achievement_ids, achievement_id(key)),
            )
        )

    @classmethod
    def recognise_course_result(
        cls,
        *,
        learner_id: str,
        course: Course,
        term: str,
        score: Decimal | None,
        evidence: Evidence,
        today: date,
        rule: RuleRef | None = None,
        method: AssessmentMethod | CertificationMethod | str | None = None,
        recognised_on: date | None = None,
        linked_achievement_ids: Iterable[UUID] = (),
    ) -> Achievement:
        """Recognise a passed course result (课程成绩) with the course's credits and category.

        The method must be the course's assessment method (R3); an exam needs a score; the
        score is checked on the course's scale and must reach its pass mark (credits only on a
        pass, R13). ``rule`` defaults to :func:`course_credit_rule`.
        """
        expected = course.assessment_method
        chosen = CertificationMethod.parse(expected.value if method is None else method, "method")
        if chosen.value != expected.value:
            raise ValidationError("method", f"course {course.code} is assessed by {expected.zh}")
        if score is None and expected is AssessmentMethod.EXAM:
            raise ValidationError("score", "an exam result needs a score")
        checked = None if score is None else validate_score(score, scale=course.score_scale)
        if checked is not None and not course.passes(checked):
            raise ValidationError(
                "score", f"{checked} is below the pass mark {course.pass_mark}: no credits"
            )
        return cls.recognise(
            kind=AchievementKind.COURSE_RESULT,
            learner_id=learner_id,
            title=course.name,
            certified_by=course.owner,
            method=chosen,
            evidence=evidence,
            rule=course_credit_rule(course) if rule is None else rule,
            credits=course.credits,
            category=course.category,
            today=today,
            recognised_on=recognised_on,
            course=CourseResultDetails(
                institution=course.owner,
                course_code=course.code,
                term=term,
                score=checked,
                score_scale=course.score_scale,
            ),
            linked_achievement_ids=linked_achievement_ids,
        )

    @classmethod
    def recognise_x_certificate(
        cls,
        *,
        learner_id: str,
        certificate: Certificate,
        number: str,
        level: CertificateLevel | str,
        issued_on: date,
        expires_on: date | None,
        evidence: Evidence,
        rule: RuleRef,
        credits: Decimal,
        category: Category | str,
        today: date,
        method: CertificationMethod | str = CertificationMethod.MATCHING,
        recognised_on: date | None = None,
        linked_achievement_ids: Iterable[UUID] = (),
    ) -> Achievement:
        """Recognise an X certificate of the catalog at one of its offered levels.

        Refused if the level is not offered, the issue date is in the future or after
        recognition, the expiry is before the issue date, or the certificate had expired by
        the recognition date.
        """
        parsed_level = certificate.check_level(level)
        return cls.recognise(
            kind=AchievementKind.X_CERTIFICATE,
            learner_id=learner_id,
            title=f"{certificate.name}（{parsed_level.zh}）",
            certified_by=certificate.issuer,
            method=method,
            evidence=evidence,
            rule=rule,
            credits=credits,
            category=category,
            today=today,
            recognised_on=recognised_on,
            certificate=CertificateDetails(
                issuer=certificate.issuer,
                certificate_code=certificate.code,
                number=number,
                level=parsed_level,
                issued_on=issued_on,
                expires_on=expires_on,
            ),
            linked_achievement_ids=linked_achievement_ids,
        )

    # Queries -------------------------------------------------------------------------------

    @property
    def kind(self) -> AchievementKind:
        """The kind of achievement."""
        return self.record.kind

    @property
    def learner_id(self) -> str:
        """The opaque id of the learner who achieved it."""
        return self.record.learner_id

    @property
    def credits(self) -> Decimal:
        """Credits it earned."""
        return self.record.credits

    @property
    def category(self) -> Category:
        """The category its credits count in."""
        return self.record.category

    @property
    def natural_key(self) -> tuple[str, ...]:
        """Its idempotency key."""
        return self.record.natural_key

    @property
    def is_revoked(self) -> bool:
        """Whether it was revoked."""
        return self.status is AchievementStatus.REVOKED

    # Commands ------------------------------------------------------------------------------

    def revoke(self, *, reason: RevocationReason | str, note: str, today: date) -> None:
        """Revoke it (撤销) for fraud, an error or an upheld appeal; ``note`` says why.

        Revocation happens once (:class:`AlreadyRevokedError`). The learner's credit must be
        reversed too: see :meth:`LearnerAccount.reverse_achievement`.
        """
        if self.revocation is not None:
            raise AlreadyRevokedError(f"achievement {self.id} was already revoked")
        parsed = RevocationReason.parse(reason, "reason")
        text = validate_name(note, "note", max_length=2000)
        day = validate_date(today, "today")
        recognised_on = self.record.recognised_on
        if day < recognised_on:
            raise ValidationError("today", f"is before the recognition on {recognised_on}")
        self._revoked(revocation=Revocation(reason=parsed, note=text, revoked_on=day))

    @event("Revoked")
    def _revoked(self, revocation: Revocation) -> None:
        self.status = AchievementStatus.REVOKED
        self.revocation = revocation

    def correct_score(self, *, score: Decimal, reason: str, today: date) -> None:
        """Correct the score of a course result (成绩更正): the record keeps its natural key
        and credits; the score it replaces, and why, stay in :attr:`corrections` and in the
        history. A result corrected below its course's pass mark is revoked instead (credits
        only on a pass): that check needs the course, and is the caller's."""
        course = self.record.course
        if self.record.kind is not AchievementKind.COURSE_RESULT or course is None \
                or course.score is None:
            raise ValidationError("score", "only a course result with a score is corrected; "
                                  "revoke and record again anything else")
        if self.revocation is not None:
            raise AlreadyRevokedError(f"achievement {self.id} was revoked: it is not corrected")
        new = validate_score(score, "score", scale=course.score_scale)
        if new == course.score:
            raise ValidationError("score", f"is already {new}")
        text = validate_name(reason, "reason", max_length=2000)
        day = validate_date(today, "today")
        if day < self.record.recognised_on:
            raise ValidationError("today", f"is before the recognition on "
                                  f"{self.record.recognised_on}")
        correction = Correction(previous_score=course.score, score=new, reason=text,
                                corrected_on=day)
        record = msgspec.structs.replace(
            self.record, course=msgspec.structs.replace(course, score=new))
        self._corrected(record=record, correction=correction)

    @event("Corrected")
    def _corrected(self, record: AchievementRecord, correction: Correction) -> None:
        self.record = record
        self.corrections = (*self.corrections, correction)

    def link(self, other_id: UUID) -> None:
        """Link an achievement of the same assessment (R9); linking twice changes nothing."""
        if not isinstance(other_id, UUID):
            raise ValidationError("other_id", "must be a UUID")
        if other_id == self.id:
            raise ValidationError("other_id", "an achievement cannot be linked to itself")
        if other_id not in self.linked_achievement_ids:
            self._linked(achievement_id=other_id)

    @event("Linked")
    def _linked(self, achievement_id: UUID) -> None:
        self.linked_achievement_ids = (*self.linked_achievement_ids, achievement_id)


# Idempotent retries ---------------------------------------------------------------------------

_NOT_COMPARED = frozenset({"recognised_on"})


def _differing_fields(existing: AchievementRecord, proposed: AchievementRecord) -> tuple[str, ...]:
    return tuple(
        name
        for name in AchievementRecord.__struct_fields__
        if name not in _NOT_COMPARED and getattr(existing, name) != getattr(proposed, name)
    )


def same_achievement(existing: Achievement, proposed: Achievement) -> bool:
    """Whether ``proposed`` repeats ``existing`` exactly: an idempotent retry.

    Both must have the same id (natural key) and the same recognised facts; the recognition
    date is not compared, so a retry on a later day is still the same achievement.
    """
    return existing.id == proposed.id and not _differing_fields(existing.record, proposed.record)


def check_retry(existing: Achievement, proposed: Achievement) -> None:
    """Accept an idempotent retry; raise :class:`DuplicateAchievementError` for a conflict.

    The application layer calls this when a recognition collides with a recorded id: on
    return it records nothing and answers with ``existing``.
    """
    if existing.id != proposed.id:
        raise ValueError("check_retry compares achievements with the same natural key only")
    differing = _differing_fields(existing.record, proposed.record)
    if differing:
        raise DuplicateAchievementError(existing.id, differing)
