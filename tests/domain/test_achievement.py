from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from creditledger.domain import (
    Achievement,
    AchievementKind,
    AchievementStatus,
    Category,
    CertificateDetails,
    CertificateLevel,
    CertificationMethod,
    Evidence,
    LearningRecordDetails,
    RevocationReason,
    RuleRef,
    achievement_id,
    certificate_key,
    check_retry,
    course_result_key,
    learning_record_key,
    same_achievement,
)
from creditledger.errors import AlreadyRevokedError, DuplicateAchievementError, ValidationError

from .builders import (
    EVIDENCE,
    ISSUER,
    LEARNER,
    SCHOOL,
    TERM,
    TODAY,
    X_RULE,
    make_certificate,
    make_course,
    make_course_result,
    make_x_certificate,
)

# Course results ------------------------------------------------------------------------------


def test_course_result_takes_credits_category_and_method_from_the_course() -> None:
    result = make_course_result()
    assert result.kind is AchievementKind.COURSE_RESULT
    assert result.credits == Decimal("3.00")
    assert result.category is Category.MAJOR_CORE
    assert result.record.method is CertificationMethod.EXAM
    assert result.record.certified_by == SCHOOL
    assert result.record.rule == RuleRef(rule_id="course-credit-value/GZCP/C101", version=1)
    assert result.record.recognised_on == TODAY
    assert result.status is AchievementStatus.RECOGNISED


def test_course_result_id_is_its_natural_key() -> None:
    key = course_result_key(LEARNER, SCHOOL, "C101", TERM)
    assert make_course_result().id == achievement_id(key)
    assert make_course_result().natural_key == key


def test_course_result_natural_key_holds_no_personal_data() -> None:
    assert make_course_result().natural_key == (
        "course_result",
        LEARNER,
        SCHOOL,
        "C101",
        TERM,
    )


def test_course_result_method_other_than_the_courses_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course_result(method="assessment")
    assert caught.value.field == "method"


def test_exam_result_without_a_score_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course_result(score=None)
    assert caught.value.field == "score"


def test_evaluation_result_may_have_no_score() -> None:
    course = make_course(assessment_method="evaluation")
    assert make_course_result(course, score=None).record.course is not None


@pytest.mark.parametrize("score", [Decimal(-1), Decimal("100.5"), Decimal("NaN")])
def test_score_outside_0_to_100_is_refused(score: Decimal) -> None:
    with pytest.raises(ValidationError) as caught:
        make_course_result(score=score)
    assert caught.value.field == "score"


def test_score_is_validated_against_the_courses_scale() -> None:
    course = make_course(score_scale=Decimal(5), pass_mark=Decimal(3))
    assert make_course_result(course, score=Decimal(4)).record.course is not None
    with pytest.raises(ValidationError, match="0–5"):
        make_course_result(course, score=Decimal(85))


def test_failed_course_result_earns_no_credits_and_is_refused() -> None:
    with pytest.raises(ValidationError, match="pass mark") as caught:
        make_course_result(score=Decimal("59.5"))
    assert caught.value.field == "score"


def test_malformed_term_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course_result(term="2022 spring")
    assert caught.value.field == "term"


def test_recognition_date_in_the_future_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course_result(recognised_on=TODAY + timedelta(days=1))
    assert caught.value.field == "recognised_on"


def test_learner_id_that_is_an_identity_card_number_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course_result(learner_id="110101200001011234")
    assert caught.value.field == "learner_id"


# X certificates ------------------------------------------------------------------------------


def test_x_certificate_is_recognised_at_an_offered_level() -> None:
    achievement = make_x_certificate()
    details = achievement.record.certificate
    assert details is not None
    assert details.level is not None and details.level.zh == "中级"
    assert achievement.record.title == "工业机器人应用编程（中级）"
    assert achievement.record.method is CertificationMethod.MATCHING
    assert achievement.id == achievement_id(certificate_key(ISSUER, "X-2022-0001"))


def test_invalid_level_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(level="master")
    assert caught.value.field == "level"


def test_level_not_offered_by_the_certificate_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(make_certificate(levels=["intermediate"]), level="advanced")
    assert caught.value.field == "level"


def test_certificate_issued_in_the_future_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(issued_on=TODAY + timedelta(days=1))
    assert caught.value.field == "issued_on"


def test_expiry_before_issue_date_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(issued_on=date(2022, 6, 1), expires_on=date(2022, 5, 1))
    assert caught.value.field == "expires_on"


def test_certificate_expired_at_recognition_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="expired") as caught:
        make_x_certificate(issued_on=date(2019, 1, 1), expires_on=date(2022, 6, 30))
    assert caught.value.field == "expires_on"


def test_certificate_expiring_on_the_recognition_date_is_still_valid() -> None:
    assert make_x_certificate(expires_on=TODAY).credits == Decimal("2.00")


def test_certificate_without_expiry_is_accepted() -> None:
    assert make_x_certificate(expires_on=None).record.certificate is not None


@pytest.mark.parametrize(
    ("credits", "problem"),
    [
        (Decimal(-2), "negative"),
        (Decimal("NaN"), "NaN"),
        (Decimal("Infinity"), "infinite"),
        (Decimal("2.005"), "over-precise"),
        (Decimal(61), "absurd"),
        (2.0, "float"),
    ],
)
def test_bad_certificate_credits_are_refused_naming_the_field(
    credits: object, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        make_x_certificate(credits=credits)
    assert caught.value.field == "credits"


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(category="electives")
    assert caught.value.field == "category"


def test_in_school_method_cannot_certify_a_certificate() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(method="exam")
    assert caught.value.field == "method"


def test_empty_certificate_number_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(number="  ")
    assert caught.value.field == "number"


def test_evidence_with_bad_digest_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate(evidence=Evidence(description="scan", sha256="00"))
    assert caught.value.field == "evidence.sha256"


# The general recognise() -----------------------------------------------------------------------


def training(**overrides: Any) -> Achievement:
    fields: dict[str, Any] = {
        "kind": "training_record",
        "learner_id": LEARNER,
        "title": "焊接培训",
        "certified_by": "ORG-WELD",
        "method": "conversion",
        "evidence": EVIDENCE,
        "rule": RuleRef(rule_id="training-hours", version=2),
        "credits": Decimal("1.5"),
        "category": "major_elective",
        "today": TODAY,
        "learning_record": LearningRecordDetails(
            issuer="ORG-WELD", reference="T-77", completed_on=date(2022, 5, 1), hours=24
        ),
    }
    fields.update(overrides)
    return Achievement.recognise(**fields)


def test_training_record_is_keyed_by_learner_issuer_and_reference() -> None:
    record = training()
    assert record.natural_key == learning_record_key(LEARNER, "ORG-WELD", "T-77")
    assert record.credits == Decimal("1.50")


def test_online_course_shares_the_learning_record_key_family() -> None:
    assert training(kind="online_course").id == training().id


@pytest.mark.parametrize("method", ["exam", "assessment", "evaluation"])
def test_in_school_methods_cannot_certify_out_of_school_kinds(method: str) -> None:
    with pytest.raises(ValidationError) as caught:
        training(method=method)
    assert caught.value.field == "method"


@pytest.mark.parametrize("method", ["matching", "comparison", "conversion"])
def test_out_of_school_methods_cannot_certify_a_course_result(method: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Achievement.recognise(
            kind="course_result",
            learner_id=LEARNER,
            title="x",
            certified_by=SCHOOL,
            method=method,
            evidence=EVIDENCE,
            rule=X_RULE,
            credits=Decimal(1),
            category="major_core",
            today=TODAY,
        )
    assert caught.value.field == "method"


def test_details_must_match_the_kind() -> None:
    with pytest.raises(ValidationError) as caught:
        training(kind="qualification_certificate")
    assert caught.value.field == "certificate"
    details = CertificateDetails(
        issuer="ORG-WELD", certificate_code="Q", number="1", issued_on=date(2022, 1, 1)
    )
    with pytest.raises(ValidationError) as caught:
        training(certificate=details)
    assert caught.value.field == "certificate"


def test_certifier_must_be_the_issuer() -> None:
    with pytest.raises(ValidationError) as caught:
        training(certified_by="SOMEONE-ELSE")
    assert caught.value.field == "certified_by"


def test_training_completed_in_the_future_is_refused() -> None:
    late = LearningRecordDetails(issuer="ORG-WELD", reference="T-77", completed_on=date(2023, 1, 1))
    with pytest.raises(ValidationError) as caught:
        training(learning_record=late)
    assert caught.value.field == "completed_on"


def test_diploma_has_no_level() -> None:
    details = CertificateDetails(
        issuer=SCHOOL,
        certificate_code="P-ROBOT",
        number="D-1",
        issued_on=date(2020, 7, 1),
        level=CertificateLevel.INTERMEDIATE,
    )
    with pytest.raises(ValidationError) as caught:
        training(
            kind="diploma",
            method="matching",
            certified_by=SCHOOL,
            learning_record=None,
            certificate=details,
        )
    assert caught.value.field == "level"


def test_x_certificate_details_need_a_level() -> None:
    details = CertificateDetails(
        issuer="ORG-WELD", certificate_code="X", number="1", issued_on=date(2022, 1, 1)
    )
    with pytest.raises(ValidationError) as caught:
        training(kind="x_certificate", learning_record=None, certificate=details, method="matching")
    assert caught.value.field == "level"


def test_qualification_and_x_certificates_share_the_certificate_key_family() -> None:
    details = CertificateDetails(
        issuer=ISSUER,
        certificate_code="Q-1",
        number="X-2022-0001",
        issued_on=date(2022, 1, 1),
    )
    qualification = training(
        kind="qualification_certificate",
        certified_by=ISSUER,
        learning_record=None,
        certificate=details,
    )
    assert qualification.id == make_x_certificate().id
    assert not same_achievement(make_x_certificate(), qualification)


# Idempotency ---------------------------------------------------------------------------------


def test_retry_of_the_same_command_is_the_same_achievement() -> None:
    first = make_course_result()
    retry = make_course_result()
    assert same_achievement(first, retry)
    check_retry(first, retry)


def test_retry_on_a_later_day_is_still_the_same_achievement() -> None:
    first = make_course_result(recognised_on=TODAY - timedelta(days=3))
    assert same_achievement(first, make_course_result())


def test_same_key_with_different_facts_is_a_conflict() -> None:
    first = make_course_result()
    other = make_course_result(score=Decimal(90))
    assert first.id == other.id
    assert not same_achievement(first, other)
    with pytest.raises(DuplicateAchievementError, match="course") as caught:
        check_retry(first, other)
    assert caught.value.fields == ("course",)


def test_different_keys_are_never_the_same_achievement() -> None:
    assert not same_achievement(make_course_result(), make_course_result(term="2021-2022-1"))
    with pytest.raises(ValueError, match="same natural key"):
        check_retry(make_course_result(), make_x_certificate())


# Revocation and links ------------------------------------------------------------------------


def test_revoking_marks_the_achievement_revoked() -> None:
    achievement = make_x_certificate()
    achievement.revoke(reason="舞弊", note="forged certificate", today=TODAY)
    assert achievement.is_revoked
    assert achievement.revocation is not None
    assert achievement.revocation.reason is RevocationReason.FRAUD
    assert achievement.revocation.revoked_on == TODAY


def test_an_achievement_cannot_be_revoked_twice() -> None:
    achievement = make_x_certificate()
    achievement.revoke(reason="error", note="wrong learner", today=TODAY)
    events = len(achievement.pending_events)
    with pytest.raises(AlreadyRevokedError):
        achievement.revoke(reason="fraud", note="again", today=TODAY)
    assert len(achievement.pending_events) == events


def test_revocation_needs_a_known_reason_and_a_note() -> None:
    achievement = make_x_certificate()
    with pytest.raises(ValidationError) as caught:
        achievement.revoke(reason="boredom", note="x", today=TODAY)
    assert caught.value.field == "reason"
    with pytest.raises(ValidationError) as caught:
        achievement.revoke(reason="appeal_upheld", note="", today=TODAY)
    assert caught.value.field == "note"
    assert not achievement.is_revoked


def test_revocation_before_recognition_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_x_certificate().revoke(reason="error", note="x", today=TODAY - timedelta(days=1))
    assert caught.value.field == "today"


def test_linking_records_the_other_id_once() -> None:
    achievement, other = make_course_result(), make_x_certificate()
    achievement.link(other.id)
    achievement.link(other.id)
    assert achievement.linked_achievement_ids == (other.id,)
    assert [type(e).__name__ for e in achievement.collect_events()] == ["Recognised", "Linked"]


def test_an_achievement_cannot_be_linked_to_itself() -> None:
    achievement = make_course_result()
    with pytest.raises(ValidationError):
        achievement.link(achievement.id)
    with pytest.raises(ValidationError) as caught:
        make_course_result(linked_achievement_ids=[achievement.id])
    assert caught.value.field == "linked_achievement_ids"


def test_details_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        training(learning_record={"issuer": "ORG-WELD"})
    assert caught.value.field == "learning_record"
