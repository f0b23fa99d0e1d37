"""``creditledger demo``: a credit-bank scenario from the seed documents, into a new ledger.

Two colleges of the seeds — Liaoning Petrochemical College (辽宁石化职业技术学院, seed 001) and
Guangzhou City Polytechnic (广州城市职业学院, seed 003) — join a credit bank. The eight 1+X
certificates of seed 003's annex are registered by their (placeholder) training & evaluation
organisations; the colleges define programmes and courses, map certificate levels onto core
courses (课证融合), and recognise their students' course exams and joint course + certificate
assessments (一考双证). A member of society (社会成员) brings a training record. One result is
revoked after an upheld appeal. The demo prints each learner's credits per category and ends by
verifying the whole chain.

Every key is written beside the ledger as an encrypted PKCS#8 PEM file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from creditledger.audit.credential import dumps
from creditledger.audit.verify import VerifyReport, verify_ledger
from creditledger.cli.common import school_kek
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.domain import (
    AchievementKind,
    AmountKind,
    AmountPolicy,
    Category,
    CertificateLevel,
    CertificationMethod,
    Conditions,
    ConversionRule,
    ConversionTarget,
    Evidence,
    InstitutionKind,
    LearnerType,
    PersonalData,
    RatioBasis,
    RevocationReason,
    RuleKind,
    RuleRef,
    SourceSelector,
    TargetKind,
    TransferScope,
    load_seed003_catalog,
)
from creditledger.domain.alliance import CourseInfo
from creditledger.errors import ConflictError
from creditledger.services.bank import CreditBank

DEMO_PASSPHRASE = "creditledger-demo"
PASSPHRASE_ENV = "CREDITLEDGER_PASSPHRASE"
TODAY = date(2022, 7, 15)

GZCC = "GZCC"  # 广州城市职业学院 (seed 003)
LNPC = "LNPC"  # 辽宁石化职业技术学院 (seed 001)
TRAINER = "GZ-VTC"  # a vocational training centre for members of society


@dataclass
class DemoResult:
    """What the demo wrote: the ledger, its keys, the learners, and the final verification."""

    ledger_path: Path
    keys_dir: Path
    learners: list[str] = field(default_factory=list)
    report: VerifyReport | None = None


def default_ledger_path(folder: Path) -> Path:
    """``creditledger-demo.ledger`` in ``folder``, or the first free ``-N`` variant."""
    for n in _counter():
        name = "creditledger-demo.ledger" if n == 1 else f"creditledger-demo-{n}.ledger"
        candidate = folder / name
        if not candidate.exists() and not _keys_dir(candidate).exists():
            return candidate
    raise AssertionError("unreachable")


def _counter() -> Iterator[int]:
    n = 1
    while True:
        yield n
        n += 1


def _keys_dir(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.stem + "-keys")


class _Keys:
    """Generates each principal's key and writes it, encrypted, beside the ledger."""

    def __init__(self, folder: Path, passphrase: bytes) -> None:
        self.folder = folder
        self.passphrase = passphrase
        folder.mkdir(parents=True, exist_ok=False)
        self.keys: dict[str, SigningKey] = {}

    def new(self, principal: str) -> SigningKey:
        key = SigningKey.generate()
        key.save(self.folder / f"{principal}.pem", self.passphrase)
        (self.folder / f"{principal}.pub.pem").write_bytes(key.public_key.to_pem())
        self.keys[principal] = key
        return key


def run_demo(path: Path | None = None, console: Console | None = None) -> DemoResult:
    """Write the demo ledger at ``path`` (default: a new file in the current folder)."""
    console = console or Console()
    ledger_path = Path(path) if path is not None else default_ledger_path(Path.cwd())
    for existing in (ledger_path, _keys_dir(ledger_path)):
        if existing.exists():
            raise ConflictError(f"{existing}: exists; the demo writes a new ledger and keys")
    passphrase = os.environ.get(PASSPHRASE_ENV, DEMO_PASSPHRASE).encode("utf-8")
    keys = _Keys(_keys_dir(ledger_path), passphrase)
    result = DemoResult(ledger_path, keys.folder)
    bank = CreditBank.create(ledger_path, keys.new("root"), kek=_demo_kek(keys.folder))
    try:
        _play(bank, keys, result, console)
    finally:
        bank.close()
    result.report = verify_ledger(ledger_path, root_key=keys.keys["root"].public_key)
    _print_summary(result, passphrase, console)
    return result


def _demo_kek(folder: Path) -> KeyEncryptionKey:
    """The key-encryption key of the demo: the one given (``$CREDITLEDGER_KEK_FILE`` or
    ``$CREDITLEDGER_KEK_PASSPHRASE``), else a new one saved as ``kek.key`` in the demo's keys
    folder (a demo only: a school keeps its key-encryption key apart from the ledger)."""
    given = school_kek()
    if given is not None:
        return given
    kek = KeyEncryptionKey.generate()
    folder.mkdir(parents=True, exist_ok=True)
    kek.save(folder / "kek.key")
    return kek


def _play(bank: CreditBank, keys: _Keys, result: DemoResult, console: Console) -> None:
    root = keys.keys["root"]
    console.rule("[bold]creditledger demo: a vocational credit bank (学分银行)")
    _institutions(bank, keys, root, console)
    _catalog(bank, keys, console)
    _learners(bank, keys, result, console)
    _balances_table(bank, result.learners, console)
    _alliance(bank, keys, result, console)


def _institutions(bank: CreditBank, keys: _Keys, root: SigningKey, console: Console) -> None:
    schools = [
        (GZCC, "广州城市职业学院", InstitutionKind.SCHOOL, True),
        (LNPC, "辽宁石化职业技术学院", InstitutionKind.SCHOOL, True),
        (TRAINER, "广州市职业技能培训中心", InstitutionKind.TRAINING_ORGANISATION, False),
    ]
    for c in load_seed003_catalog().certificates:
        schools.append((c.issuer.code, c.issuer.name, InstitutionKind.TRAINING_ORGANISATION, False))
    for code, name, kind, credit_system in schools:
        bank.register_institution(code=code, name=name, kind=kind, has_credit_system=credit_system,
                                  public_key=keys.new(code).public_key, root_key=root)
    console.print(f"registered {len(schools)} institutions, each with its own signing key")


def _catalog(bank: CreditBank, keys: _Keys, console: Console) -> None:
    catalog = load_seed003_catalog()
    for c in catalog.certificates:
        bank.register_certificate(code=c.code, name=c.name, name_en=c.name_en, levels=c.levels,
                                  majors=c.majors, signer=keys.keys[c.issuer.code])
    gz, ln = keys.keys[GZCC], keys.keys[LNPC]
    required: dict[Category | str, Decimal] = {
        Category.PUBLIC_BASIC: Decimal(30), Category.MAJOR_BASIC: Decimal(30),
        Category.MAJOR_CORE: Decimal(40), Category.MAJOR_ELECTIVE: Decimal(20),
    }
    bank.define_programme(code="530302", name="会计", required_credits=required, signer=gz)
    bank.define_programme(code="460301", name="机电一体化技术", required_credits=required,
                          signer=ln)
    for signer, programme, courses in (
        (gz, "530302", _GZCC_COURSES),
        (ln, "460301", _LNPC_COURSES),
    ):
        for code, name, category, theory, practice, difficulty, method in courses:
            bank.define_course(
                code=code, name=name, category=category, nature="必修", course_type="理实一体",
                attribute="B类", theory_hours=theory, practice_hours=practice,
                difficulty=Decimal(difficulty), assessment_method=method,
                programmes=[programme], signer=signer,
            )
    _integrate(bank, catalog_code="intelligent-finance-and-taxation", school=GZCC,
               programme="530302", course="KJ2103", signer=gz)
    _integrate(bank, catalog_code="industrial-robot-application-programming", school=LNPC,
               programme="460301", course="JD2201", signer=ln)
    console.print(f"catalog: {len(catalog.certificates)} certificates of seed 003, 2 programmes, "
                  f"{len(_GZCC_COURSES) + len(_LNPC_COURSES)} courses, 2 course–certificate "
                  "integrations (课证融合)")


_GZCC_COURSES = [
    ("GG1001", "思想道德与法治", Category.PUBLIC_BASIC, 40, 8, "1.0", "exam"),
    ("GG1002", "大学英语", Category.PUBLIC_BASIC, 48, 16, "1.0", "exam"),
    ("KJ1101", "基础会计", Category.MAJOR_BASIC, 48, 16, "1.0", "exam"),
    ("KJ2102", "财务会计", Category.MAJOR_CORE, 48, 24, "1.2", "exam"),
    ("KJ2103", "智能财税实务", Category.MAJOR_CORE, 24, 40, "1.0", "exam"),
    ("KJ3104", "财经应用文写作", Category.MAJOR_ELECTIVE, 24, 8, "1.0", "assessment"),
]
_LNPC_COURSES = [
    ("GG1001", "大学英语", Category.PUBLIC_BASIC, 48, 16, "1.0", "exam"),
    ("JD1101", "电工电子技术", Category.MAJOR_BASIC, 48, 16, "1.0", "exam"),
    ("JD2201", "工业机器人编程与操作", Category.MAJOR_CORE, 24, 48, "1.2", "exam"),
    ("JD2202", "PLC 应用技术", Category.MAJOR_CORE, 32, 32, "1.1", "exam"),
    ("JD3301", "石化企业安全生产", Category.MAJOR_ELECTIVE, 24, 8, "1.0", "evaluation"),
]


def _integrate(
    bank: CreditBank, *, catalog_code: str, school: str, programme: str, course: str,
    signer: SigningKey,
) -> None:
    cert = next(c for c in load_seed003_catalog().certificates if c.code == catalog_code)
    bank.integrate_certificate(issuer=cert.issuer.code, certificate_code=cert.code,
                               level="intermediate", programme_code=programme,
                               course_codes=[course], signer=signer)


def _evidence(what: str) -> Evidence:
    return Evidence(description=what, reference="archive://demo/" + what.replace(" ", "-"))


def _learners(bank: CreditBank, keys: _Keys, result: DemoResult, console: Console) -> None:
    gz, ln, trainer = keys.keys[GZCC], keys.keys[LNPC], keys.keys[TRAINER]
    catalog = {c.code: c for c in load_seed003_catalog().certificates}
    finance = catalog["intelligent-finance-and-taxation"]
    robots = catalog["industrial-robot-application-programming"]
    students = [
        ("GZCC-2021-0001", "陈晓敏", gz, "530302"),
        ("GZCC-2021-0002", "黄志强", gz, "530302"),
        ("LNPC-2020-0107", "王海涛", ln, "460301"),
    ]
    for learner_id, name, signer, programme in students:
        bank.open_account(learner_id=learner_id, learner_type=LearnerType.STUDENT,
                          personal_data=PersonalData(name=name), programme_code=programme,
                          signer=signer)
        result.learners.append(learner_id)
    gz_exams = [("GG1001", "86"), ("GG1002", "78"), ("KJ1101", "91"), ("KJ2102", "74")]
    for learner_id in ("GZCC-2021-0001", "GZCC-2021-0002"):
        for course, score in gz_exams:
            bank.recognise_course_result(learner_id=learner_id, course_code=course,
                                         term="2021-2022-1", score=Decimal(score),
                                         evidence=_evidence(f"{course} exam sheet"), signer=gz,
                                         today=TODAY)
    bank.recognise_joint_assessment(
        learner_id="GZCC-2021-0001", course_code="KJ2103", term="2021-2022-2",
        score=Decimal(88), issuer=finance.issuer.code, certificate_code=finance.code,
        level="intermediate", certificate_number="ZNCS-2022-44010001",
        issued_on=date(2022, 6, 30), expires_on=date(2025, 6, 30),
        certificate_rule=RuleRef(rule_id="1+X/intelligent-finance-and-taxation/intermediate",
                                 version=1),
        evidence=_evidence("joint assessment 智能财税 intermediate"),
        school_signer=gz, issuer_signer=keys.keys[finance.issuer.code], today=TODAY,
    )
    for course, score in (("GG1001", "80"), ("JD1101", "69"), ("JD2202", "90")):
        bank.recognise_course_result(learner_id="LNPC-2020-0107", course_code=course,
                                     term="2021-2022-1", score=Decimal(score),
                                     evidence=_evidence(f"{course} exam sheet"), signer=ln,
                                     today=TODAY)
    bank.recognise_joint_assessment(
        learner_id="LNPC-2020-0107", course_code="JD2201", term="2021-2022-2",
        score=Decimal(82), issuer=robots.issuer.code, certificate_code=robots.code,
        level="intermediate", certificate_number="GYJQR-2022-21000107",
        issued_on=date(2022, 6, 20), expires_on=None,
        certificate_rule=RuleRef(rule_id="1+X/industrial-robot/intermediate", version=1),
        evidence=_evidence("joint assessment 工业机器人应用编程 intermediate"),
        school_signer=ln, issuer_signer=keys.keys[robots.issuer.code], today=TODAY,
    )
    # A member of society brings a training record, converted (折算) to elective credits.
    member = "SOC-2022-0031"
    bank.open_account(learner_id=member, learner_type=LearnerType.SOCIETY_MEMBER,
                      personal_data=PersonalData(name="刘美华"), signer=gz)
    result.learners.append(member)
    bank.recognise_learning_record(
        kind=AchievementKind.TRAINING_RECORD, learner_id=member,
        title="会计信息化实务培训（72学时）",
        reference="GZVTC-2022-0315", completed_on=date(2022, 3, 15),
        method=CertificationMethod.CONVERSION, credits=Decimal("4.00"),
        category=Category.MAJOR_ELECTIVE, hours=72,
        rule=RuleRef(rule_id="conversion/training-hours-18-per-credit", version=1),
        evidence=_evidence("training attendance and assessment record"), signer=trainer,
        today=TODAY,
    )
    # An appeal is upheld: one recorded result was entered in error and is revoked.
    wrong = bank.account("GZCC-2021-0002").entries
    revoked = next(a for a in wrong if bank.achievement(a).record.title == "财务会计")
    bank.revoke(revoked, reason=RevocationReason.APPEAL_UPHELD,
                note="score sheet belonged to another student; appeal upheld", signer=gz,
                today=TODAY)
    console.print(f"{len(result.learners)} learners: course exams, two joint assessments "
                  "(一考双证), a training record converted to credits, one revocation")
    _transfers(bank, keys, member, console)


def _transfers(bank: CreditBank, keys: _Keys, member: str, console: Console) -> None:
    """The member of society enters 会计 (R21): a 智能财税 certificate exempts KJ2103 (免修,
    课程等级) and the training record is converted by ratio (折算) into elective credits."""
    gz = keys.keys[GZCC]
    finance = next(c for c in load_seed003_catalog().certificates
                   if c.code == "intelligent-finance-and-taxation")
    bank.enrol(learner_id=member, programme_code="530302", signer=gz)
    certificate = bank.recognise_certificate(
        learner_id=member, certificate_code=finance.code, number="ZNCS-2021-44010031",
        level="intermediate", issued_on=date(2021, 12, 20), expires_on=date(2024, 12, 20),
        credits=Decimal("4.00"), category=Category.MAJOR_CORE,
        rule=RuleRef(rule_id="1+X/intelligent-finance-and-taxation/intermediate", version=1),
        evidence=_evidence("certificate 智能财税 intermediate"),
        signer=keys.keys[finance.issuer.code], today=TODAY)
    bank.publish_rules(rules=_gzcc_rules(finance.issuer.code, finance.code),
                       effective_from=date(2022, 1, 1), signer=gz, today=TODAY)
    training = next(a for a in bank.account(member).entries if a != certificate.id)
    for source, rule_id in ((certificate.id, "1+X/finance/KJ2103"), (training, "training/18h")):
        bank.convert(learner_id=member, source_achievement_ids=[source], rule_id=rule_id,
                     signer=gz, today=TODAY)
    table = Table(title=f"{member}: conversions into GZCC 530302 (学分转换, 免修)")
    for column in ("requirement", "credits", "exempt", "from (chain position, signer)"):
        table.add_column(column)
    for account, credits in bank.requirement_balances(member).items():
        lineage = bank.explain(member, account=account)
        sources = "; ".join(
            f"{s.facts.title} (#{s.events[0].position}, {s.events[0].signer})"
            for c in lineage.conversions for s in c.sources)
        exempt = "免修" if lineage.exemption is not None else ""
        table.add_row(account.removeprefix("requirement/"), str(credits), exempt, sources)
    console.print(table)


def _gzcc_rules(issuer: str, certificate: str) -> list[ConversionRule]:
    def target(kind: TargetKind, code: str) -> ConversionTarget:
        return ConversionTarget(institution=GZCC, programme_code="530302", kind=kind, code=code)

    return [
        ConversionRule(
            rule_id="1+X/finance/KJ2103", kind=RuleKind.LEVEL, scope=TransferScope.NON_DEGREE,
            sources=(SourceSelector(kind=AchievementKind.X_CERTIFICATE, institution=issuer,
                                    code=certificate),),
            target=target(TargetKind.COURSE, "KJ2103"),
            amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS),
            conditions=Conditions(min_level=CertificateLevel.INTERMEDIATE, require_valid=True)),
        ConversionRule(
            rule_id="training/18h", kind=RuleKind.RATIO, scope=TransferScope.NON_DEGREE,
            sources=(SourceSelector(kind=AchievementKind.TRAINING_RECORD, institution=TRAINER),),
            target=target(TargetKind.CATEGORY, Category.MAJOR_ELECTIVE.value),
            amount=AmountPolicy(kind=AmountKind.RATIO, basis=RatioBasis.HOURS, per=Decimal(18),
                                gives=Decimal(1), step=Decimal("0.5"))),
    ]


def _balances_table(bank: CreditBank, learners: list[str], console: Console) -> None:
    table = Table(title="credits per category (recognised minus revoked)")
    table.add_column("learner")
    for category in Category:
        table.add_column(f"{category.zh}", justify="right")
    table.add_column("total", justify="right")
    for learner_id in learners:
        account = bank.account(learner_id)
        values = [str(account.balance(c)) for c in Category]
        table.add_row(learner_id, *values, str(account.total_balance()))
    console.print(table)


def _print_summary(result: DemoResult, passphrase: bytes, console: Console) -> None:
    report = result.report
    assert report is not None
    console.print(
        f"[bold green]verified[/]: {report.events} events in {report.commits} signed commits, "
        f"{report.keys} keys, last hash {report.last_hash[:16]}…", highlight=False,
    )
    shown = "from $" + PASSPHRASE_ENV if PASSPHRASE_ENV in os.environ else repr(passphrase.decode())
    console.print(f"ledger: {result.ledger_path}\nkeys:   {result.keys_dir}/ "
                  f"(encrypted PKCS#8 PEM, passphrase {shown})", highlight=False)
    console.print(f"try:    creditledger verify {result.ledger_path}", highlight=False)


# -- seed 002: inter-school course selection and credit recognition (课程互选、学分互认) -----


def _alliance(bank: CreditBank, keys: _Keys, result: DemoResult, console: Console) -> None:
    """Three pilot schools of seed 002's alliance share two online courses: HNAT's student
    passes CQAT's course, gets a sealed certificate, and HNAT converts it (免修 AQ2105); LYVC,
    without a credit system, records its student's pass of HNAT's course as a grade."""
    root, sec = keys.keys["root"], keys.new("ESVEA-SEC")
    bank.register_institution(code="ESVEA-SEC", name="全国应急安全职业教育联盟秘书处",
                              kind=InstitutionKind.ALLIANCE_SECRETARIAT,
                              public_key=sec.public_key, root_key=root)
    schools = {"HNAT": ("湖南安全技术职业学院", True), "CQAT": ("重庆安全技术职业学院", True),
               "LYVC": ("辽源职业技术学院", False)}
    for code, (name, credits) in schools.items():
        bank.register_institution(code=code, name=name, kind=InstitutionKind.SCHOOL,
                                  has_credit_system=credits,
                                  public_key=keys.new(code).public_key, root_key=root)
        bank.define_programme(code="420901", name="安全技术与管理", signer=keys.keys[code])
    k = keys.keys
    bank.found_alliance(code="ESVEA", name="全国应急安全职业教育联盟", signer=sec,
                        today=date(2021, 11, 2))
    for code in schools:
        bank.admit_member(alliance="ESVEA", school=code, signer=sec, today=date(2021, 11, 2))
    offerings = [bank.submit_offering(alliance="ESVEA", semester="2022-2023-1", signer=k[school],
                                      course=_course(code, name), today=date(2022, 6, 20))
                 for school, code, name in (("CQAT", "CQ-AQ301", "安全检测与监控技术"),
                                            ("HNAT", "HN-YJ201", "事故应急救援"))]
    for offering in offerings:
        bank.publish_offering(offering.id, signer=sec, today=date(2022, 7, 10))
    bank.define_course(code="AQ2105", name="安全检测与监控", category=Category.MAJOR_CORE,
                       nature="必修", course_type="理实一体", attribute="B类", theory_hours=16,
                       practice_hours=16, difficulty=Decimal(1), assessment_method="exam",
                       programmes=["420901"], signer=k["HNAT"])
    rule = ConversionRule(
        rule_id="CQ-AQ301=AQ2105", kind=RuleKind.CORRESPONDENCE,
        scope=TransferScope.INTER_INSTITUTION,
        sources=(SourceSelector(kind=AchievementKind.COURSE_RESULT, institution="CQAT",
                                code="CQ-AQ301"),),
        target=ConversionTarget(institution="HNAT", programme_code="420901",
                                kind=TargetKind.COURSE, code="AQ2105"),
        amount=AmountPolicy(kind=AmountKind.TARGET_CREDITS))
    bank.propose_agreement(code="HNAT-CQAT-2022", partner="CQAT", valid_from=date(2022, 9, 1),
                           valid_until=date(2024, 8, 31), rules=[rule], signer=k["HNAT"],
                           today=date(2022, 7, 12))
    bank.countersign_agreement(code="HNAT-CQAT-2022", version=1, signer=k["CQAT"],
                               today=date(2022, 7, 13))
    table = Table(title="课程互选、学分互认 (seed 002): electronic course certificates")
    for column in ("learner", "course (offering school)", "score", "certificate", "at home"):
        table.add_column(column)
    folder = result.ledger_path.with_name(result.ledger_path.stem + "-certificates")
    folder.mkdir(exist_ok=True)
    for learner, name, home, offering, score, conversion in (
            ("HNAT-2022-0107", "周立军", "HNAT", offerings[0], "86",
             ("CQ-AQ301=AQ2105", "HNAT-CQAT-2022")),
            ("LYVC-2022-0031", "孙雪", "LYVC", offerings[1], "78", None)):
        bank.open_account(learner_id=learner, learner_type=LearnerType.STUDENT,
                          personal_data=PersonalData(name=name), programme_code="420901",
                          signer=k[home])
        result.learners.append(learner)
        school = k[offering.school]
        bank.request_enrolment(offering.id, learner_id=learner, signer=k[home],
                               today=date(2022, 8, 25))
        bank.approve_enrolment(offering.id, learner_id=learner, signer=k[home],
                               today=date(2022, 8, 26))
        bank.admit_learner(offering.id, learner_id=learner, signer=school,
                           today=date(2022, 9, 5))
        bank.assess(offering.id, learner_id=learner, score=Decimal(score), signer=school,
                    today=date(2023, 1, 10))
        bank.rate_course(offering.id, learner_id=learner, rating=5, signer=k[home],
                         today=date(2023, 1, 10))
        issued = bank.issue_course_certificate(offering.id, learner_id=learner, signer=school,
                                               today=date(2023, 1, 10))
        bank.countersign_course_certificate(issued.id, signer=sec, today=date(2023, 1, 12))
        document = bank.export_course_certificate(issued.id)
        (folder / f"{issued.id}.json").write_bytes(dumps(document))
        rule_id, agreement = conversion or (None, None)
        recognition = bank.import_course_certificate(
            document, signer=k[home], rule_id=rule_id, agreement_code=agreement,
            today=date(2023, 1, 20))
        at_home = ("credits, 免修 " + ", ".join(e.target.code for e in bank.exemptions(learner))
                   if recognition.mode.value == "credits" else f"grade {score} (no 学分制)")
        table.add_row(learner, f"{offering.course.name} ({offering.school})", score,
                      f"{str(issued.id)[:8]}… signed + sealed", at_home)
    console.print(table)
    lists = folder / "status-lists"
    lists.mkdir(exist_ok=True)
    for issuer in ("CQAT", "HNAT"):  # the revocation lists of the keys that issued them
        for found in bank.status_lists(k[issuer]):
            (lists / f"{str(found['id']).rpartition('/')[2]}.json").write_bytes(dumps(found))
    console.print(f"certificates (Open Badges 3.0): {folder}/ — try: creditledger "
                  f"verify-credential {folder}/<id>.json --ledger {result.ledger_path}, or "
                  f"--status-list {lists}/<list>.json", highlight=False)


def _course(code: str, name: str) -> CourseInfo:
    return CourseInfo(course_code=code, name=name, lead_teacher="主讲教师",
                      course_type="国家级教学资源库课程", hours=32, credits=Decimal(2),
                      link=f"https://www.icve.com.cn/course/{code.lower()}",
                      introduction=f"{name}：联盟校际互选在线课程（试点课程）。", capacity=60,
                      selection="学籍所在学校资格审查后报联盟秘书处，开课学校录取并开通平台账号。")
