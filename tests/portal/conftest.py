"""A credit bank for the portal's tests: the demo's ledger (two colleges, 1+X certificates,
transfers, an alliance), plus a 1+X pilot with exam sittings, written once per session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from creditledger.cli.demo import DEMO_PASSPHRASE
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.services import CreditBank

FINANCE = "intelligent-finance-and-taxation"
FINANCE_ISSUER = "placeholder-issuer-4"


def demo_kek(ledger: Path) -> KeyEncryptionKey:
    """The demo's key-encryption key, saved in its keys folder."""
    return KeyEncryptionKey.load(ledger.with_name("creditledger-demo-keys") / "kek.key")


def gzcc_key(ledger: Path) -> SigningKey:
    """The demo college GZCC's signing key, written beside the demo's ledger."""
    keys = ledger.with_name("creditledger-demo-keys")
    return SigningKey.load(keys / "GZCC.pem", DEMO_PASSPHRASE.encode())


@pytest.fixture(scope="session")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's ledger with a 2022 pilot of 智能财税 intermediate (会计 quota 2, 财务管理 1)
    and three sittings: GZCC-2021-0001 passed, GZCC-2021-0002 failed then passed."""
    folder = tmp_path_factory.mktemp("portal")
    ledger = folder / "creditledger-demo.ledger"
    made = subprocess.run([sys.executable, "-m", "creditledger", "demo", str(ledger)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    gzcc = gzcc_key(ledger)
    bank = CreditBank.open(str(ledger))
    try:
        bank.approve_pilot(issuer=FINANCE_ISSUER, certificate_code=FINANCE,
                           level="intermediate", year=2022, quotas={"会计": 2, "财务管理": 1},
                           signer=gzcc)
        for learner, day, passed in (("GZCC-2021-0001", date(2022, 6, 1), True),
                                     ("GZCC-2021-0002", date(2022, 6, 1), False),
                                     ("GZCC-2021-0002", date(2022, 9, 1), True)):
            bank.record_exam_sitting(learner_id=learner, issuer=FINANCE_ISSUER,
                                     certificate_code=FINANCE, level="intermediate",
                                     sat_on=day, passed=passed, major="会计", signer=gzcc,
                                     today=date(2023, 1, 15))
    finally:
        bank.close()
    return ledger


@pytest.fixture()
def own_ledger(demo_ledger: Path, tmp_path: Path) -> Path:
    """A copy of the demo ledger (and its keys) this test may write to."""
    for part in demo_ledger.parent.glob(demo_ledger.name + "*"):  # with any -wal beside it
        shutil.copy(part, tmp_path / part.name)
    ledger = tmp_path / demo_ledger.name
    shutil.copytree(demo_ledger.with_name("creditledger-demo-keys"),
                    tmp_path / "creditledger-demo-keys")
    return ledger
