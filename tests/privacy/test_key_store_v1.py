"""A key store written by the first sealing code keeps working (issue 17, second half).

``tests/data/keystore-v1`` holds a ledger whose personal data is sealed as ``sealed:v1:`` and a
key store that keeps each learner's key under the account id (see its README). Opened by the
code of today it still reads, corrects (under the learner's same key, in the same format),
erases, and opens new accounts beside (``sealed:v2:``, keys from the pool).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from creditledger import CreditBank, PersonalData
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain import learner_account_id
from creditledger.domain.values import SEALED_PREFIX, SEALED_V1_PREFIX
from creditledger.errors import PersonalDataErasedError
from creditledger.services.core import ledger_of
from creditledger.store.keystore import keys_path_for
from creditledger.store.personal import V1, PersonalDataKeys
from tests.services.bank.fixtures import KEK

OLD = Path(__file__).resolve().parents[1] / "data" / "keystore-v1"
ERASE = {"reason": "consent withdrawn", "legal_basis": "PIPL Art. 47"}


@pytest.fixture()
def old(tmp_path: Path) -> Path:
    """A copy of the old ledger and its key store."""
    path = tmp_path / "v1.ledger"
    shutil.copyfile(OLD / "v1.ledger", path)
    shutil.copyfile(OLD / "v1.keys.db", keys_path_for(path))
    return path


def _gzcc() -> SigningKey:
    return SigningKey.load(OLD / "gzcc.pem", b"keystore-v1")


def _keys(bank: CreditBank) -> PersonalDataKeys:
    keys = ledger_of(bank).personal
    assert keys is not None
    return keys


def _sealed(bank: CreditBank, learner: str) -> list[str]:
    return ledger_of(bank).sealed_values_of(learner_account_id(learner).hex)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(keys_path_for(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_the_old_store_reads_as_written_even_read_only(old: Path) -> None:
    assert _tables(old) == {"key_store_info", "data_keys"}  # as the first code left it
    with CreditBank.open(old, kek=KEK, read_only=True) as reader:
        assert reader.personal_data("S1").name == "陈晓敏"
        assert reader.personal_data("S2").contact == "s2-v1@example.invalid"
        with pytest.raises(PersonalDataErasedError):
            reader.personal_data("M1")
        assert all(v.startswith(SEALED_V1_PREFIX) for v in _sealed(reader, "S2"))
    assert _tables(old) == {"key_store_info", "data_keys"}  # a reader changes nothing
    report = verify_ledger(old, root_key=PublicKey.from_file(OLD / "root.pub.pem"))
    assert report.fault is None


def test_an_old_learner_is_corrected_under_their_same_key_and_format(old: Path) -> None:
    gzcc = _gzcc()
    with CreditBank.open(old, kek=KEK) as bank:
        account = learner_account_id("S1").hex
        before = _keys(bank).data_key(account)
        corrected = PersonalData(name="陈晓敏", contact="new@x.invalid")
        bank.correct_personal_data(learner_id="S1", personal_data=corrected, signer=gzcc)
        assert _keys(bank).key_ids(account) == [V1]
        assert [v[:len(SEALED_V1_PREFIX)] for v in _sealed(bank, "S1")] == [SEALED_V1_PREFIX] * 2
        assert _keys(bank).data_key(account) == before is not None
    assert "data_keys_by_id" in _tables(old)  # the store gained the new table, kept its rows
    with CreditBank.open(old, kek=KEK) as bank:
        assert bank.personal_data("S1").contact == "new@x.invalid"
    assert verify_ledger(old).fault is None


def test_new_accounts_beside_old_ones_take_pool_keys_and_erasure_reaches_both(
    old: Path,
) -> None:
    gzcc = _gzcc()
    with CreditBank.open(old, kek=KEK) as bank:
        bank.open_account(learner_id="N1", learner_type="society_member",
                          personal_data=PersonalData(name="新学员"), signer=gzcc)
        assert [v[:len(SEALED_PREFIX)] for v in _sealed(bank, "N1")] == [SEALED_PREFIX]
        assert bank.personal_data("N1").name == "新学员"
        for learner in ("S2", "N1"):
            bank.erase_personal_data(learner, **ERASE, signer=gzcc)
            assert _keys(bank).data_key(learner_account_id(learner).hex) is None
        store = _keys(bank).store
        assert store.wrapped(learner_account_id("S2").hex) == (None,)  # the v1 key destroyed
        n1 = _keys(bank).key_ids(learner_account_id("N1").hex)
        assert len(n1) == 1 and store.wrapped_key(n1[0]) == (None,)
    with CreditBank.open(old, kek=KEK) as bank:
        assert bank.personal_data("S1").name == "陈晓敏"
        for learner in ("S2", "N1", "M1"):
            with pytest.raises(PersonalDataErasedError):
                bank.personal_data(learner)
    assert verify_ledger(old).fault is None
