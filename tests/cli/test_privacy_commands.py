"""``creditledger erase`` and ``personal-data`` (issue 17), run as a school runs them: the
installed command in a subprocess; exit codes, one ``error:`` line, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from creditledger.audit.verify import verify_ledger
from creditledger.crypto.sealing import KeyEncryptionKey
from tests.cli.running import assert_ok, assert_unusable, run
from tests.cli.school import School, build_school

NO_KEK = {"CREDITLEDGER_KEK_FILE": ""}
ERASE = ("--reason", "consent withdrawn", "--legal-basis", "PIPL Art. 47")


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> School:
    return build_school(tmp_path_factory.mktemp("school"))


def test_erase_prints_its_receipt_and_a_second_run_the_same_one(school: School,
                                                                tmp_path: Path) -> None:
    ledger = school.copy(tmp_path)
    shown = assert_ok(run("personal-data", ledger, "--learner", "S1"))
    assert json.loads(shown.stdout)["name"] == "陈晓敏"
    first = assert_ok(run("erase", ledger, "--key", school.key("gzcc"), "--learner", "S1",
                          *ERASE))
    assert "erased the personal data of S1" in first.stdout and "PIPL Art. 47" in first.stdout
    second = assert_ok(run("erase", ledger, "--key", school.key("gzcc"), "--learner", "S1",
                           "--reason", "again", "--legal-basis", "GDPR Art. 17"))
    assert second.stdout == first.stdout
    assert_unusable(run("personal-data", ledger, "--learner", "S1"), "erased")
    assert json.loads(assert_ok(run("personal-data", ledger, "--learner", "S2")).stdout)[
        "name"] == "黄志强"
    assert verify_ledger(ledger).fault is None
    assert_ok(run("verify", ledger))


def test_erase_without_or_with_a_wrong_key_encryption_key_is_refused(school: School,
                                                                     tmp_path: Path) -> None:
    ledger = school.copy(tmp_path)
    before = _events(ledger)
    command = ("erase", ledger, "--key", school.key("gzcc"), "--learner", "S1", *ERASE)
    assert_unusable(run(*command, env=NO_KEK), "key-encryption key")
    wrong = tmp_path / "wrong.kek"
    KeyEncryptionKey.generate().save(wrong)
    assert_unusable(run(*command, "--kek", wrong), "does not open", "wrong passphrase")
    assert_unusable(run(*command, "--kek", tmp_path / "missing.kek"), "missing.kek")
    assert_unusable(run(*command, env={"CREDITLEDGER_KEK_FILE": "",
                                       "CREDITLEDGER_KEK_PASSPHRASE": "guess"}), "does not open")
    assert_unusable(run("erase", ledger, "--key", school.key("lnpc"), "--learner", "S1",
                        *ERASE), "may not write LearnerAccount.PersonalDataErased")
    assert _events(ledger) == before  # nothing written


def _events(ledger: Path) -> int:
    conn = sqlite3.connect(ledger)
    try:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
    finally:
        conn.close()


def test_init_writes_a_new_key_encryption_key_and_seals_with_it(tmp_path: Path) -> None:
    kek = tmp_path / "school.kek"
    assert_ok(run("init", tmp_path / "bank.ledger", "--key", tmp_path / "root.pem",
                  "--kek", kek, env=NO_KEK))
    assert kek.read_text().startswith("creditledger-kek-v1:") and oct(kek.stat().st_mode)[-3:] \
        == "600"
    assert (tmp_path / "bank.keys.db").exists()
