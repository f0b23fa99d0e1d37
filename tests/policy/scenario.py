"""A ledger holding every event type the write policy names, for the permission matrix tests.

:func:`every_rule_ledger` writes, into a new credit bank, at least one event of every topic of
:data:`creditledger.domain.policy.rules.RULES`, each in a commit signed by a key the policy
allows for it. Right after the institutions are registered, every institution's administrator
registers a staff key of every staff role; the staff keys then sign whatever their role may
(registrars the catalog, accounts and transfers; assessors results, attendance, assessments and
sittings; the secretariat officer the alliance and its seal), the administrator keys only what
no staff role may (staff keys, a new name), the root only what is the root's (institutions,
the checkpoint).

Every change goes through the bank's commands, except the few event types no command writes
(a new name, curriculum and credit-value corrections, certificate levels and majors, personal
data, a link between achievements): those are domain methods saved with
``ledger_of(bank).save``, still through the writer's policy check.

The cast:

- ``GZCC`` (school, credit system): programme 530302, its courses and module, learner
  accounts, conversion rules with a makeup condition, a 1+X pilot; the home school of the
  alliance's learners;
- ``LNPC`` (school; adopts a credit system): the partner of GZCC's agreement and the offering
  school of the alliance course;
- ``ISSUER`` (training & evaluation organisation): the 1+X certificate ``finance``;
- ``ESVEA-SEC`` (alliance secretariat): the alliance ESVEA;
- ``CQAT`` (school): the :attr:`RuleWorld.outsider`, registered with its keys, in nothing.

Dates are fixed, so the ledger is the same every time but for its keys and ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
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
    certificate_id,
    course_id,
    institution_id,
    programme_id,
)
from creditledger.domain.alliance import CourseInfo
from creditledger.domain.policy import Role
from creditledger.services.bank import CreditBank
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import KEK

GZCC, LNPC, ISSUER, SECRETARIAT, OUTSIDER = "GZCC", "LNPC", "ISSUER", "ESVEA-SEC", "CQAT"
INSTITUTIONS = {  # code: (name, kind, credit system)
    GZCC: ("广州城市职业学院", "school", True),
    LNPC: ("辽宁石化职业技术学院", "school", False),
    ISSUER: ("智能财税证书培训评价组织", "training_organisation", False),
    SECRETARIAT: ("全国应急安全职业教育联盟秘书处", "alliance_secretariat", False),
    OUTSIDER: ("重庆安全技术职业学院", "school", True),
}
STAFF_ROLES = (Role.REGISTRAR, Role.ASSESSOR, Role.SECRETARIAT_OFFICER, Role.AUDITOR)

TODAY = date(2022, 7, 15)
PROGRAMME = "530302"
CERTIFICATE = "finance"
ALLIANCE = "ESVEA"
SEMESTER = "2022-2023-1"
AGREEMENT = "GZCC-LNPC-2022"
EVIDENCE = Evidence(description="exam sheet", reference="archive://policy/1")
CERT_RULE = RuleRef(rule_id="1+X/finance/intermediate", version=1)


@dataclass(frozen=True)
class RuleWorld:
    """The credit bank :func:`every_rule_ledger` wrote, open, and every key of it."""

    bank: CreditBank
    target: str | Path
    root: SigningKey
    admins: dict[str, SigningKey]
    """Institution code -> its own (administrator) key."""
    staff: dict[tuple[str, Role], SigningKey]
    """(institution code, staff role) -> that staff member's key."""
    outsider: str
    """A registered school, with its keys, that takes part in nothing."""

    def key(self, institution: str, role: Role) -> SigningKey:
        """The key of ``institution`` in ``role`` (its own key for the administrator)."""
        if role is Role.ADMINISTRATOR:
            return self.admins[institution]
        return self.staff[institution, role]

    def registrar(self, institution: str) -> SigningKey:
        return self.staff[institution, Role.REGISTRAR]

    def assessor(self, institution: str) -> SigningKey:
        return self.staff[institution, Role.ASSESSOR]

    def officer(self, institution: str) -> SigningKey:
        return self.staff[institution, Role.SECRETARIAT_OFFICER]

    def save(self, *aggregates: Any, signer: SigningKey) -> None:
        """Write domain changes no command of the bank writes (through the policy check)."""
        ledger_of(self.bank).save(*aggregates, signer=signer)

    def load(self, aggregate_id: UUID) -> Any:
        return ledger_of(self.bank).load(aggregate_id)


def every_rule_ledger(target: str | Path) -> RuleWorld:
    """A new credit bank at ``target`` (a SQLite file or a ``postgresql://`` URL) holding at
    least one event of every type the write policy names, each signed by a key it allows; the
    bank is returned open."""
    root = SigningKey.generate()
    world = RuleWorld(bank=CreditBank.create(target, root, kek=KEK), target=target, root=root,
                      admins={code: SigningKey.generate() for code in INSTITUTIONS},
                      staff={(code, role): SigningKey.generate()
                             for code in INSTITUTIONS for role in STAFF_ROLES},
                      outsider=OUTSIDER)
    try:
        _institutions(world)
        _staff_keys(world)
        _catalog(world)
        _catalog_corrections(world)
        _accounts(world)
        _transfers(world)
        _alliance(world)
        _pilots(world)
        _revoked_key(world)
    finally:
        world.bank.close()
    publish_checkpoint(target, [root])  # CheckpointLog.Started and .Published, by the root
    return replace(world, bank=CreditBank.open(target, kek=KEK))


# -- institutions and keys ------------------------------------------------------------------


def _institutions(w: RuleWorld) -> None:
    """The root registers every institution with its own key (Institution.Registered,
    KeyRegistry.KeyRegistered)."""
    for code, (name, kind, credit_system) in INSTITUTIONS.items():
        w.bank.register_institution(code=code, name=name, kind=kind,
                                    has_credit_system=credit_system,
                                    public_key=w.admins[code].public_key, root_key=w.root)


def _staff_keys(w: RuleWorld) -> None:
    """Every administrator registers a staff key of every staff role (KeyRegistered)."""
    for (code, role), key in w.staff.items():
        w.bank.register_staff_key(f"{code}-{role.value.replace('_', '-')}", role,
                                  key.public_key, admin_key=w.admins[code])


def _revoked_key(w: RuleWorld) -> None:
    """GZCC's administrator registers a clerk's key and revokes it (KeyRevoked); the staff
    keys of :attr:`RuleWorld.staff` stay valid."""
    clerk = SigningKey.generate()
    w.bank.register_staff_key("GZCC-clerk", Role.REGISTRAR, clerk.public_key,
                              admin_key=w.admins[GZCC])
    w.bank.revoke_staff_key(clerk.key_id, admin_key=w.admins[GZCC], reason="left the office")


# -- the catalog ----------------------------------------------------------------------------


def _course(w: RuleWorld, code: str, name: str, category: str, hours: int,
            programmes: list[str]) -> None:
    w.bank.define_course(code=code, name=name, category=category, nature="必修",
                         course_type="理实一体", attribute="B类", theory_hours=hours // 2,
                         practice_hours=hours - hours // 2, difficulty=Decimal(1),
                         assessment_method="exam", programmes=programmes,
                         signer=w.registrar(GZCC))


def _catalog(w: RuleWorld) -> None:
    """Programme, courses, module, certificate and its integration, by registrars; LNPC adopts
    a credit system (Institution.CreditSystemChanged)."""
    gz = w.registrar(GZCC)
    w.bank.register_certificate(code=CERTIFICATE, name="智能财税",
                                levels=["elementary", "intermediate"], majors=["会计"],
                                signer=w.registrar(ISSUER))
    w.bank.define_programme(code=PROGRAMME, name="会计", signer=gz,
                            required_credits={"major_core": Decimal(40)})
    for code, name, category, hours in (
        ("GG1001", "思想道德与法治", "public_basic", 48),
        ("KJ1101", "基础会计", "major_basic", 64),
        ("KJ2103", "智能财税实务", "major_core", 64),
        ("KJ2104", "税务实务", "major_core", 32),
        ("KJ9001", "备用课程", "major_elective", 32),
    ):
        _course(w, code, name, category, hours, [PROGRAMME])
    w.bank.define_module(programme_code=PROGRAMME, code="M-TAX", name="智能财税模块",
                         course_codes=["KJ2103", "KJ2104"], signer=gz)
    w.bank.integrate_certificate(issuer=ISSUER, certificate_code=CERTIFICATE,
                                 level="intermediate", programme_code=PROGRAMME,
                                 course_codes=["KJ2103"], signer=gz)
    w.bank.declare_credit_system(has_credit_system=True, signer=w.registrar(LNPC))


def _catalog_corrections(w: RuleWorld) -> None:
    """What no command writes: GZCC's new name (its administrator: only an administrator may
    rename), a course taken out of the programme and a requirement set, a course's credit
    value revised, a certificate's new level and major (registrars)."""
    school = w.load(institution_id(GZCC))
    school.rename("广州城市职业学院（新校区）")
    w.save(school, signer=w.admins[GZCC])
    programme = w.load(programme_id(GZCC, PROGRAMME))
    programme.remove_course("KJ9001")
    programme.set_required_credits("major_elective", Decimal(20))
    w.save(programme, signer=w.registrar(GZCC))
    course = w.load(course_id(GZCC, "KJ9001"))
    course.revise_credit_value(theory_hours=20, practice_hours=20, difficulty=Decimal("1.2"))
    w.save(course, signer=w.registrar(GZCC))
    certificate = w.load(certificate_id(ISSUER, CERTIFICATE))
    certificate.add_level("advanced")
    certificate.map_major("财务管理")
    w.save(certificate, signer=w.registrar(ISSUER))


# -- learner accounts and recognition -------------------------------------------------------


def _accounts(w: RuleWorld) -> None:
    """Accounts opened, a member of society enrolled, personal data corrected and one
    learner's erased (PersonalDataErased); course results
    recognised by an assessor (Recognised, Credited), one revoked by the registrar (Revoked,
    Reversed), one corrected by the registrar (Corrected), one linked to another
    (Achievement.Linked)."""
    gz = w.registrar(GZCC)
    for learner, kind, programme in (("S1", "student", PROGRAMME), ("S2", "student", PROGRAMME),
                                     ("M1", "society_member", None)):
        w.bank.open_account(learner_id=learner, learner_type=kind, programme_code=programme,
                            personal_data=PersonalData(name=f"学习者{learner}"), signer=gz)
    w.bank.enrol(learner_id="M1", programme_code=PROGRAMME, signer=gz)
    w.bank.correct_personal_data(learner_id="S1", personal_data=PersonalData(name="陈晓敏"),
                                 signer=gz)
    w.bank.open_account(learner_id="E1", learner_type="student", programme_code=PROGRAMME,
                        personal_data=PersonalData(name="学习者E1"), signer=gz)
    w.bank.erase_personal_data("E1", reason="consent withdrawn", legal_basis="PIPL Art. 47",
                               signer=gz)  # PersonalDataErased
    results = [w.bank.recognise_course_result(learner_id="S1", course_code=code,
                                              term="2021-2022-1", score=Decimal(score),
                                              evidence=EVIDENCE, signer=w.assessor(GZCC),
                                              today=TODAY)
               for code, score in (("KJ1101", "85"), ("GG1001", "72"))]
    w.bank.revoke(results[1].id, reason="error", note="recorded for the wrong learner",
                  signer=gz, today=TODAY)
    w.bank.correct_result(results[0].id, score=Decimal(88), reason="登分错误", signer=gz,
                          today=TODAY)
    linked = w.load(results[0].id)
    linked.link(results[1].id)
    w.save(linked, signer=w.assessor(GZCC))


# -- credit transfers -----------------------------------------------------------------------


def _target(kind: TargetKind, code: str) -> ConversionTarget:
    return ConversionTarget(institution=GZCC, programme_code=PROGRAMME, kind=kind, code=code)


def _makeup_rule() -> ConversionRule:
    """课程等级 with a makeup (补考): an intermediate certificate exempts KJ2103 once the
    makeup passes."""
    return ConversionRule(
        rule_id="cert/KJ2103", kind=RuleKind.LEVEL, scope=TransferScope.NON_DEGREE,
        sources=(SourceSelector(kind=AchievementKind.X_CERTIFICATE, institution=ISSUER,
                                code=CERTIFICATE),),
        target=_target(TargetKind.COURSE, "KJ2103"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS),
        conditions=Conditions(makeup_pass_mark=Decimal(60)))


def _agreement_rule() -> ConversionRule:
    """课程对应 under the GZCC–LNPC agreement: LNPC's alliance course exempts GZCC's KJ2104."""
    return ConversionRule(
        rule_id="LN-AQ301=KJ2104", kind=RuleKind.CORRESPONDENCE,
        scope=TransferScope.INTER_INSTITUTION,
        sources=(SourceSelector(kind=AchievementKind.COURSE_RESULT, institution=LNPC,
                                code="LN-AQ301"),),
        target=_target(TargetKind.COURSE, "KJ2104"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS))


def _certificate_of(w: RuleWorld, learner: str, number: str) -> UUID:
    return w.bank.recognise_certificate(
        learner_id=learner, certificate_code=CERTIFICATE, number=number, level="intermediate",
        issued_on=date(2022, 6, 30), expires_on=date(2025, 6, 30), credits=Decimal(4),
        category="major_elective", rule=CERT_RULE, evidence=EVIDENCE,
        signer=w.assessor(ISSUER), today=TODAY).id


def _transfers(w: RuleWorld) -> None:
    """GZCC's rules (ConversionRuleSet) and its agreement with LNPC; two pending conversions
    (CreditTransfers.Opened, Converted), one posted, one voided; the issuer revokes the posted
    one's certificate (SourceReversed, with its revocation)."""
    gz, day = w.registrar(GZCC), date(2022, 9, 1)
    w.bank.publish_rules(rules=[_makeup_rule()], effective_from=date(2022, 1, 1), signer=gz,
                         today=date(2022, 8, 1))
    w.bank.propose_agreement(code=AGREEMENT, partner=LNPC, valid_from=date(2022, 9, 1),
                             valid_until=date(2024, 8, 31), rules=[_agreement_rule()],
                             signer=gz, today=date(2022, 8, 1))
    w.bank.countersign_agreement(code=AGREEMENT, version=1, signer=w.registrar(LNPC),
                                 today=date(2022, 8, 2))
    sources = {learner: _certificate_of(w, learner, f"ZNCS-{learner}") for learner in ("S1", "S2")}
    pending = {learner: w.bank.convert(learner_id=learner, source_achievement_ids=[source],
                                       rule_id="cert/KJ2103", signer=gz, today=day).id
               for learner, source in sources.items()}
    w.bank.post_pending(learner_id="S1", conversion_id=pending["S1"], makeup_score=Decimal(75),
                        signer=gz, today=date(2022, 9, 20))
    w.bank.void_pending(learner_id="S2", conversion_id=pending["S2"], reason="makeup failed (48)",
                        signer=gz, today=date(2022, 9, 20))
    w.bank.revoke(sources["S1"], reason="fraud", note="forged certificate",
                  signer=w.registrar(ISSUER), today=date(2022, 10, 1))


# -- the alliance (课程互选、学分互认) ----------------------------------------------------------


def _course_info(code: str, name: str) -> CourseInfo:
    return CourseInfo(course_code=code, name=name, lead_teacher="张伟",
                      course_type="在线开放课程", hours=32, credits=Decimal(2),
                      link=f"https://www.icve.com.cn/course/{code.lower()}",
                      introduction=f"{name}：联盟校际互选在线课程。", capacity=30,
                      selection="学籍所在学校资格审查后由开课学校录取。")


def _alliance(w: RuleWorld) -> None:
    """The secretariat's officer founds ESVEA and admits GZCC and LNPC; each school's
    registrar submits an offering, the officer publishes both and later withdraws GZCC's;
    three GZCC learners ask for LNPC's course."""
    sec, founded, submitted, opened = (w.officer(SECRETARIAT), date(2021, 11, 2),
                                       date(2022, 6, 20), date(2022, 8, 20))
    w.bank.found_alliance(code=ALLIANCE, name="全国应急安全职业教育联盟", signer=sec,
                          today=founded)
    for school in (GZCC, LNPC):
        w.bank.admit_member(alliance=ALLIANCE, school=school, signer=sec, today=founded)
    offered = {school: w.bank.submit_offering(alliance=ALLIANCE, semester=SEMESTER,
                                              course=_course_info(code, name),
                                              signer=w.registrar(school), today=submitted).id
               for school, code, name in ((LNPC, "LN-AQ301", "安全检测与监控技术"),
                                          (GZCC, "GZ-YJ201", "事故应急救援"))}
    for offering in offered.values():
        w.bank.publish_offering(offering, signer=sec, today=opened)
    for learner in ("A1", "A2", "A3"):
        w.bank.open_account(learner_id=learner, learner_type="student",
                            programme_code=PROGRAMME,
                            personal_data=PersonalData(name=f"学生{learner}"),
                            signer=w.registrar(GZCC))
        w.bank.request_enrolment(offered[LNPC], learner_id=learner, signer=w.registrar(GZCC),
                                 today=opened)
    _rejected_and_cancelled(w, offered[LNPC])
    _passed_by_makeup(w, offered[LNPC])
    w.bank.withdraw_offering(offered[GZCC], reason="no learner chose it", signer=sec,
                             today=date(2023, 2, 1))


def _rejected_and_cancelled(w: RuleWorld, offering: UUID) -> None:
    """GZCC finds A2 not eligible (Rejected); A3 is admitted by LNPC's assessor and LNPC's
    registrar cancels the enrolment, freeing the seat (Cancelled, SeatReleased)."""
    home, opened = w.registrar(GZCC), date(2022, 8, 20)
    w.bank.reject_enrolment(offering, learner_id="A2", reason="prerequisites missing",
                            signer=home, today=opened)
    w.bank.approve_enrolment(offering, learner_id="A3", signer=home, today=opened)
    w.bank.admit_learner(offering, learner_id="A3", signer=w.assessor(LNPC),
                         today=date(2022, 9, 5))
    w.bank.cancel_enrolment(offering, learner_id="A3", reason="timetable clash",
                            signer=w.registrar(LNPC), today=date(2022, 9, 10))


def _passed_by_makeup(w: RuleWorld, offering: UUID) -> None:
    """A1: approved, admitted (SeatTaken), absent, failed, allowed a makeup and passed it,
    rated the course; LNPC's assessor issues the certificate, the officer seals it, GZCC's
    registrar imports it and converts it under the agreement (CertificateRecognition,
    RecognisedAtHome, Achievement and CreditTransfers); LNPC's registrar revokes it, reversing
    all of that in one commit."""
    lnpc, assessed, passed = w.assessor(LNPC), date(2023, 1, 10), date(2023, 1, 15)
    w.bank.approve_enrolment(offering, learner_id="A1", signer=w.registrar(GZCC),
                             today=date(2022, 8, 20))
    w.bank.admit_learner(offering, learner_id="A1", signer=lnpc, today=date(2022, 9, 5))
    w.bank.record_absence(offering, learner_id="A1", hours=2, signer=lnpc,
                          today=date(2022, 10, 1))
    w.bank.assess(offering, learner_id="A1", score=Decimal(50), signer=lnpc, today=assessed)
    w.bank.decide_makeup(offering, learner_id="A1", allowed=True, signer=lnpc, today=assessed)
    w.bank.assess_makeup(offering, learner_id="A1", score=Decimal(75), signer=lnpc, today=passed)
    w.bank.rate_course(offering, learner_id="A1", rating=5, signer=w.assessor(GZCC),
                       today=passed)
    issued = w.bank.issue_course_certificate(offering, learner_id="A1", signer=lnpc,
                                             today=passed)
    w.bank.countersign_course_certificate(issued.id, signer=w.officer(SECRETARIAT),
                                          today=date(2023, 1, 16))
    w.bank.import_course_certificate(w.bank.export_course_certificate(issued.id),
                                     signer=w.registrar(GZCC), rule_id="LN-AQ301=KJ2104",
                                     agreement_code=AGREEMENT, today=date(2023, 1, 20))
    w.bank.revoke_course_certificate(issued.id, reason="error", note="score sheet mixed up",
                                     signer=w.registrar(LNPC), today=date(2023, 3, 1))


# -- 1+X pilots -----------------------------------------------------------------------------


def _pilots(w: RuleWorld) -> None:
    """GZCC's registrar records a pilot and changes its quota; its assessor records a sitting."""
    gz = w.registrar(GZCC)
    pilot: dict[str, Any] = dict(issuer=ISSUER, certificate_code=CERTIFICATE,
                                 level="intermediate", year=2022)
    w.bank.approve_pilot(**pilot, quotas={"会计": 2}, signer=gz)
    w.bank.change_pilot_quotas(**pilot, quotas={"会计": 3}, reason="学生摸底后调整", signer=gz)
    w.bank.record_exam_sitting(learner_id="S2", issuer=ISSUER, certificate_code=CERTIFICATE,
                               level="intermediate", sat_on=date(2022, 6, 1), passed=True,
                               major="会计", signer=w.assessor(GZCC), today=TODAY)
