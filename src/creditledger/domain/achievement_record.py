"""What is recorded of an achievement (学习成果): its facts, natural key and details, checked.

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
a retry that names the wrong kind is caught as a conflict instead of being credited twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec

from creditledger.domain.course import Course
from creditledger.domain.validation import (
    MAX_NAME_LENGTH,
    validate_code,
    validate_date,
    validate_hours,
    validate_not_future,
    validate_score,
    validate_score_scale,
    validate_term,
)
from creditledger.domain.values import (
    IN_SCHOOL_KINDS,
    IN_SCHOOL_METHODS,
    OUT_OF_SCHOOL_METHODS,
    AchievementKind,
    Category,
    CertificateDetails,
    CertificateLevel,
    CertificationMethod,
    CourseResultDetails,
    Evidence,
    LearningRecordDetails,
    RuleRef,
)
from creditledger.errors import ValidationError

# Natural keys ---------------------------------------------------------------------------------


def course_result_key(
    learner_id: str, institution: str, course_code: str, term: str
) -> tuple[str, ...]:
    """Natural key of a course result: learner, institution, course code and term."""
    return (
        "course_result",
        validate_code(learner_id, "learner_id"),
        validate_code(institution, "institution"),
        validate_code(course_code, "course_code"),
        validate_term(term),
    )


def certificate_key(issuer: str, number: str) -> tuple[str, ...]:
    """Natural key of an X or qualification certificate: issuer and certificate number."""
    return ("certificate", validate_code(issuer, "issuer"), validate_code(number, "number"))


def diploma_key(issuer: str, number: str) -> tuple[str, ...]:
    """Natural key of a diploma (学历证书): issuing school and diploma number."""
    return ("diploma", validate_code(issuer, "issuer"), validate_code(number, "number"))


def learning_record_key(learner_id: str, issuer: str, reference: str) -> tuple[str, ...]:
    """Natural key of a training record or online course: learner, issuer and reference."""
    return (
        "learning_record",
        validate_code(learner_id, "learner_id"),
        validate_code(issuer, "issuer"),
        validate_code(reference, "reference", max_length=MAX_NAME_LENGTH),
    )


# The recorded facts ---------------------------------------------------------------------------


class AchievementRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Everything recognised about one achievement: the payload of its ``Recognised`` event.

    Exactly one of ``course``, ``certificate`` and ``learning_record`` is set, according to
    ``kind``.
    """

    natural_key: tuple[str, ...]
    kind: AchievementKind
    learner_id: str
    title: str
    certified_by: str
    method: CertificationMethod
    evidence: Evidence
    rule: RuleRef
    credits: Decimal
    category: Category
    recognised_on: date
    course: CourseResultDetails | None = None
    certificate: CertificateDetails | None = None
    learning_record: LearningRecordDetails | None = None
    linked_achievement_ids: tuple[UUID, ...] = ()


def check_method_fits_kind(kind: AchievementKind, method: CertificationMethod) -> None:
    """Refuse a method that cannot certify ``kind``.

    In-school kinds (course results) are certified by exam 考试, assessment 考查 or evaluation
    评价 (R3); every out-of-school kind by matching 对接, comparison 比对 or conversion 折算 (R4).
    """
    allowed = IN_SCHOOL_METHODS if kind in IN_SCHOOL_KINDS else OUT_OF_SCHOOL_METHODS
    if method not in allowed:
        choices = "/".join(m.zh for m in CertificationMethod if m in allowed)
        raise ValidationError("method", f"{method.zh} cannot certify a {kind.zh}; use {choices}")


def course_credit_rule(course: Course) -> RuleRef:
    """The rule that gives a course result its credits: the course's current definition."""
    rule_id = f"course-credit-value/{course.owner}/{course.code}"
    return RuleRef(rule_id=rule_id, version=course.version)


# Helpers --------------------------------------------------------------------------------------


class Details(msgspec.Struct, frozen=True):
    issuer: str
    course: CourseResultDetails | None = None
    certificate: CertificateDetails | None = None
    learning_record: LearningRecordDetails | None = None


_DETAILS_FIELD = {
    AchievementKind.COURSE_RESULT: "course",
    AchievementKind.X_CERTIFICATE: "certificate",
    AchievementKind.QUALIFICATION_CERTIFICATE: "certificate",
    AchievementKind.DIPLOMA: "certificate",
    AchievementKind.TRAINING_RECORD: "learning_record",
    AchievementKind.ONLINE_COURSE: "learning_record",
}


def check_details(
    kind: AchievementKind,
    course: object,
    certificate: object,
    learning_record: object,
    today: date,
    recognised_on: date,
) -> Details:
    given = {"course": course, "certificate": certificate, "learning_record": learning_record}
    wanted = _DETAILS_FIELD[kind]
    for name, value in given.items():
        if name == wanted and value is None:
            raise ValidationError(name, f"is required for a {kind.zh}")
        if name != wanted and value is not None:
            raise ValidationError(name, f"does not apply to a {kind.zh}")
    if isinstance(course, CourseResultDetails):
        checked_course = _course_details(course)
        return Details(checked_course.institution, course=checked_course)
    if isinstance(certificate, CertificateDetails):
        checked = _certificate_details(certificate, kind, today, recognised_on)
        return Details(checked.issuer, certificate=checked)
    if isinstance(learning_record, LearningRecordDetails):
        checked_record = _record_details(learning_record, today, recognised_on)
        return Details(checked_record.issuer, learning_record=checked_record)
    raise ValidationError(wanted, f"has the wrong type {type(given[wanted]).__name__}")


def _course_details(value: CourseResultDetails) -> CourseResultDetails:
    scale = validate_score_scale(value.score_scale, "course.score_scale")
    return CourseResultDetails(
        institution=validate_code(value.institution, "course.institution"),
        course_code=validate_code(value.course_code, "course.course_code"),
        term=validate_term(value.term),
        score=None if value.score is None else validate_score(value.score, scale=scale),
        score_scale=scale,
    )


def _certificate_details(
    value: CertificateDetails, kind: AchievementKind, today: date, recognised_on: date
) -> CertificateDetails:
    if kind is AchievementKind.X_CERTIFICATE and value.level is None:
        raise ValidationError("level", "an X certificate needs its level (初级/中级/高级)")
    if kind is AchievementKind.DIPLOMA and value.level is not None:
        raise ValidationError("level", "a diploma has no certificate level")
    level = None if value.level is None else CertificateLevel.parse(value.level, "level")
    issued_on = validate_not_future(value.issued_on, today, "issued_on")
    if issued_on > recognised_on:
        raise ValidationError("issued_on", f"is after the recognition date {recognised_on}")
    expires_on = None if value.expires_on is None else validate_date(value.expires_on, "expires_on")
    if expires_on is not None and expires_on <= issued_on:
        raise ValidationError("expires_on", f"is not after the issue date {issued_on}")
    if expires_on is not None and expires_on < recognised_on:
        raise ValidationError(
            "expires_on", f"the certificate expired on {expires_on}, before {recognised_on}"
        )
    return CertificateDetails(
        issuer=validate_code(value.issuer, "issuer"),
        certificate_code=validate_code(value.certificate_code, "certificate_code"),
        number=validate_code(value.number, "number"),
        level=level,
        issued_on=issued_on,
        expires_on=expires_on,
    )


def _record_details(
    value: LearningRecordDetails, today: date, recognised_on: date
) -> LearningRecordDetails:
    completed_on = validate_not_future(value.completed_on, today, "completed_on")
    if completed_on > recognised_on:
        raise ValidationError("completed_on", f"is after the recognition date {recognised_on}")
    return LearningRecordDetails(
        issuer=validate_code(value.issuer, "issuer"),
        reference=validate_code(value.reference, "reference", max_length=MAX_NAME_LENGTH),
        completed_on=completed_on,
        hours=None if value.hours is None else validate_hours(value.hours, "hours"),
        score=None if value.score is None else validate_score(value.score),
    )


def natural_key(kind: AchievementKind, learner_id: str, details: Details) -> tuple[str, ...]:
    if details.course is not None:
        c = details.course
        return course_result_key(learner_id, c.institution, c.course_code, c.term)
    if details.certificate is not None:
        cert = details.certificate
        if kind is AchievementKind.DIPLOMA:
            return diploma_key(cert.issuer, cert.number)
        return certificate_key(cert.issuer, cert.number)
    assert details.learning_record is not None  # _details always sets exactly one
    r = details.learning_record
    return learning_record_key(learner_id, r.issuer, r.reference)


def check_links(ids: Iterable[UUID], own_id: UUID) -> tuple[UUID, ...]:
    links = tuple(dict.fromkeys(ids))
    for other in links:
        if not isinstance(other, UUID):
            raise ValidationError("linked_achievement_ids", f"{other!r} is not a UUID")
        if other == own_id:
            raise ValidationError("linked_achievement_ids", "an achievement cannot link itself")
    return links
