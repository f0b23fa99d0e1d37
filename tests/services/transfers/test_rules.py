"""Rules are checked when published; rule sets are versioned by effective date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from creditledger.domain import (
    AchievementKind,
    AmountKind,
    AmountPolicy,
    Cap,
    CapScope,
    ConversionRuleSet,
    RatioBasis,
    RuleKind,
    SourceSelector,
    TargetKind,
    TransferScope,
    floor_to_step,
)
from creditledger.errors import NotAuthorisedError, NotFoundError, ValidationError

from .builders import category_rule, certificate_rule, module_rule, ratio_rule, target
from .world import World


def bad(rule: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        ConversionRuleSet.create("GZCC").publish([rule], effective_from=date(2022, 1, 1),
                                                 today=date(2022, 1, 1))


def test_malformed_rules_are_refused_naming_the_problem() -> None:
    bad(certificate_rule(amount=AmountPolicy(kind=AmountKind.FIXED, credits=Decimal(2))),
        "an exemption .* use target_credits")
    bad(category_rule(amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS)),
        "a category has no credits of its own")
    bad(ratio_rule(gives="2", per="1", basis=RatioBasis.CREDITS), "would create credit")
    bad(ratio_rule(step="0.001"), "step")
    bad(ratio_rule(target=target(TargetKind.COURSE, "KJ2103")), "a ratio rule targets category")
    bad(module_rule(target=target()), "a module rule targets module")
    bad(certificate_rule(kind=RuleKind.CORRESPONDENCE), "names one course")
    bad(certificate_rule(scope=TransferScope.BETWEEN_MAJORS), "converts course results")
    bad(category_rule(sources=(SourceSelector(kind=AchievementKind.COURSE_RESULT,
                                              institution="GZCC"),)), "non-degree rule")
    bad(category_rule(caps=(Cap(scope=CapScope.CERTIFICATE_COUNT, limit=Decimal("1.5")),)),
        "whole number")
    bad(category_rule(target=target(TargetKind.CATEGORY, "专业选修")), "English value")
    bad(category_rule(target=target(TargetKind.CATEGORY, "elective")), "unknown Category")
    bad(category_rule(target=target().__class__(institution="LNPC", programme_code="1",
                                                kind=TargetKind.CATEGORY, code="major_core")),
        "targets LNPC")


def test_rule_ids_are_unique_within_a_version() -> None:
    bad_set = ConversionRuleSet.create("GZCC")
    with pytest.raises(ValidationError, match="duplicate rule ids cert"):
        bad_set.publish([certificate_rule(), certificate_rule()], effective_from=date(2022, 1, 1),
                        today=date(2022, 1, 1))


def test_the_version_in_force_is_the_latest_whose_date_has_come() -> None:
    rules = ConversionRuleSet.create("GZCC")
    rules.publish([certificate_rule()], effective_from=date(2022, 1, 1), today=date(2022, 1, 1))
    rules.publish([category_rule()], effective_from=date(2022, 9, 1), today=date(2022, 8, 1))
    assert rules.rules_at(date(2022, 8, 31)).version == 1
    assert rules.rules_at(date(2022, 9, 1)).version == 2
    with pytest.raises(NotFoundError):
        rules.rules_at(date(2021, 12, 31))
    with pytest.raises(NotFoundError, match="cert"):
        rules.rule_at("cert", date(2022, 9, 1))
    with pytest.raises(ValidationError, match="before version 2"):
        rules.publish([category_rule()], effective_from=date(2022, 8, 1), today=date(2022, 8, 1))


def test_a_conversion_records_the_rule_version_that_applied(world: World) -> None:
    world.publish(category_rule(credits="1.00"))
    world.publish(category_rule(credits="2.00"), effective_from=date(2022, 9, 1))
    a, b = world.certificate(number="A"), world.certificate(number="B")
    old = world.bank.convert(learner_id="S1", source_achievement_ids=[a.id], rule_id="elective",
                             signer=world.gzcc, today=date(2022, 8, 31))
    new = world.bank.convert(learner_id="S1", source_achievement_ids=[b.id], rule_id="elective",
                             signer=world.gzcc, today=date(2022, 9, 1))
    assert (old.rule.version, old.amount) == (1, Decimal("1.00"))
    assert (new.rule.version, new.amount) == (2, Decimal("2.00"))


def test_only_a_school_publishes_rules_for_its_own_existing_courses(world: World) -> None:
    with pytest.raises(NotAuthorisedError):
        world.bank.publish_rules(rules=[certificate_rule()], effective_from=date(2022, 1, 1),
                                 signer=world.keys["ISSUER"])
    with pytest.raises(NotFoundError, match="NOPE"):
        world.publish(certificate_rule(target=target(TargetKind.COURSE, "NOPE")))
    with pytest.raises(NotFoundError, match="module"):
        world.publish(module_rule(target=target(TargetKind.MODULE, "NOPE")))


def test_a_learner_must_be_enrolled_in_the_target_programme(world: World) -> None:
    from creditledger.errors import ConflictError

    world.publish(certificate_rule())
    cert = world.certificate("S2")
    with pytest.raises(ConflictError, match="not enrolled in GZCC/530302"):
        world.bank.convert(learner_id="S2", source_achievement_ids=[cert.id], rule_id="cert",
                           signer=world.gzcc)


def test_rounding_is_down_to_the_step() -> None:
    from fractions import Fraction

    assert floor_to_step(Fraction(36, 10), Decimal("0.5")) == Decimal("3.50")
    assert floor_to_step(Fraction(1, 3), Decimal("0.01")) == Decimal("0.33")
    assert floor_to_step(Fraction(2), Decimal("0.5")) == Decimal("2.00")
