"""Recognition of learning achievements (学习成果认定, R3–R5, R9) and their revocation.

Only the institution that owns a course (or issued a certificate, training record...) may
recognise an achievement for it, and only the certifying institution may revoke it. A
recognition and the learner's credit are one commit; a revocation reverses the credit, and
every conversion resting on it, in one commit (compensating entries, never edits).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Achievement,
    AchievementKind,
    Category,
    CertificateDetails,
    CertificateLevel,
    CertificationMethod,
    Course,
    Evidence,
    LearnerAccount,
    LearningRecordDetails,
    RevocationReason,
    RuleRef,
    check_may_recognise,
    check_retry,
    course_id,
    recognise_joint_assessment,
)
from creditledger.domain.base import snapshot
from creditledger.errors import NotAuthorisedError, ValidationError
from creditledger.services.transfers import (
    TransferCommands,
    corrected_conversions,
    reversed_conversions,
)

LEARNING_RECORD_KINDS = frozenset(
    {
        AchievementKind.QUALIFICATION_CERTIFICATE,
        AchievementKind.TRAINING_RECORD,
        AchievementKind.ONLINE_COURSE,
        AchievementKind.DIPLOMA,
    }
)


class RecognitionCommands(TransferCommands):
    """Recognise achievements (course results, certificates, out-of-school records) and
    revoke them."""


    def recognise_course_result(
        self,
        *,
        learner_id: str,
        course_code: str,
        term: str,
        score: Decimal | None,
        evidence: Evidence,
        signer: SigningKey,
        course_owner: str | None = None,
        today: date | None = None,
    ) -> Achievement:
        """The school that owns the course recognises a passed result (R3) and credits it.

        ``course_owner`` defaults to the signer's school; naming another school's course is
        refused with :class:`NotAuthorisedError` and nothing is written.
        """
        school = self._principal(signer)
        course = self._course(course_owner or school, course_code)
        check_may_recognise(school, course)
        account = self._account(learner_id)
        achievement = Achievement.recognise_course_result(
            learner_id=learner_id, course=course, term=term, score=score, evidence=evidence,
            today=today or self._today(),
        )
        return self._keep(achievement, account, signer)

    def recognise_certificate(
        self,
        *,
        learner_id: str,
        certificate_code: str,
        number: str,
        level: CertificateLevel | str,
        issued_on: date,
        expires_on: date | None,
        credits: Decimal,
        category: Category | str,
        rule: RuleRef,
        evidence: Evidence,
        signer: SigningKey,
        issuer: str | None = None,
        method: CertificationMethod | str = CertificationMethod.MATCHING,
        today: date | None = None,
    ) -> Achievement:
        """The issuing organisation recognises a 1+X certificate (R5, R18) and credits it.

        ``issuer`` defaults to the signer's organisation; anyone else is refused.
        """
        principal = self._principal(signer)
        certificate = self._certificate(issuer or principal, certificate_code)
        check_may_recognise(principal, certificate)
        account = self._account(learner_id)
        achievement = Achievement.recognise_x_certificate(
            learner_id=learner_id, certificate=certificate, number=number, level=level,
            issued_on=issued_on, expires_on=expires_on, evidence=evidence, rule=rule,
            credits=credits, category=category, method=method, today=today or self._today(),
        )
        return self._keep(achievement, account, signer)

    def recognise_learning_record(
        self,
        *,
        kind: AchievementKind | str,
        learner_id: str,
        title: str,
        reference: str,
        completed_on: date,
        method: CertificationMethod | str,
        credits: Decimal,
        category: Category | str,
        rule: RuleRef,
        evidence: Evidence,
        signer: SigningKey,
        hours: int | None = None,
        score: Decimal | None = None,
        today: date | None = None,
    ) -> Achievement:
        """The issuing institution recognises an out-of-school record (R4): a training record,
        online course, qualification certificate or diploma, certified by matching 对接,
        comparison 比对 or conversion 折算.
        """
        issuer = self._principal(signer)
        parsed = AchievementKind.parse(kind, "kind")
        if parsed not in LEARNING_RECORD_KINDS:
            raise ValidationError("kind", f"use the dedicated command for a {parsed.value}")
        account = self._account(learner_id)
        details: dict[str, Any] = {}
        if parsed in (AchievementKind.TRAINING_RECORD, AchievementKind.ONLINE_COURSE):
            details["learning_record"] = LearningRecordDetails(
                issuer=issuer, reference=reference, completed_on=completed_on, hours=hours,
                score=score)
        else:
            details["certificate"] = CertificateDetails(
                issuer=issuer, certificate_code=parsed.value, number=reference, level=None,
                issued_on=completed_on, expires_on=None)
        achievement = Achievement.recognise(
            kind=parsed, learner_id=learner_id, title=title, certified_by=issuer, method=method,
            evidence=evidence, rule=rule, credits=credits, category=category,
            today=today or self._today(), **details,
        )
        return self._keep(achievement, account, signer)

    def recognise_joint_assessment(
        self,
        *,
        learner_id: str,
        course_code: str,
        term: str,
        score: Decimal,
        issuer: str,
        certificate_code: str,
        level: CertificateLevel | str,
        certificate_number: str,
        issued_on: date,
        expires_on: date | None,
        certificate_rule: RuleRef,
        evidence: Evidence,
        school_signer: SigningKey,
        issuer_signer: SigningKey,
        today: date | None = None,
    ) -> tuple[Achievement, Achievement]:
        """One assessment, two achievements (一考双证, R9), linked to each other.

        The school records the course result, the issuing organisation the certificate: two
        principals, so two signed commits (course result first). Each names the other's id,
        which is derived from its natural key, so the links hold before both exist; retrying
        after a failure between the two commits completes the pair idempotently.
        """
        school = self._principal(school_signer)
        course = self._course(school, course_code)
        check_may_recognise(school, course)
        certificate = self._certificate(issuer, certificate_code)
        check_may_recognise(self._principal(issuer_signer), certificate)
        account = self._account(learner_id)
        course_result, x_certificate = recognise_joint_assessment(
            learner_id=learner_id, course=course, term=term, score=score,
            certificate=certificate, level=level, certificate_number=certificate_number,
            issued_on=issued_on, expires_on=expires_on, evidence=evidence,
            certificate_rule=certificate_rule, today=today or self._today(),
        )
        first = self._keep(course_result, account, school_signer)
        second = self._keep(x_certificate, self._account(learner_id), issuer_signer)
        return first, second

    def _keep(
        self, achievement: Achievement, account: LearnerAccount, signer: SigningKey
    ) -> Achievement:
        """Save a new achievement and its credit in one commit; a retry returns the original
        (as a read-only snapshot)."""
        existing = self._existing_achievement(achievement)
        if existing is not None:
            return snapshot(existing)
        account.credit_achievement(achievement)
        try:
            self._save(achievement, account, signer=signer)
        except RecordConflictError:
            existing = self._existing_achievement(achievement)  # a concurrent twin won
            if existing is None:
                raise
            return snapshot(existing)
        return snapshot(achievement)

    def _existing_achievement(self, proposed: Achievement) -> Achievement | None:
        try:
            existing: Achievement = self._load(proposed.id)
        except AggregateNotFoundError:
            return None
        check_retry(existing, proposed)
        return existing

    # -- revocation ------------------------------------------------------------------------

    def revoke(
        self,
        achievement_id: UUID,
        *,
        reason: RevocationReason | str,
        note: str,
        signer: SigningKey,
        today: date | None = None,
    ) -> Achievement:
        """The certifying institution revokes an achievement (fraud, error, appeal upheld).

        The learner's credit is reversed by a compensating entry in the same commit, as is
        every conversion and exemption resting on it (compensating transfers); nothing recorded
        before is edited.
        """
        principal = self._principal(signer)
        achievement = self._achievement(achievement_id)
        if achievement.record.certified_by != principal:
            raise NotAuthorisedError(
                f"{principal} may not revoke an achievement certified by "
                f"{achievement.record.certified_by}"
            )
        account = self._account(achievement.learner_id)
        achievement.revoke(reason=reason, note=note, today=today or self._today())
        account.reverse_achievement(achievement)
        transfers = reversed_conversions(self, achievement)  # conversions resting on it, if any
        self._save(achievement, account, transfers, signer=signer)
        return snapshot(achievement)

    def correct_result(self, achievement_id: UUID, *, score: Decimal, reason: str,
                       signer: SigningKey, today: date | None = None) -> Achievement:
        """The certifying school corrects a recorded course result's score (成绩更正), with a
        reason: the record keeps its key and credits, the old score and the reason stay in its
        history (``explain`` and the transcript show both). Every conversion resting on the
        result is reversed in the same commit (a compensating entry; convert again if it still
        qualifies). A score below the course's pass mark is refused: revoke the result."""
        principal = self._principal(signer)
        achievement = self._achievement(achievement_id)
        if achievement.record.certified_by != principal:
            raise NotAuthorisedError(f"{principal} may not correct an achievement certified by "
                                     f"{achievement.record.certified_by}")
        course_details = achievement.record.course
        if course_details is not None:
            course = self._optional(Course, course_id(course_details.institution,
                                                      course_details.course_code))
            if course is not None and Decimal(score) < course.pass_mark:
                raise ValidationError("score", f"{score} is below the pass mark "
                                      f"{course.pass_mark} of {course.code}: a failed result "
                                      "earns no credits — revoke it instead")
        day = today or self._today()
        achievement.correct_score(score=score, reason=reason, today=day)
        transfers = corrected_conversions(self, achievement)
        self._save(achievement, transfers, signer=signer)
        return snapshot(achievement)
