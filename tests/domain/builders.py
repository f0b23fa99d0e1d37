"""Builders of valid domain objects for the tests; each takes keyword overrides."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from creditledger.domain import (
    Achievement,
    Certificate,
    Course,
    Evidence,
    LearnerAccount,
    PersonalData,
    Programme,
    RuleRef,
)

TODAY = date(2022, 7, 1)
SCHOOL = "GZCP"
ISSUER = "ORG-ROBOT"
LEARNER = "L-000001"
TERM = "2021-2022-2"
EVIDENCE = Evidence(description="成绩单 transcript", reference="https://example.invalid/t/1")
X_RULE = RuleRef(rule_id="x-certificate-conversion", version=1)


def make_course(**overrides: Any) -> Course:
    """A 48-hour major-core exam course: 3.00 credits."""
    fields: dict[str, Any] = {
        "owner": SCHOOL,
        "code": "C101",
        "name": "工业机器人编程",
        "category": "major_core",
        "nature": "必修",
        "course_type": "理实一体",
        "attribute": "考试课",
        "theory_hours": 32,
        "practice_hours": 16,
        "difficulty": Decimal("1.0"),
        "assessment_method": "exam",
    }
    fields.update(overrides)
    return Course.define(**fields)


def make_programme(*courses: Course, **overrides: Any) -> Programme:
    """A programme of the school holding ``courses`` and one module ``M1`` of all of them."""
    fields: dict[str, Any] = {
        "institution": SCHOOL,
        "code": "P-ROBOT",
        "name": "工业机器人技术",
        "required_credits": {"major_core": Decimal(40)},
    }
    fields.update(overrides)
    programme = Programme.establish(**fields)
    for course in courses:
        programme.add_course(course)
    if courses:
        programme.define_module(code="M1", name="编程模块", course_codes=[c.code for c in courses])
    return programme


def make_certificate(**overrides: Any) -> Certificate:
    """Industrial robot application programming, offered at all three levels."""
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "code": "industrial-robot-application-programming",
        "name": "工业机器人应用编程",
        "name_en": "Industrial Robot Application Programming",
        "levels": ["elementary", "intermediate", "advanced"],
        "majors": ["机电一体化技术", "工业机器人技术"],
    }
    fields.update(overrides)
    return Certificate.register(**fields)


def make_account(**overrides: Any) -> LearnerAccount:
    """A student's account at the school."""
    fields: dict[str, Any] = {
        "learner_id": LEARNER,
        "learner_type": "student",
        "personal_data": PersonalData(name="张三", id_document_number="110101200001011234"),
        "home_institution": SCHOOL,
        "programme_code": "P-ROBOT",
    }
    fields.update(overrides)
    return LearnerAccount.open(**fields)


def make_course_result(course: Course | None = None, **overrides: Any) -> Achievement:
    """A passed course result (score 85) of :data:`LEARNER`."""
    fields: dict[str, Any] = {
        "learner_id": LEARNER,
        "course": course or make_course(),
        "term": TERM,
        "score": Decimal(85),
        "evidence": EVIDENCE,
        "today": TODAY,
    }
    fields.update(overrides)
    return Achievement.recognise_course_result(**fields)


def make_x_certificate(certificate: Certificate | None = None, **overrides: Any) -> Achievement:
    """An intermediate X certificate worth 2.00 major-core credits."""
    fields: dict[str, Any] = {
        "learner_id": LEARNER,
        "certificate": certificate or make_certificate(),
        "number": "X-2022-0001",
        "level": "intermediate",
        "issued_on": date(2022, 6, 1),
        "expires_on": date(2025, 6, 1),
        "evidence": EVIDENCE,
        "rule": X_RULE,
        "credits": Decimal(2),
        "category": "major_core",
        "today": TODAY,
    }
    fields.update(overrides)
    return Achievement.recognise_x_certificate(**fields)
