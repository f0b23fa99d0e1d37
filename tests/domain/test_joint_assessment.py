from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditledger.domain import (
    Achievement,
    AchievementKind,
    Certificate,
    Course,
    recognise_joint_assessment,
)
from creditledger.errors import ValidationError

from .builders import (
    EVIDENCE,
    LEARNER,
    TERM,
    TODAY,
    X_RULE,
    make_account,
    make_certificate,
    make_course,
    make_programme,
)


def integrated() -> tuple[Course, Certificate]:
    course = make_course()
    certificate = make_certificate()
    certificate.integrate(
        level="intermediate", programme=make_programme(course), course_codes=["C101"]
    )
    return course, certificate


def joint(
    course: Course, certificate: Certificate, **overrides: Any
) -> tuple[Achievement, Achievement]:
    fields: dict[str, Any] = {
        "learner_id": LEARNER,
        "course": course,
        "term": TERM,
        "score": Decimal(80),
        "certificate": certificate,
        "level": "中级",
        "certificate_number": "X-2022-0042",
        "issued_on": date(2022, 6, 20),
        "expires_on": date(2025, 6, 20),
        "evidence": EVIDENCE,
        "certificate_rule": X_RULE,
        "today": TODAY,
    }
    fields.update(overrides)
    return recognise_joint_assessment(**fields)


def test_one_assessment_yields_a_course_result_and_a_certificate_linked_to_each_other() -> None:
    result, certificate = joint(*integrated())
    assert result.kind is AchievementKind.COURSE_RESULT
    assert certificate.kind is AchievementKind.X_CERTIFICATE
    assert result.linked_achievement_ids == (certificate.id,)
    assert certificate.linked_achievement_ids == (result.id,)


def test_the_certificate_does_not_credit_the_same_learning_twice_by_default() -> None:
    result, certificate = joint(*integrated())
    account = make_account()
    account.credit_achievement(result)
    account.credit_achievement(certificate)
    assert account.balance("major_core") == result.credits == Decimal("3.00")


def test_the_certificate_credits_can_be_set_explicitly() -> None:
    _, certificate = joint(
        *integrated(), certificate_credits=Decimal(1), certificate_category="专业选修"
    )
    assert certificate.credits == Decimal("1.00")
    assert certificate.category.value == "major_elective"


def test_a_course_not_integrated_with_the_certificate_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        joint(make_course(), make_certificate())
    assert caught.value.field == "course"


def test_a_level_not_offered_is_refused() -> None:
    course, certificate = integrated()
    with pytest.raises(ValidationError) as caught:
        joint(course, certificate, level="expert")
    assert caught.value.field == "level"
