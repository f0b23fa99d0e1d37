"""Builders for the pure transfer ledger: sources, rules and requests, without a store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from creditledger.domain import (
    AchievementKind,
    AgreementRef,
    AmountKind,
    AmountPolicy,
    Cap,
    Category,
    CertificateLevel,
    Conditions,
    ConversionRequest,
    ConversionRule,
    ConversionTarget,
    CreditTransfers,
    RatioBasis,
    RuleKind,
    RuleVersionRef,
    SourceFacts,
    SourceSelector,
    TargetKind,
    TransferScope,
)

DAY = date(2022, 9, 1)
LEARNER = "S1"
SCHOOL = "GZCC"
PROGRAMME = "530302"
RULE_SET = UUID("00000000-0000-4000-8000-000000000001")
_NS = UUID("00000000-0000-4000-8000-0000000000aa")


def achievement_uuid(name: str) -> UUID:
    return uuid5(_NS, name)


def facts(name: str = "a", **overrides: Any) -> SourceFacts:
    """A recognised source; by default an intermediate 智能财税 certificate with 4 credits."""
    values: dict[str, Any] = dict(
        achievement_id=achievement_uuid(name), learner_id=LEARNER,
        kind=AchievementKind.X_CERTIFICATE, title=f"source {name}", certified_by="ISSUER",
        credits=Decimal("4.00"), category=Category.MAJOR_ELECTIVE, recognised_on=date(2022, 7, 1),
        achieved_on=date(2022, 6, 30), institution="ISSUER", code="finance",
        level=CertificateLevel.INTERMEDIATE, expires_on=date(2025, 6, 30))
    values.update(overrides)
    return SourceFacts(**values)


def course_facts(name: str, code: str, institution: str = SCHOOL, **overrides: Any) -> SourceFacts:
    values: dict[str, Any] = dict(kind=AchievementKind.COURSE_RESULT, certified_by=institution,
                                  institution=institution, code=code, level=None,
                                  expires_on=None, score=Decimal(80),
                                  category=Category.PUBLIC_BASIC)
    values.update(overrides)
    return facts(name, **values)


def training_facts(name: str, hours: int = 72, **overrides: Any) -> SourceFacts:
    values: dict[str, Any] = dict(kind=AchievementKind.TRAINING_RECORD, certified_by="VTC",
                                  institution="VTC", code=None, level=None, expires_on=None,
                                  hours=hours)
    values.update(overrides)
    return facts(name, **values)


def target(kind: TargetKind = TargetKind.COURSE, code: str = "KJ2103") -> ConversionTarget:
    return ConversionTarget(institution=SCHOOL, programme_code=PROGRAMME, kind=kind, code=code)


def certificate_rule(rule_id: str = "cert", **overrides: Any) -> ConversionRule:
    """课程等级: an intermediate 智能财税 certificate exempts course KJ2103."""
    values: dict[str, Any] = dict(
        rule_id=rule_id, kind=RuleKind.LEVEL, scope=TransferScope.NON_DEGREE,
        sources=(SourceSelector(kind=AchievementKind.X_CERTIFICATE, institution="ISSUER",
                                code="finance"),),
        target=target(), amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS),
        conditions=Conditions(min_level=CertificateLevel.INTERMEDIATE, require_valid=True))
    values.update(overrides)
    return ConversionRule(**values)


def category_rule(rule_id: str = "elective", credits: str = "2.00", *, caps: tuple[Cap, ...] = (),
                  kind: AchievementKind = AchievementKind.X_CERTIFICATE,
                  **overrides: Any) -> ConversionRule:
    """A fixed number of elective credits for any achievement of ``kind``."""
    values: dict[str, Any] = dict(
        rule_id=rule_id, kind=RuleKind.LEVEL, scope=TransferScope.NON_DEGREE,
        sources=(SourceSelector(kind=kind),),
        target=target(TargetKind.CATEGORY, "major_elective"),
        amount=AmountPolicy(kind=AmountKind.FIXED, credits=Decimal(credits)), caps=caps)
    values.update(overrides)
    return ConversionRule(**values)


def ratio_rule(rule_id: str = "ratio", *, per: str = "20", gives: str = "1", step: str = "0.5",
               basis: RatioBasis = RatioBasis.HOURS, **overrides: Any) -> ConversionRule:
    """折算: a training record's hours (or credits) times a ratio, into elective credits."""
    values: dict[str, Any] = dict(
        rule_id=rule_id, kind=RuleKind.RATIO, scope=TransferScope.NON_DEGREE,
        sources=(SourceSelector(kind=AchievementKind.TRAINING_RECORD),),
        target=target(TargetKind.CATEGORY, "major_elective"),
        amount=AmountPolicy(kind=AmountKind.RATIO, basis=basis, per=Decimal(per),
                            gives=Decimal(gives), step=Decimal(step)))
    values.update(overrides)
    return ConversionRule(**values)


def module_rule(rule_id: str = "module", **overrides: Any) -> ConversionRule:
    """课程模块: a certificate and a training record together cover module M-TAX."""
    values: dict[str, Any] = dict(
        rule_id=rule_id, kind=RuleKind.MODULE, scope=TransferScope.NON_DEGREE,
        sources=(SourceSelector(kind=AchievementKind.X_CERTIFICATE),
                 SourceSelector(kind=AchievementKind.TRAINING_RECORD)),
        target=target(TargetKind.MODULE, "M-TAX"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS))
    values.update(overrides)
    return ConversionRule(**values)


def request(
    rule: ConversionRule, *sources: SourceFacts, target_credits: str | None = None,
    on: date = DAY, version: int = 1, agreement: AgreementRef | None = None,
    rule_set: UUID = RULE_SET,
) -> ConversionRequest:
    return ConversionRequest(
        rule=rule, rule_ref=RuleVersionRef(rule_set_id=rule_set, version=version,
                                           rule_id=rule.rule_id),
        agreement=agreement, sources=sources, on=on,
        target_credits=None if target_credits is None else Decimal(target_credits))


def ledger() -> CreditTransfers:
    book = CreditTransfers.open(LEARNER)
    return book
