"""Applying a conversion rule to sources: matching, conditions, and the credits each leg moves.

Pure functions over values. The ledger aggregate
(:class:`~creditledger.domain.transfers.ledger.CreditTransfers`) calls them with what it knows
(what is still available on each source) and turns the legs into balanced transfers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import NamedTuple
from uuid import UUID

from creditledger.domain.transfers.rules import (
    AmountKind,
    AmountPolicy,
    ConversionRule,
    RatioBasis,
    SourceSelector,
    level_reaches,
)
from creditledger.domain.transfers.values import CONVERSION_LOSS, SourceFacts
from creditledger.errors import ConditionNotMetError, InsufficientCreditsError, ValidationError

_ZERO = Decimal("0.00")


class Leg(NamedTuple):
    """One movement a conversion plans: ``amount`` from ``source`` to ``credit_account``."""

    source: UUID
    credit_account: str
    amount: Decimal


# Matching ---------------------------------------------------------------------------------------


def selector_matches(selector: SourceSelector, source: SourceFacts) -> bool:
    """Whether ``source`` is of the selector's kind, institution and code."""
    return (
        selector.kind is source.kind
        and selector.institution in (None, source.institution)
        and selector.code in (None, source.code)
    )


def match_sources(
    rule: ConversionRule, sources: tuple[SourceFacts, ...]
) -> tuple[SourceFacts, ...]:
    """Pair each of the rule's selectors with a different source, in the selectors' order.

    Every source must be used: a module (课程模块) is covered by exactly the achievements its
    rule names, and a one-source rule takes one achievement.
    """
    ids = [s.achievement_id for s in sources]
    if len(set(ids)) != len(ids):
        raise ValidationError("source_achievement_ids", "an achievement is named twice")
    left = list(sources)
    matched: list[SourceFacts] = []
    for selector in rule.sources:
        found = next((s for s in left if selector_matches(selector, s)), None)
        if found is None:
            raise ValidationError("source_achievement_ids",
                                  f"rule {rule.rule_id} needs a {selector.label()}; none given")
        matched.append(found)
        left.remove(found)
    if left:
        extra = ", ".join(str(s.achievement_id) for s in left)
        raise ValidationError("source_achievement_ids", f"rule {rule.rule_id} does not use {extra}")
    return tuple(matched)


# Conditions -------------------------------------------------------------------------------------


def check_standing(source: SourceFacts, learner_id: str, on: date) -> None:
    """A source must be the learner's, recognised by ``on``, not revoked, and carry credits."""
    aid = source.achievement_id
    if source.learner_id != learner_id:
        raise ConditionNotMetError(aid, "learner", f"belongs to another learner, not {learner_id}")
    if source.revoked:
        raise ConditionNotMetError(aid, "revoked", "is revoked")
    if source.recognised_on > on:
        raise ConditionNotMetError(aid, "recognised", f"was recognised after {on}")
    if source.credits <= 0:
        raise ConditionNotMetError(aid, "credits", "carries no credits")


def check_conditions(rule: ConversionRule, source: SourceFacts, on: date) -> None:
    """Refuse a source that misses a condition of the rule (score, level, validity, age)."""
    c, aid = rule.conditions, source.achievement_id
    if c.min_score is not None:
        if source.score is None:
            raise ConditionNotMetError(aid, "min_score", f"has no score; {c.min_score} needed")
        if source.score < c.min_score:
            raise ConditionNotMetError(aid, "min_score",
                                       f"scored {source.score}, below {c.min_score}")
    if c.min_level is not None and not level_reaches(source.level, c.min_level):
        have = source.level.value if source.level else "no level"
        raise ConditionNotMetError(aid, "min_level", f"is {have}; {c.min_level.value} needed")
    if c.require_valid and source.expires_on is not None and source.expires_on < on:
        raise ConditionNotMetError(aid, "require_valid", f"expired on {source.expires_on}")
    if c.max_age_years is not None and years_after(source.achieved_on, c.max_age_years) < on:
        raise ConditionNotMetError(aid, "max_age_years", f"was achieved on {source.achieved_on}, "
                                   f"more than {c.max_age_years} years before {on}")


def years_after(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# Amounts ----------------------------------------------------------------------------------------


def floor_to_step(value: Fraction, step: Decimal) -> Decimal:
    """``value`` rounded DOWN to a multiple of ``step``: rounding never creates credit."""
    steps = floor(value / Fraction(step))
    return (Decimal(steps) * step).quantize(Decimal("0.01"))


def plan_legs(
    rule: ConversionRule,
    sources: tuple[SourceFacts, ...],
    target_credits: Decimal | None,
    available: Mapping[UUID, Decimal],
) -> list[Leg]:
    """The movements a conversion makes, drawing on what is ``available`` on each source."""
    amount = rule.amount
    if amount.kind is AmountKind.RATIO:
        source = sources[0]  # a ratio rule takes one source
        return _ratio_legs(rule, source, available[source.achievement_id])
    needed = _needed(amount, sources, target_credits, rule)
    return _draw(rule.target.account, needed, sources, available)


def _needed(
    amount: AmountPolicy, sources: tuple[SourceFacts, ...], target_credits: Decimal | None,
    rule: ConversionRule,
) -> Decimal:
    if amount.kind is AmountKind.TARGET_CREDITS:
        if target_credits is None or target_credits <= 0:
            raise ValidationError("target", f"{rule.target.label()} has no credits to exempt")
        return target_credits
    if amount.kind is AmountKind.FIXED and amount.credits is not None:
        return amount.credits
    level = sources[0].level
    for entry in amount.levels:
        if entry.level is level:
            return entry.credits
    shown = level.value if level else "no level"
    raise ConditionNotMetError(sources[0].achievement_id, "level",
                               f"is {shown}; rule {rule.rule_id} gives no credits for it")


def _draw(
    account: str, needed: Decimal, sources: tuple[SourceFacts, ...],
    available: Mapping[UUID, Decimal],
) -> list[Leg]:
    """Draw ``needed`` from the sources in order, each up to what it has left."""
    total = sum((available[s.achievement_id] for s in sources), _ZERO)
    if total < needed:
        raise InsufficientCreditsError(tuple(s.achievement_id for s in sources), total, needed)
    legs: list[Leg] = []
    remaining = needed
    for source in sources:
        take = min(available[source.achievement_id], remaining)
        if take > 0:
            legs.append(Leg(source.achievement_id, account, take))
            remaining -= take
    return legs


def _ratio_legs(rule: ConversionRule, source: SourceFacts, left: Decimal) -> list[Leg]:
    """折算: all that is left on the source is drawn; the target gets floor(basis × ratio, step)
    (never more than was drawn) and ``conversion-loss`` the rest, so debits equal credits."""
    aid, amount = source.achievement_id, rule.amount
    if left <= 0:
        raise InsufficientCreditsError((aid,), left, Decimal("0.01"))
    if amount.basis is RatioBasis.HOURS:
        if source.hours is None or source.hours <= 0:
            raise ConditionNotMetError(aid, "hours", "records no hours (学时) to convert")
        basis = Fraction(source.hours)
    else:
        basis = Fraction(left)
    assert amount.per is not None and amount.gives is not None  # checked when published
    given = min(left, floor_to_step(basis * Fraction(amount.gives) / Fraction(amount.per),
                                    amount.step))
    if given <= 0:
        raise ConditionNotMetError(aid, "ratio", f"converts to less than {amount.step} credits")
    legs = [Leg(aid, rule.target.account, given)]
    if left > given:
        legs.append(Leg(aid, CONVERSION_LOSS, left - given))
    return legs
