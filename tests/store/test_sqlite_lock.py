"""On SQLite, a commit that cannot get the file's write lock in time is a typed, clean refusal."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.errors import LedgerBusyError
from creditledger.store.ledger import Ledger
from tests.store.ledgers import Account


def test_a_write_lock_not_granted_in_time_is_a_busy_error_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.ledger"
    root, school = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(path, root, env={"SQLITE_LOCK_TIMEOUT": "1"})
    try:
        ledger.register_key("school", school.public_key, root_key=root)
        size = ledger.recorder.max_notification_id()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        started = time.monotonic()
        with pytest.raises(LedgerBusyError, match="SQLITE_LOCK_TIMEOUT"):
            ledger.save(Account("learner"), signer=school)
        assert 0.9 < time.monotonic() - started < 10
        other.execute("ROLLBACK")
        other.close()
        assert ledger.recorder.max_notification_id() == size  # nothing of it was written
        again = Account("learner")
        ledger.save(again, signer=school)  # the lock is free: the command run again commits
        assert ledger.repository.get(again.id).owner == "learner"
    finally:
        ledger.close()
