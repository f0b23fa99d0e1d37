"""A real credit bank for the transfer tests (on a SQLite file or a PostgreSQL schema): keys,
catalog, learners, rules."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Achievement,
    AchievementKind,
    AmountKind,
    AmountPolicy,
    Conditions,
    ConversionRule,
    ConversionTarget,
    Evidence,
    PersonalData,
    RuleKind,
    RuleRef,
    SourceSelector,
    TargetKind,
    TransferScope,
)
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK
from tests.store.contract import LedgerWorld, Target, closing_world

TODAY = date(2022, 9, 1)
EVIDENCE = Evidence(description="archived record", reference="archive://test/1")
RECORD_RULE = RuleRef(rule_id="recognition/test", version=1)

#: GZCC's courses: code, name, category, hours, programmes (16 hours a credit).
GZCC_COURSES = [
    ("GG1002", "大学英语", "public_basic", 64, ["530302"]),
    ("GG2001", "大学英语（财管）", "public_basic", 64, ["530301"]),
    ("KJ1101", "基础会计", "major_basic", 64, ["530302"]),
    ("KJ2103", "智能财税实务", "major_core", 64, ["530302"]),
    ("KJ2104", "税务实务", "major_core", 32, ["530302"]),
]


@dataclass
class World(LedgerWorld):
    bank: CreditBank
    path: Target
    keys: dict[str, SigningKey]
    folder: Path | None = None

    @property
    def gzcc(self) -> SigningKey:
        return self.keys["GZCC"]

    @property
    def lnpc(self) -> SigningKey:
        return self.keys["LNPC"]

    # -- achievements --------------------------------------------------------------------

    def certificate(self, learner: str = "S1", number: str = "ZNCS-1", **kw: Any) -> Achievement:
        args: dict[str, Any] = dict(
            learner_id=learner, certificate_code="finance", number=number,
            level="intermediate", issued_on=date(2022, 6, 30), expires_on=date(2025, 6, 30),
            credits=Decimal(4), category="major_elective", rule=RECORD_RULE, evidence=EVIDENCE,
            signer=self.keys["ISSUER"], today=date(2022, 7, 15))
        args.update(kw)
        return self.bank.recognise_certificate(**args)

    def training(self, learner: str = "M1", reference: str = "VTC-1", **kw: Any) -> Achievement:
        args: dict[str, Any] = dict(
            kind="training_record", learner_id=learner, title="会计信息化实务培训",
            reference=reference, completed_on=date(2022, 3, 15), method="conversion",
            credits=Decimal(4), category="major_elective", hours=72, rule=RECORD_RULE,
            evidence=EVIDENCE, signer=self.keys["VTC"], today=date(2022, 7, 15))
        args.update(kw)
        return self.bank.recognise_learning_record(**args)

    def course(self, learner: str, code: str, owner: str = "GZCC", **kw: Any) -> Achievement:
        args: dict[str, Any] = dict(
            learner_id=learner, course_code=code, course_owner=owner, term="2021-2022-2",
            score=Decimal(85), evidence=EVIDENCE, signer=self.keys[owner],
            today=date(2022, 7, 15))
        args.update(kw)
        return self.bank.recognise_course_result(**args)

    def publish(self, *rules: ConversionRule, effective_from: date = date(2022, 1, 1)) -> None:
        self.bank.publish_rules(rules=list(rules), effective_from=effective_from,
                                signer=self.gzcc, today=date(2022, 8, 1))


def make_world(path: Target, folder: Path | None = None) -> World:
    """The world on a new ledger at ``path`` (a file, or a ``postgresql://`` URL)."""
    keys = {n: SigningKey.generate() for n in ("root", "GZCC", "LNPC", "ISSUER", "VTC")}
    bank = CreditBank.create(path, keys["root"], kek=KEK)
    for code, kind in (("GZCC", "school"), ("LNPC", "school"),
                       ("ISSUER", "training_organisation"), ("VTC", "training_organisation")):
        bank.register_institution(code=code, name=f"{code} 学院", kind=kind,
                                  has_credit_system=kind == "school",
                                  public_key=keys[code].public_key, root_key=keys["root"])
    gz, ln = keys["GZCC"], keys["LNPC"]
    bank.define_programme(code="530302", name="会计", signer=gz)
    bank.define_programme(code="530301", name="财务管理", signer=gz)
    bank.define_programme(code="460301", name="会计（辽石化）", signer=ln)
    for code, name, category, hours, programmes in GZCC_COURSES:
        _course(bank, gz, code, name, category, hours, programmes)
    _course(bank, ln, "LN-KJ101", "基础会计", "major_basic", 64, ["460301"])
    bank.define_module(programme_code="530302", code="M-TAX", name="智能财税模块",
                       course_codes=["KJ2103", "KJ2104"], signer=gz)
    bank.register_certificate(code="finance", name="智能财税",
                              levels=["elementary", "intermediate", "advanced"],
                              signer=keys["ISSUER"])
    for learner, kind, programme in (("S1", "student", "530302"), ("S2", "student", "530301"),
                                     ("M1", "society_member", None)):
        bank.open_account(learner_id=learner, learner_type=kind, programme_code=programme,
                          personal_data=PersonalData(name=f"学习者{learner}"), signer=gz)
    return World(bank, path, keys, folder)


def world_on(target: Target, folder: Path | None = None) -> AbstractContextManager[World]:
    """A world on ``target`` (the ``ledger_target`` fixture), its ledger closed afterwards."""
    return closing_world(make_world(target, folder))


def _course(bank: CreditBank, signer: SigningKey, code: str, name: str, category: str,
            hours: int, programmes: list[str]) -> None:
    bank.define_course(code=code, name=name, category=category, nature="必修",
                       course_type="理实一体", attribute="B类", theory_hours=hours // 2,
                       practice_hours=hours - hours // 2, difficulty=Decimal(1),
                       assessment_method="exam", programmes=programmes, signer=signer)


def between_majors_rule() -> ConversionRule:
    """课程对应 between two majors of GZCC: 大学英语（财管） GG2001 counts as GG1002 in 会计."""
    return ConversionRule(
        rule_id="major/GG2001-GG1002", kind=RuleKind.CORRESPONDENCE,
        scope=TransferScope.BETWEEN_MAJORS,
        sources=(SourceSelector(kind=AchievementKind.COURSE_RESULT, institution="GZCC",
                                code="GG2001"),),
        target=ConversionTarget(institution="GZCC", programme_code="530302",
                                kind=TargetKind.COURSE, code="GG1002"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS),
        conditions=Conditions(min_score=Decimal(60)))


def inter_school_rule() -> ConversionRule:
    """课程对应 between schools: LNPC's 基础会计 counts as GZCC's KJ1101 (needs an agreement)."""
    return ConversionRule(
        rule_id="lnpc/LN-KJ101", kind=RuleKind.CORRESPONDENCE,
        scope=TransferScope.INTER_INSTITUTION,
        sources=(SourceSelector(kind=AchievementKind.COURSE_RESULT, institution="LNPC",
                                code="LN-KJ101"),),
        target=ConversionTarget(institution="GZCC", programme_code="530302",
                                kind=TargetKind.COURSE, code="KJ1101"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS))

