"""Erasure and the school's key-encryption key (issue 17): who may erase, what is refused and
leaves everything as it was, what a wrong or missing key is, and ledgers that store personal
data in plaintext (policy 1)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from creditledger import CreditBank, KeyEncryptionKey, PersonalData, SigningKey
from creditledger.audit.verify import verify_ledger
from creditledger.domain import learner_account_id
from creditledger.domain.policy import Role
from creditledger.errors import (
    ConflictError,
    CreditLedgerError,
    KeyEncryptionKeyRequiredError,
    NotAuthorisedError,
    PersonalDataErasedError,
    UnusableLedgerError,
    ValidationError,
    WrongKeyEncryptionKeyError,
)
from creditledger.services.core import ledger_of
from creditledger.store.keystore import keys_path_for
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, World, make_world

ERASE = {"reason": "consent withdrawn", "legal_basis": "PIPL Art. 47"}


@pytest.fixture()
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path / "school.ledger")
    w.bank.close()
    return w


def _key_of(bank: CreditBank, learner: str) -> bytes | None:
    keys = ledger_of(bank).personal
    assert keys is not None
    return keys.data_key(learner_account_id(learner).hex)


def test_erasure_without_the_key_encryption_key_is_refused_and_changes_nothing(
    world: World,
) -> None:
    with CreditBank.open(world.path) as bank:
        before = bank.last_position()
        with pytest.raises(KeyEncryptionKeyRequiredError, match="key-encryption key"):
            bank.erase_personal_data("S1", **ERASE, signer=world.gzcc)
        assert bank.last_position() == before
        assert bank.account("S1").personal_data is None  # sealed: unread without the KEK
        with pytest.raises(KeyEncryptionKeyRequiredError):
            bank.open_account(learner_id="S9", learner_type="society_member",
                              personal_data=PersonalData(name="九"), signer=world.gzcc)
        assert bank.last_position() == before
    with CreditBank.open(world.path, kek=KEK) as bank:
        assert bank.personal_data("S1").name == "陈晓敏"


def test_a_wrong_key_encryption_key_is_a_typed_error_naming_the_key_store(world: World) -> None:
    for wrong in (KeyEncryptionKey.generate(), KeyEncryptionKey.from_passphrase("guess")):
        with pytest.raises(WrongKeyEncryptionKeyError, match="does not open") as caught:
            CreditBank.open(world.path, kek=wrong)
        assert isinstance(caught.value, CreditLedgerError)
        assert str(keys_path_for(world.path)) in str(caught.value)
    with CreditBank.open(world.path, kek=KEK) as bank:
        assert bank.personal_data("S2").name == "黄志强"


def test_a_passphrase_key_encryption_key_opens_what_it_sealed(tmp_path: Path) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "p.ledger"
    with CreditBank.create(path, root, kek=KeyEncryptionKey.from_passphrase("校园 2026")) as b:
        b.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                               public_key=school.public_key, root_key=root)
        b.open_account(learner_id="M1", learner_type="society_member",
                       personal_data=PersonalData(name="刘美华"), signer=school)
    with CreditBank.open(path, kek=KeyEncryptionKey.from_passphrase("校园 2026")) as bank:
        assert bank.personal_data("M1").name == "刘美华"
    with pytest.raises(WrongKeyEncryptionKeyError):
        CreditBank.open(path, kek=KeyEncryptionKey.from_passphrase("校园 2025"))


def test_only_the_home_schools_registrar_erases_and_a_refusal_destroys_nothing(
    world: World,
) -> None:
    clerk, teacher = SigningKey.generate(), SigningKey.generate()
    with CreditBank.open(world.path, kek=KEK) as bank:
        bank.register_staff_key("R-01", Role.REGISTRAR, clerk.public_key, admin_key=world.gzcc)
        bank.register_staff_key("T-01", Role.ASSESSOR, teacher.public_key, admin_key=world.gzcc)
        before = bank.last_position()
        for outsider in (world.lnpc, teacher):  # another school; a role that may not
            with pytest.raises(NotAuthorisedError):
                bank.erase_personal_data("S1", **ERASE, signer=outsider)
        assert bank.last_position() == before and _key_of(bank, "S1") is not None
        receipt = bank.erase_personal_data("S1", **ERASE, signer=clerk)
        assert (receipt.erased_by, receipt.staff_id, receipt.key_id) == ("GZCC", "R-01",
                                                                          clerk.key_id)
        assert receipt.position == bank.last_position()
        again = bank.erase_personal_data("S1", reason="other", legal_basis="GDPR Art. 17",
                                         signer=world.gzcc)
        assert again == receipt and bank.last_position() == receipt.position
        assert _key_of(bank, "S1") is None
        assert bank.erasure_receipt("S1") == receipt
    assert verify_ledger(world.path).fault is None


def test_an_erasure_names_its_reason_and_basis(world: World) -> None:
    with CreditBank.open(world.path, kek=KEK) as bank:
        before = bank.last_position()
        with pytest.raises(ValidationError, match="legal_basis"):
            bank.erase_personal_data("S1", reason="consent withdrawn", legal_basis=" ",
                                     signer=world.gzcc)
        assert bank.last_position() == before and _key_of(bank, "S1") is not None


def test_erased_data_stays_erased_for_every_reader(world: World) -> None:
    with CreditBank.open(world.path, kek=KEK) as bank:
        bank.erase_personal_data("M1", **ERASE, signer=world.gzcc)
    with CreditBank.open(world.path, kek=KEK, read_only=True) as reader:
        assert reader.account("M1").personal_data is None
        assert reader.account("M1").erasure is not None
        with pytest.raises(PersonalDataErasedError):
            reader.personal_data("M1")


def test_a_clr_names_the_learner_only_when_asked_and_never_once_erased(world: World) -> None:
    with CreditBank.open(world.path, kek=KEK) as bank:
        bank.recognise_course_result(learner_id="S1", course_code="KJ2103", term="2021-2022-2",
                                     score=Decimal(80), evidence=EVIDENCE, signer=world.gzcc,
                                     today=TODAY)
        plain = json.dumps(bank.export_clr("S1", signer=world.gzcc), ensure_ascii=False)
        assert "陈晓敏" not in plain and "学分银行成绩单：S1" in plain
        named = bank.export_clr("S1", signer=world.gzcc, include_personal_data=True)
        assert named["name"] == "学分银行成绩单：陈晓敏"
        bank.erase_personal_data("S1", **ERASE, signer=world.gzcc)
        with pytest.raises(PersonalDataErasedError):
            bank.export_clr("S1", signer=world.gzcc, include_personal_data=True)
        after = json.dumps(bank.export_clr("S1", signer=world.gzcc), ensure_ascii=False)
        assert "陈晓敏" not in after and "学分银行成绩单：S1" in after


def test_a_plaintext_ledger_still_works_and_verifies_but_cannot_erase(tmp_path: Path) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "old.ledger"
    with CreditBank.create(path, root, seal_personal_data=False) as bank:
        bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                                  public_key=school.public_key, root_key=root)
        bank.open_account(learner_id="M1", learner_type="society_member",
                          personal_data=PersonalData(name="刘美华"), signer=school)
        assert bank.personal_data("M1").name == "刘美华"
        with pytest.raises(ConflictError, match="plaintext"):
            bank.erase_personal_data("M1", **ERASE, signer=school)
    assert "刘美华".encode() in path.read_bytes()  # what docs/privacy.md warns of
    assert not keys_path_for(path).exists()
    assert verify_ledger(path).fault is None


def test_the_writer_refuses_plaintext_personal_data_in_a_sealing_ledger(world: World) -> None:
    with CreditBank.open(world.path, kek=KEK) as bank:
        ledger = ledger_of(bank)
        before = bank.last_position()
        ledger.mapper.personal = None  # type: ignore[attr-defined]  # a writer that forgot
        with pytest.raises(NotAuthorisedError, match="plaintext"):
            bank.open_account(learner_id="S9", learner_type="society_member",
                              personal_data=PersonalData(name="明文"), signer=world.gzcc)
        assert bank.last_position() == before
    assert "明文".encode() not in Path(world.path).read_bytes()


def test_a_key_store_of_another_ledger_is_refused(world: World, tmp_path: Path) -> None:
    other = make_world(tmp_path / "other.ledger")
    other.bank.close()
    keys_path_for(tmp_path / "other.ledger").unlink()
    keys_path_for(world.path).rename(keys_path_for(tmp_path / "other.ledger"))
    with pytest.raises(UnusableLedgerError, match="another ledger"):
        CreditBank.open(tmp_path / "other.ledger", kek=KEK)


def test_a_new_ledger_is_not_created_beside_another_ledgers_key_store(
    world: World, tmp_path: Path,
) -> None:
    keys_path_for(world.path).rename(keys_path_for(tmp_path / "new.ledger"))
    with pytest.raises(ConflictError, match="key store"):
        CreditBank.create(tmp_path / "new.ledger", SigningKey.generate(), kek=KEK)
    assert not (tmp_path / "new.ledger").exists()


def test_a_copy_of_the_ledger_without_its_key_store_is_pseudonymous(world: World,
                                                                    tmp_path: Path) -> None:
    copy = tmp_path / "copy" / "auditor.ledger"
    copy.parent.mkdir()
    copy.write_bytes(Path(world.path).read_bytes())
    with CreditBank.open(copy, kek=KEK, read_only=True) as auditor:
        assert auditor.account("S1").personal_data is None
        assert auditor.account("S1").learner_id == "S1"
        with pytest.raises(UnusableLedgerError, match="no key store"):
            auditor.personal_data("S1")
    assert verify_ledger(copy).fault is None
