"""A real alliance on a new ledger (a SQLite file or a PostgreSQL schema): seed 002's
secretariat and three of its pilot schools.

湖南安全技术职业学院 (HNAT) and 重庆安全技术职业学院 (CQAT) run a credit system; 辽源职业技术学院
(LYVC) does not. CQAT offers 安全检测与监控技术 and HNAT 事故应急救援 for 2022-2023-1; HNAT and
CQAT have a bilateral agreement under which CQAT's course exempts HNAT's AQ2105.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    AchievementKind,
    AmountKind,
    AmountPolicy,
    ConversionRule,
    ConversionTarget,
    PersonalData,
    RuleKind,
    SourceSelector,
    TargetKind,
    TransferScope,
)
from creditledger.domain.alliance import CourseInfo, CourseOffering
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK
from tests.store.contract import LedgerWorld, Target, closing_world

ALLIANCE = "ESVEA"
SECRETARIAT = "ESVEA-SEC"
SEMESTER = "2022-2023-1"
SUBMITTED = date(2022, 6, 20)
OPENED = date(2022, 8, 20)
TERM_DAY = date(2022, 9, 15)
ASSESSED = date(2023, 1, 10)
AGREEMENT = "HNAT-CQAT-2022"
RULE = "CQ-AQ301=AQ2105"

SCHOOLS = {
    "HNAT": ("湖南安全技术职业学院", True),
    "CQAT": ("重庆安全技术职业学院", True),
    "LYVC": ("辽源职业技术学院", False),
}


def course_info(code: str = "CQ-AQ301", name: str = "安全检测与监控技术", **kw: Any) -> CourseInfo:
    fields: dict[str, Any] = dict(
        course_code=code, name=name, lead_teacher="张伟", course_type="在线开放课程",
        hours=32, credits=Decimal(2), link="https://www.icve.com.cn/course/cq-aq301",
        introduction="国家级教学资源库课程：安全检测仪器、监控系统与数据分析。", capacity=30,
        selection="在智慧职教平台选课，经学籍所在学校资格审查后由开课学校录取。")
    fields.update(kw)
    return CourseInfo(**fields)


@dataclass
class World(LedgerWorld):
    bank: CreditBank
    path: Target
    keys: dict[str, SigningKey]
    folder: Path | None = None
    offerings: dict[str, UUID] = field(default_factory=dict)

    @property
    def sec(self) -> SigningKey:
        return self.keys[SECRETARIAT]

    def key(self, school: str) -> SigningKey:
        return self.keys[school]

    # -- steps ---------------------------------------------------------------------------

    def learner(self, learner_id: str, school: str) -> str:
        programme = {"HNAT": "420901", "CQAT": "420902", "LYVC": "420903"}[school]
        self.bank.open_account(learner_id=learner_id, learner_type="student",
                               personal_data=PersonalData(name=f"学生{learner_id}"),
                               programme_code=programme, signer=self.key(school))
        return learner_id

    def offer(self, school: str = "CQAT", course: CourseInfo | None = None,
              publish: bool = True) -> CourseOffering:
        offering = self.bank.submit_offering(alliance=ALLIANCE, semester=SEMESTER,
                                             course=course or course_info(),
                                             signer=self.key(school), today=SUBMITTED)
        if publish:
            offering = self.bank.publish_offering(offering.id, signer=self.sec, today=OPENED)
        return offering

    def approved(self, offering: UUID, learner: str, home: str) -> None:
        """The learner asks to enrol and the home school approves (admission is next)."""
        self.bank.request_enrolment(offering, learner_id=learner, signer=self.key(home),
                                    today=OPENED)
        self.bank.approve_enrolment(offering, learner_id=learner, signer=self.key(home),
                                    today=OPENED)

    def approved_learners(self, offering: UUID, count: int) -> list[str]:
        """``count`` new learners, of HNAT and LYVC in turn, each approved for ``offering``."""
        learners = []
        for n in range(count):
            home = ("HNAT", "LYVC")[n % 2]
            learners.append(self.learner(f"{home}-{n:03}", home))
            self.approved(offering, learners[-1], home)
        return learners

    def admitted(self, offering: UUID, learner: str, home: str, school: str = "CQAT") -> None:
        self.approved(offering, learner, home)
        self.bank.admit_learner(offering, learner_id=learner, signer=self.key(school),
                                today=TERM_DAY)

    def passed(self, offering: UUID, learner: str, home: str, score: str = "86",
               school: str = "CQAT") -> UUID:
        """Admit, assess (pass), issue and seal: the sealed certificate's id."""
        self.admitted(offering, learner, home, school)
        self.bank.assess(offering, learner_id=learner, score=Decimal(score),
                         signer=self.key(school), today=ASSESSED)
        certificate = self.bank.issue_course_certificate(offering, learner_id=learner,
                                                         signer=self.key(school), today=ASSESSED)
        self.bank.countersign_course_certificate(certificate.id, signer=self.sec, today=ASSESSED)
        return certificate.id


def make_world(path: Target, folder: Path | None = None) -> World:
    """The world on a new ledger at ``path`` (a file, or a ``postgresql://`` URL)."""
    keys = {code: SigningKey.generate() for code in ("root", SECRETARIAT, *SCHOOLS)}
    bank = CreditBank.create(path, keys["root"], kek=KEK)
    bank.register_institution(code=SECRETARIAT, name="全国应急安全职业教育联盟秘书处",
                              kind="alliance_secretariat", public_key=keys[SECRETARIAT].public_key,
                              root_key=keys["root"])
    for code, (name, credit_system) in SCHOOLS.items():
        bank.register_institution(code=code, name=name, kind="school",
                                  has_credit_system=credit_system,
                                  public_key=keys[code].public_key, root_key=keys["root"])
    bank.found_alliance(code=ALLIANCE, name="全国应急安全职业教育联盟", signer=keys[SECRETARIAT],
                        today=date(2021, 11, 2))
    for code in SCHOOLS:
        bank.admit_member(alliance=ALLIANCE, school=code, signer=keys[SECRETARIAT],
                          today=date(2021, 11, 2))
    for code, programme in (("HNAT", "420901"), ("CQAT", "420902"), ("LYVC", "420903")):
        bank.define_programme(code=programme, name="安全技术与管理", signer=keys[code])
    bank.define_course(code="AQ2105", name="安全检测与监控", category="major_core", nature="必修",
                       course_type="理实一体", attribute="B类", theory_hours=16,
                       practice_hours=16, difficulty=Decimal(1), assessment_method="exam",
                       programmes=["420901"], signer=keys["HNAT"])
    return World(bank, path, keys, folder)


def world_on(target: Target, folder: Path | None = None) -> AbstractContextManager[World]:
    """A world on ``target`` (the ``ledger_target`` fixture), its ledger closed afterwards."""
    return closing_world(make_world(target, folder))


def agreement(world: World) -> None:
    """HNAT proposes, CQAT countersigns: CQAT's CQ-AQ301 exempts HNAT's AQ2105 (课程对应)."""
    rule = ConversionRule(
        rule_id=RULE, kind=RuleKind.CORRESPONDENCE, scope=TransferScope.INTER_INSTITUTION,
        sources=(SourceSelector(kind=AchievementKind.COURSE_RESULT, institution="CQAT",
                                code="CQ-AQ301"),),
        target=ConversionTarget(institution="HNAT", programme_code="420901",
                                kind=TargetKind.COURSE, code="AQ2105"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS))
    world.bank.propose_agreement(code=AGREEMENT, partner="CQAT", valid_from=date(2022, 9, 1),
                                 valid_until=date(2024, 8, 31), rules=[rule],
                                 signer=world.key("HNAT"), today=OPENED)
    world.bank.countersign_agreement(code=AGREEMENT, version=1, signer=world.key("CQAT"),
                                     today=OPENED)
