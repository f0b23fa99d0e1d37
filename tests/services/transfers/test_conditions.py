"""Each condition a rule can carry, and each way a source can fail to stand, on the pure ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditledger.domain import (
    AchievementKind,
    AmountKind,
    AmountPolicy,
    CertificateLevel,
    Conditions,
    LevelCredits,
)
from creditledger.errors import ConditionNotMetError, InsufficientCreditsError, ValidationError

from .builders import (
    DAY,
    category_rule,
    certificate_rule,
    course_facts,
    facts,
    ledger,
    request,
)
from .world import between_majors_rule


def refused(rule_conditions: Conditions, *sources: object, credits: str = "4.00") -> str:
    book = ledger()
    rule = certificate_rule(conditions=rule_conditions)
    with pytest.raises(ConditionNotMetError) as e:
        book.convert(request(rule, *sources, target_credits=credits))  # type: ignore[arg-type]
    assert len(book.pending_events) == 1  # only Opened: nothing recorded
    return e.value.condition


def test_min_score_refuses_a_low_or_missing_score() -> None:
    book, rule = ledger(), between_majors_rule()
    low = course_facts("low", "GG2001", score=Decimal("59.5"))
    with pytest.raises(ConditionNotMetError, match=r"scored 59\.5, below 60"):
        book.convert(request(rule, low, target_credits="4.00"))
    none = course_facts("none", "GG2001", score=None)
    with pytest.raises(ConditionNotMetError, match="has no score"):
        book.convert(request(rule, none, target_credits="4.00"))
    book.convert(request(rule, course_facts("ok", "GG2001", score=Decimal(60)),
                         target_credits="4.00"))
    assert len(book.live_exemptions()) == 1


def test_min_level_refuses_a_lower_certificate_and_accepts_a_higher_one() -> None:
    elementary = facts("e", level=CertificateLevel.ELEMENTARY)
    assert refused(Conditions(min_level=CertificateLevel.INTERMEDIATE), elementary) == "min_level"
    book = ledger()
    book.convert(request(certificate_rule(), facts("adv", level=CertificateLevel.ADVANCED),
                         target_credits="4.00"))
    assert book.live_exemptions()


def test_require_valid_refuses_a_certificate_expired_by_the_conversion_date() -> None:
    expired = facts("x", expires_on=date(2022, 8, 31))
    assert refused(Conditions(require_valid=True), expired) == "require_valid"
    book = ledger()  # without the condition, or without an expiry date, it converts
    book.convert(request(certificate_rule(conditions=Conditions()), expired, target_credits="4"))
    book2 = ledger()
    book2.convert(request(certificate_rule(), facts("forever", expires_on=None),
                          target_credits="4.00"))


def test_max_age_refuses_a_source_older_than_n_years() -> None:
    old = facts("old", achieved_on=date(2017, 8, 31))
    assert refused(Conditions(max_age_years=5), old) == "max_age_years"
    book = ledger()  # exactly five years is not older
    book.convert(request(certificate_rule(conditions=Conditions(max_age_years=5)),
                         facts("edge", achieved_on=date(2017, 9, 1)), target_credits="4.00"))


def test_a_source_must_be_the_learners_recognised_by_then_and_not_revoked() -> None:
    cases = {
        "revoked": facts("r", revoked=True),
        "learner": facts("l", learner_id="SOMEONE-ELSE"),
        "recognised": facts("late", recognised_on=date(2022, 9, 2)),
    }
    for condition, source in cases.items():
        assert refused(Conditions(), source) == condition


def test_a_source_of_another_kind_or_code_does_not_match_the_rule() -> None:
    book = ledger()
    wrong = facts("w", code="robotics")
    with pytest.raises(ValidationError, match="needs a x_certificate ISSUER/finance"):
        book.convert(request(certificate_rule(), wrong, target_credits="4.00"))
    with pytest.raises(ValidationError, match="does not use"):
        book.convert(request(certificate_rule(), facts("a"), facts("b"), target_credits="4.00"))


def test_credits_by_level_give_each_level_its_credits() -> None:
    rule = category_rule(amount=AmountPolicy(kind=AmountKind.BY_LEVEL, levels=(
        LevelCredits(level=CertificateLevel.INTERMEDIATE, credits=Decimal(3)),
        LevelCredits(level=CertificateLevel.ADVANCED, credits=Decimal(4)))))
    book = ledger()
    done = book.convert(request(rule, facts("i")))
    assert done.amount == Decimal(3)
    with pytest.raises(ConditionNotMetError, match="gives no credits"):
        book.convert(request(rule, facts("e", level=CertificateLevel.ELEMENTARY)))


def test_a_source_cannot_give_more_than_it_has_left() -> None:
    book = ledger()
    small = facts("small", credits=Decimal("3.00"))
    with pytest.raises(InsufficientCreditsError, match=r"3\.00 credits left to convert; 4\.00"):
        book.convert(request(certificate_rule(), small, target_credits="4.00"))
    rule = category_rule(credits="2.50", kind=AchievementKind.X_CERTIFICATE)
    book.convert(request(rule, small))
    with pytest.raises(InsufficientCreditsError, match=r"0\.50 credits left"):
        book.convert(request(category_rule("again", credits="1.00"), small))
    assert book.available(small) == Decimal("0.50")


def test_the_conversion_date_is_the_day_conditions_are_judged_on() -> None:
    source = facts("a", expires_on=date(2022, 9, 1))
    book = ledger()
    book.convert(request(certificate_rule(), source, target_credits="4.00", on=DAY))
    assert book.live_exemptions()[0].granted_on == DAY
