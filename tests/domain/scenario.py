"""A scenario in which every aggregate class emits every one of its event classes."""

from __future__ import annotations

from decimal import Decimal

from eventsourcing.domain import Aggregate, CanMutateAggregate

from creditledger.domain import (
    CreditFormula,
    Evidence,
    Institution,
    PersonalData,
    recognise_joint_assessment,
)

from .builders import (
    LEARNER,
    TERM,
    TODAY,
    X_RULE,
    make_account,
    make_certificate,
    make_course,
    make_programme,
    make_x_certificate,
)

_NOT_TRIGGERED = {"Event", "Created", "Snapshot"}


def declared_event_classes(cls: type[Aggregate]) -> set[type]:
    """The event classes an aggregate class defines through ``@event`` decorators."""
    return {
        value
        for name, value in vars(cls).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in _NOT_TRIGGERED
    }


def every_event_scenario() -> list[Aggregate]:
    """Aggregates whose pending events cover every declared event class."""
    school = Institution.register(code="GZCP", name="广州城市职业学院", kind="school")
    school.rename("广州城市职业学院（新）")
    school.set_credit_system(True)

    course = make_course()
    course.revise_credit_value(
        theory_hours=40,
        practice_hours=24,
        difficulty=Decimal("1.25"),
        formula=CreditFormula(hours_per_credit=18, step=Decimal("0.25")),
    )
    spare = make_course(code="C999", name="备用课程")
    programme = make_programme(course)
    programme.add_course(spare)
    programme.remove_course("C999")
    programme.set_required_credits("major_elective", Decimal("12.5"))

    certificate = make_certificate(levels=["intermediate"], majors=["工业机器人技术"])
    certificate.add_level("advanced")
    certificate.map_major("机电一体化技术")
    certificate.integrate(level="intermediate", programme=programme, module_codes=["M1"])

    evidence = Evidence(
        description="联合考核成绩单", reference="urn:doc:1", sha256="0123456789abcdef" * 4
    )
    result, x_certificate = recognise_joint_assessment(
        learner_id=LEARNER,
        course=course,
        term=TERM,
        score=Decimal("88.5"),
        certificate=certificate,
        level="intermediate",
        certificate_number="X-2022-0042",
        issued_on=TODAY,
        expires_on=None,
        evidence=evidence,
        certificate_rule=X_RULE,
        certificate_credits=Decimal("1.25"),
        today=TODAY,
    )
    other = make_x_certificate(certificate, number="X-2022-0043", level="advanced")
    result.link(other.id)
    result.correct_score(score=Decimal("91"), reason="登分错误", today=TODAY)

    account = make_account(
        learner_type="society_member", home_institution=None, programme_code=None
    )
    account.enrol(institution="GZCP", programme_code="P-ROBOT")
    account.correct_personal_data(PersonalData(name="张叁", id_document_type="居民身份证"))
    account.credit_achievement(result)
    account.credit_achievement(other)
    other.revoke(reason="fraud", note="伪造", today=TODAY)
    account.reverse_achievement(other)
    account.erase_personal_data(reason="consent withdrawn", legal_basis="PIPL Art. 47",
                                erased_by="GZCP", staff_id="R-01")
    return [school, course, spare, programme, certificate, result, x_certificate, other, account]
