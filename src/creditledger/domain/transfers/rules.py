"""Conversion rules (学分转换规则), R6–R8 and R21: what converts into what, and on which terms.

A :class:`ConversionRule` names its kind (R6), its scope (R7), the sources it accepts, the
requirement of the target programme it credits, the conditions a source must meet, how many
credits it gives, and its caps. Rules are published in versioned rule sets
(:class:`~creditledger.domain.transfers.ruleset.ConversionRuleSet`) or carried by bilateral
agreements (:class:`~creditledger.domain.transfers.agreement.Agreement`). This module holds the
values and
the checks that a rule is well formed; applying a rule lives in :mod:`.conversion_policy`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import msgspec

from creditledger.domain.transfers.values import ConversionTarget, Labelled, TargetKind
from creditledger.domain.validation import (
    exact_decimal,
    validate_code,
    validate_credits,
    validate_name,
    validate_score,
)
from creditledger.domain.values import AchievementKind, Category, CertificateLevel
from creditledger.errors import ValidationError


class RuleKind(Labelled):
    """Transfer mode (转换方式), R6, plus 折算 conversion by ratio (R7, R21)."""

    CORRESPONDENCE = "correspondence"
    LEVEL = "level"
    MODULE = "module"
    RATIO = "ratio"


class TransferScope(Labelled):
    """Between whom credits move (转换范围), R7."""

    BETWEEN_MAJORS = "between_majors"
    INTER_INSTITUTION = "inter_institution"
    NON_DEGREE = "non_degree"


class AmountKind(Labelled):
    """How many credits a conversion gives."""

    TARGET_CREDITS = "target_credits"
    FIXED = "fixed"
    BY_LEVEL = "by_level"
    RATIO = "ratio"


class RatioBasis(Labelled):
    """What a ratio conversion (折算) multiplies: the source's credits or its hours (学时)."""

    CREDITS = "credits"
    HOURS = "hours"


class CapScope(Labelled):
    """What a cap (上限) groups by: what one learner receives through the rule carrying it, in
    total (``programme``), per calendar year, per source kind, per certifying institution, or
    the number of certificates used."""

    SOURCE_KIND = "source_kind"
    PROGRAMME = "programme"
    YEAR = "year"
    SOURCE_INSTITUTION = "source_institution"
    CERTIFICATE_COUNT = "certificate_count"

    @property
    def label(self) -> str:
        """The name used in messages: ``per-year``, ``certificate-count``..."""
        if self is CapScope.CERTIFICATE_COUNT:
            return "certificate-count"
        return "per-" + self.value.replace("_", "-")


_LEVEL_ORDER = {CertificateLevel.ELEMENTARY: 1, CertificateLevel.INTERMEDIATE: 2,
                CertificateLevel.ADVANCED: 3}


def level_reaches(level: CertificateLevel | None, minimum: CertificateLevel) -> bool:
    """Whether ``level`` is at least ``minimum`` (初级 < 中级 < 高级)."""
    return level is not None and _LEVEL_ORDER[level] >= _LEVEL_ORDER[minimum]


class SourceSelector(msgspec.Struct, frozen=True, kw_only=True):
    """Which achievements a rule accepts: a kind, and optionally who issued it and its code.

    For a course result ``institution`` is the course's school and ``code`` the course code; for
    a certificate they are the issuer and the certificate's catalog code; for a training record
    or online course ``institution`` is the provider and ``code`` is unused.
    """

    kind: AchievementKind
    institution: str | None = None
    code: str | None = None

    def label(self) -> str:
        where = "/".join(p for p in (self.institution, self.code) if p)
        return f"{self.kind.value} {where}".strip()


class Conditions(msgspec.Struct, frozen=True, kw_only=True):
    """What a source must meet (转换条件).

    ``require_valid``: a certificate must not have expired on the conversion date.
    ``max_age_years``: the source was achieved at most that many years before the conversion.
    ``makeup_pass_mark``: the conversion waits, pending, for a makeup assessment (补考) scoring
    at least this mark; it then posts, or is voided.
    """

    min_score: Decimal | None = None
    min_level: CertificateLevel | None = None
    require_valid: bool = False
    max_age_years: int | None = None
    makeup_pass_mark: Decimal | None = None


class LevelCredits(msgspec.Struct, frozen=True, kw_only=True):
    """Credits given for a certificate of one level (课程等级转换 by level)."""

    level: CertificateLevel
    credits: Decimal


class AmountPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How many credits a conversion gives its target.

    - ``target_credits``: the target course's or module's credits (needed for an exemption);
    - ``fixed``: ``credits``;
    - ``by_level``: the ``levels`` entry of the certificate's level;
    - ``ratio`` (折算): every ``per`` credits (or hours, by ``basis``) give ``gives`` credits,
      rounded **down** to ``step``, and never more than the credits drawn from the source.
    """

    kind: AmountKind
    credits: Decimal | None = None
    levels: tuple[LevelCredits, ...] = ()
    basis: RatioBasis | None = None
    per: Decimal | None = None
    gives: Decimal | None = None
    step: Decimal = Decimal("0.50")


class Cap(msgspec.Struct, frozen=True, kw_only=True):
    """A limit on what one learner may receive through a rule (转换上限).

    ``limit`` is credits, except for ``certificate_count``, where it is a number of certificates.
    """

    scope: CapScope
    limit: Decimal


class ConversionRule(msgspec.Struct, frozen=True, kw_only=True):
    """One conversion rule (转换规则).

    ``sources`` lists one selector per source; a module rule (课程模块) may list several, each
    to be met by a different achievement. ``shareable`` lets a source that already backs an
    exemption back another one under a rule that is shareable too.
    """

    rule_id: str
    kind: RuleKind
    scope: TransferScope
    sources: tuple[SourceSelector, ...]
    target: ConversionTarget
    amount: AmountPolicy
    conditions: Conditions = Conditions()
    caps: tuple[Cap, ...] = ()
    shareable: bool = False
    description: str = ""


class RuleSetVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One published version of an institution's rules, in force from ``effective_from``."""

    version: int
    effective_from: date
    published_on: date
    rules: tuple[ConversionRule, ...]

    def rule(self, rule_id: str) -> ConversionRule | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)


# Checking a rule ---------------------------------------------------------------------------------


def validate_rules(
    rules: Iterable[ConversionRule], field: str = "rules"
) -> tuple[ConversionRule, ...]:
    """Return well-formed rules with unique ids; refuse an empty list."""
    checked = tuple(validate_conversion_rule(r, f"{field}[{i}]") for i, r in enumerate(rules))
    if not checked:
        raise ValidationError(field, "name at least one rule")
    ids = [r.rule_id for r in checked]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValidationError(field, f"duplicate rule ids {', '.join(duplicates)}")
    return checked


def validate_conversion_rule(rule: object, field: str = "rule") -> ConversionRule:
    """Return ``rule`` if it is well formed: kind, scope, sources, target and amount agree."""
    if not isinstance(rule, ConversionRule):
        raise ValidationError(field, f"must be a ConversionRule, not {type(rule).__name__}")
    validate_code(rule.rule_id, f"{field}.rule_id", max_length=200)
    if rule.description:
        validate_name(rule.description, f"{field}.description", max_length=2000)
    _check_target(rule.target, f"{field}.target")
    _check_sources(rule, f"{field}.sources")
    _check_kind(rule, field)
    _check_amount(rule, f"{field}.amount")
    _check_conditions(rule.conditions, f"{field}.conditions")
    for i, cap in enumerate(rule.caps):
        _check_cap(cap, f"{field}.caps[{i}]")
    return rule


def _check_target(target: ConversionTarget, field: str) -> None:
    validate_code(target.institution, f"{field}.institution")
    validate_code(target.programme_code, f"{field}.programme_code")
    validate_code(target.code, f"{field}.code")
    category = target.kind is TargetKind.CATEGORY
    if category and Category.parse(target.code, f"{field}.code").value != target.code:
        raise ValidationError(f"{field}.code", "use the category's English value")


def _check_sources(rule: ConversionRule, field: str) -> None:
    if not rule.sources:
        raise ValidationError(field, "name at least one source")
    home = rule.target.institution
    for i, selector in enumerate(rule.sources):
        where = f"{field}[{i}]"
        for name in ("institution", "code"):
            value = getattr(selector, name)
            if value is not None:
                validate_code(value, f"{where}.{name}")
        is_course = selector.kind is AchievementKind.COURSE_RESULT
        if rule.scope is TransferScope.NON_DEGREE and is_course:
            raise ValidationError(where, "a non-degree rule converts certificates or records")
        if rule.scope is not TransferScope.NON_DEGREE and not is_course:
            raise ValidationError(where, f"a {rule.scope.value} rule converts course results")
        if is_course and selector.institution is None:
            raise ValidationError(f"{where}.institution", "name the course's school")
        same_school = selector.institution == home
        if rule.scope is TransferScope.BETWEEN_MAJORS and not same_school:
            raise ValidationError(f"{where}.institution", f"must be {home}: between majors of "
                                  "one school; another school's courses need an agreement")
        if rule.scope is TransferScope.INTER_INSTITUTION and same_school:
            raise ValidationError(f"{where}.institution", "must be the other school")


_KIND_TARGETS = {
    RuleKind.CORRESPONDENCE: {TargetKind.COURSE},
    RuleKind.LEVEL: {TargetKind.COURSE, TargetKind.CATEGORY},
    RuleKind.MODULE: {TargetKind.MODULE},
    RuleKind.RATIO: {TargetKind.CATEGORY},
}


def _check_kind(rule: ConversionRule, field: str) -> None:
    allowed = _KIND_TARGETS[rule.kind]
    if rule.target.kind not in allowed:
        names = " or ".join(sorted(k.value for k in allowed))
        raise ValidationError(f"{field}.target.kind", f"a {rule.kind.value} rule targets {names}")
    if rule.kind is not RuleKind.MODULE and len(rule.sources) != 1:
        raise ValidationError(f"{field}.sources", f"a {rule.kind.value} rule takes one source")
    if rule.kind is RuleKind.CORRESPONDENCE and (
            rule.sources[0].kind is not AchievementKind.COURSE_RESULT
            or rule.sources[0].code is None):
        raise ValidationError(f"{field}.sources", "course correspondence (课程对应) names one "
                              "course: a course result with its code")
    if rule.kind is RuleKind.RATIO and rule.amount.kind is not AmountKind.RATIO:
        raise ValidationError(f"{field}.amount.kind", "a ratio rule gives a ratio amount")
    if rule.kind is not RuleKind.RATIO and rule.amount.kind is AmountKind.RATIO:
        raise ValidationError(f"{field}.amount.kind", "only a ratio rule (折算) uses a ratio")


def _check_amount(rule: ConversionRule, field: str) -> None:
    amount = rule.amount
    exempts = rule.target.kind is not TargetKind.CATEGORY
    if exempts != (amount.kind is AmountKind.TARGET_CREDITS):
        problem = ("an exemption (免修) transfers the target's credits: use target_credits"
                   if exempts else "a category has no credits of its own: give an amount")
        raise ValidationError(f"{field}.kind", problem)
    if amount.kind is AmountKind.FIXED:
        validate_credits(amount.credits, f"{field}.credits", positive=True)
    if amount.kind is AmountKind.BY_LEVEL:
        _check_levels(rule, field)
    if amount.kind is AmountKind.RATIO:
        _check_ratio(amount, field)


def _check_levels(rule: ConversionRule, field: str) -> None:
    certificates = {AchievementKind.X_CERTIFICATE, AchievementKind.QUALIFICATION_CERTIFICATE}
    if rule.sources[0].kind not in certificates:
        raise ValidationError(f"{field}.levels", "credits by level need a certificate source")
    if not rule.amount.levels:
        raise ValidationError(f"{field}.levels", "give the credits of at least one level")
    seen = [lc.level for lc in rule.amount.levels]
    if len(set(seen)) != len(seen):
        raise ValidationError(f"{field}.levels", "a level is listed twice")
    for lc in rule.amount.levels:
        validate_credits(lc.credits, f"{field}.levels.credits", positive=True)


def _check_ratio(amount: AmountPolicy, field: str) -> None:
    if amount.basis is None:
        raise ValidationError(f"{field}.basis", "say whether the ratio applies to credits or hours")
    per = _positive(amount.per, f"{field}.per")
    gives = _positive(amount.gives, f"{field}.gives")
    if amount.basis is RatioBasis.CREDITS and gives > per:
        raise ValidationError(f"{field}.gives", "a ratio of credits above 1 would create credit")
    step = exact_decimal(amount.step, f"{field}.step")
    if not Decimal("0.01") <= step <= 1 or step != step.quantize(Decimal("0.01")):
        raise ValidationError(f"{field}.step", f"must be 0.01 to 1 in hundredths ({step})")


def _positive(value: object, field: str) -> Decimal:
    if value is None:
        raise ValidationError(field, "is required for a ratio")
    number = exact_decimal(value, field)
    if number <= 0 or number > 10_000:
        raise ValidationError(field, f"must be above 0 and at most 10000 ({number})")
    return number


def _check_conditions(conditions: Conditions, field: str) -> None:
    if conditions.min_score is not None:
        validate_score(conditions.min_score, f"{field}.min_score", scale=Decimal(1000))
    if conditions.makeup_pass_mark is not None:
        validate_score(conditions.makeup_pass_mark, f"{field}.makeup_pass_mark",
                       scale=Decimal(1000))
    years = conditions.max_age_years
    if years is not None and (isinstance(years, bool) or not 1 <= years <= 50):
        raise ValidationError(f"{field}.max_age_years", f"must be 1 to 50 years ({years!r})")


def _check_cap(cap: Cap, field: str) -> None:
    if cap.scope is CapScope.CERTIFICATE_COUNT:
        limit = exact_decimal(cap.limit, f"{field}.limit")
        if limit < 1 or limit != limit.to_integral_value():
            raise ValidationError(f"{field}.limit", "a certificate count is a whole number >= 1")
        return
    validate_credits(cap.limit, f"{field}.limit", positive=True, maximum=Decimal(300))
