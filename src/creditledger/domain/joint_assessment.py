"""One assessment, two achievements (一考双证, R9).

A course exam held together with the certificate assessment yields both the course result and
the X certificate. :func:`recognise_joint_assessment` builds the pair, each linked to the other,
so the audit trail shows they came from one assessment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from creditledger.domain.achievement import Achievement
from creditledger.domain.achievement_record import certificate_key, course_result_key
from creditledger.domain.certificate import Certificate
from creditledger.domain.course import Course
from creditledger.domain.ids import achievement_id
from creditledger.domain.values import Category, CertificateLevel, Evidence, RuleRef
from creditledger.errors import ValidationError


def recognise_joint_assessment(
    *,
    learner_id: str,
    course: Course,
    term: str,
    score: Decimal,
    certificate: Certificate,
    level: CertificateLevel | str,
    certificate_number: str,
    issued_on: date,
    expires_on: date | None,
    evidence: Evidence,
    certificate_rule: RuleRef,
    today: date,
    course_rule: RuleRef | None = None,
    certificate_credits: Decimal = Decimal(0),
    certificate_category: Category | str | None = None,
    recognised_on: date | None = None,
) -> tuple[Achievement, Achievement]:
    """Return ``(course_result, x_certificate)``, each listing the other's id as linked.

    The course must be integrated with the certificate at ``level`` (课证融合, see
    :meth:`Certificate.integrate`). The course result earns the course's credits; the
    certificate earns ``certificate_credits``, by default zero, because the same learning must
    not be credited twice. Nothing is recorded here: the caller saves both aggregates (and the
    learner account it credits) in one save.
    """
    parsed_level = certificate.check_level(level)
    if not certificate.covers(parsed_level, course.owner, course.code):
        raise ValidationError(
            "course",
            f"{course.code} is not integrated with {certificate.name} at {parsed_level.zh}",
        )
    result_id = achievement_id(course_result_key(learner_id, course.owner, course.code, term))
    certificate_id = achievement_id(certificate_key(certificate.issuer, certificate_number))
    course_result = Achievement.recognise_course_result(
        learner_id=learner_id,
        course=course,
        term=term,
        score=score,
        evidence=evidence,
        today=today,
        rule=course_rule,
        recognised_on=recognised_on,
        linked_achievement_ids=(certificate_id,),
    )
    x_certificate = Achievement.recognise_x_certificate(
        learner_id=learner_id,
        certificate=certificate,
        number=certificate_number,
        level=parsed_level,
        issued_on=issued_on,
        expires_on=expires_on,
        evidence=evidence,
        rule=certificate_rule,
        credits=certificate_credits,
        category=course.category if certificate_category is None else certificate_category,
        today=today,
        recognised_on=recognised_on,
        linked_achievement_ids=(result_id,),
    )
    return course_result, x_certificate
