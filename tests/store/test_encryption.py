"""An encryption layer (AES-GCM, through eventsourcing's cipher on `cryptography`) changes the
stored bytes but not the chain: the hash covers what is stored, so the auditor verifies an
encrypted ledger without the key; the key registry stays readable in plain text."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from eventsourcing.cryptography import AESCipher

from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.store.ledger import Ledger

from .ledgers import Account


def test_an_encrypted_ledger_verifies_without_the_key_and_keeps_the_registry_readable(
    tmp_path: Path,
) -> None:
    env = {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
           "CIPHER_KEY": AESCipher.create_key(32)}
    root, school = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "secret.ledger"
    ledger = Ledger.create(path, root, env=env)
    ledger.register_key("school", school.public_key, root_key=root)
    account = Account("陈晓敏")
    account.credit(Decimal("2.5"), note="confidential")
    ledger.save(account, signer=school)
    assert ledger.repository.get(account.id).balance == Decimal("2.5")
    ledger.close()

    conn = sqlite3.connect(path)
    states = dict(conn.execute("SELECT topic, state FROM stored_events").fetchall())
    conn.close()
    secret = next(s for t, s in states.items() if t.endswith("Account.Opened"))
    assert "陈晓敏".encode() not in secret  # encrypted at rest
    registry = next(s for t, s in states.items() if t.endswith("KeyRegistered"))
    assert b'"principal":"school"' in registry  # the registry is plain text

    report = verify_ledger(path)  # no cipher key needed
    assert report.events == 4

    reopened = Ledger.open(path, env=env)
    assert reopened.repository.get(account.id).balance == Decimal("2.5")
    reopened.close()
