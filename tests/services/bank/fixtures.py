"""A small real credit bank for the facade tests: a real ledger (a SQLite file or a PostgreSQL
schema, see :func:`world_on`), real keys, real signatures."""

from __future__ import annotations

import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from creditledger.crypto.keys import SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.domain import Evidence, PersonalData, RuleRef
from creditledger.services.bank import CreditBank
from tests.store.contract import LedgerWorld, Target, closing_world

TODAY = date(2022, 7, 15)
EVIDENCE = Evidence(description="exam sheet", reference="archive://exam/1")
CERT_RULE = RuleRef(rule_id="1+X/finance/intermediate", version=1)


KEK = KeyEncryptionKey(key=bytes(range(32)))
"""The tests' key-encryption key (a fixed key: the worlds' key stores open with it)."""


@dataclass
class World(LedgerWorld):
    bank: CreditBank
    path: Target
    root: SigningKey
    gzcc: SigningKey
    lnpc: SigningKey
    issuer: SigningKey
    trainer: SigningKey
    folder: Path | None = None


def make_world(path: Target, folder: Path | None = None) -> World:
    """The world on a new ledger at ``path`` (a file, or a ``postgresql://`` URL)."""
    keys = {name: SigningKey.generate() for name in ("root", "GZCC", "LNPC", "ISSUER", "VTC")}
    bank = CreditBank.create(path, keys["root"], kek=KEK)
    for code, name, kind in (
        ("GZCC", "广州城市职业学院", "school"),
        ("LNPC", "辽宁石化职业技术学院", "school"),
        ("ISSUER", "智能财税证书培训评价组织", "training_organisation"),
        ("VTC", "职业技能培训中心", "training_organisation"),
    ):
        bank.register_institution(code=code, name=name, kind=kind,
                                  has_credit_system=kind == "school",
                                  public_key=keys[code].public_key, root_key=keys["root"])
    gz = keys["GZCC"]
    bank.define_programme(code="530302", name="会计", signer=gz,
                          required_credits={"major_core": Decimal(40)})
    for code, name, category, hours in (
        ("GG1001", "思想道德与法治", "public_basic", 48),
        ("KJ1101", "基础会计", "major_basic", 64),
        ("KJ2103", "智能财税实务", "major_core", 64),
    ):
        bank.define_course(code=code, name=name, category=category, nature="必修",
                           course_type="理实一体", attribute="B类", theory_hours=hours // 2,
                           practice_hours=hours // 2, difficulty=Decimal(1),
                           assessment_method="exam", programmes=["530302"], signer=gz)
    bank.define_programme(code="460301", name="机电一体化技术", signer=keys["LNPC"])
    bank.register_certificate(code="finance", name="智能财税",
                              levels=["elementary", "intermediate", "advanced"],
                              majors=["会计"], signer=keys["ISSUER"])
    bank.integrate_certificate(issuer="ISSUER", certificate_code="finance", level="intermediate",
                               programme_code="530302", course_codes=["KJ2103"], signer=gz)
    bank.open_account(learner_id="S1", learner_type="student",
                      personal_data=PersonalData(name="陈晓敏",
                                                 id_document_number="440101200301011234"),
                      programme_code="530302", signer=gz)
    bank.open_account(learner_id="S2", learner_type="student",
                      personal_data=PersonalData(name="黄志强"), programme_code="530302", signer=gz)
    bank.open_account(learner_id="M1", learner_type="society_member",
                      personal_data=PersonalData(name="刘美华"), signer=gz)
    return World(bank, path, keys["root"], gz, keys["LNPC"], keys["ISSUER"], keys["VTC"],
                 folder)


def world_on(target: Target, folder: Path | None = None) -> AbstractContextManager[World]:
    """A world on ``target`` (the ``ledger_target`` fixture), its ledger closed afterwards."""
    return closing_world(make_world(target, folder))


def copy_ledger(source: Path, target: Path) -> Path:
    """Copy a ledger file and its key store (``NAME.keys.db``), as a school copies both."""
    shutil.copyfile(source, target)
    keys = source.with_name(source.stem + ".keys.db")
    if keys.exists():
        shutil.copyfile(keys, target.with_name(target.stem + ".keys.db"))
    return target
