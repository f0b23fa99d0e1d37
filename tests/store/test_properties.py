"""Property tests of the chain: honest histories verify; any single flipped byte does not."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.errors import TamperedLedgerError
from creditledger.store.ledger import Ledger

from .ledgers import Account, Built, build_ledger

# A commit: which accounts (by index, None = open a new one) get one event each, and which
# school signs it.
commit_st = st.tuples(
    st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=1, max_size=6),
    st.sampled_from(["a", "b"]),
)


@given(commits=st.lists(commit_st, min_size=1, max_size=12))
def test_random_histories_of_commits_verify(commits: list[tuple[list[int | None], str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.ledger"
        root, a, b = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
        ledger = Ledger.create(path, root)
        ledger.register_key("a", a.public_key, root_key=root)
        ledger.register_key("b", b.public_key, root_key=root)
        accounts: list[Account] = []
        expected = 3
        for picks, who in commits:
            touched: dict[int, Account] = {}
            for pick in picks:
                if pick is None or pick >= len(accounts):
                    accounts.append(Account(f"learner-{len(accounts)}"))
                    touched[len(accounts) - 1] = accounts[-1]
                else:
                    accounts[pick].credit(Decimal("0.5"))
                    touched[pick] = accounts[pick]
                expected += 1
            ledger.save(*touched.values(), signer=a if who == "a" else b)
        ledger.close()
        report = verify_ledger(path)
        assert report.events == expected
        assert report.commits == 3 + len(commits)
        assert report.aggregates == len(accounts) + 1  # + the key registry


@cache
def _base_ledger() -> Built:
    return build_ledger(Path(tempfile.mkdtemp()) / "base.ledger", accounts=2, credits_each=2)


def _cells() -> list[tuple[str, str, str, int]]:
    """Every (table, key column, column, key) cell of the event and commit rows."""
    conn = sqlite3.connect(_base_ledger().path)
    cells = []
    for table, key in (("stored_events", "position"), ("ledger_commits", "seq")):
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        for (k,) in conn.execute(f"SELECT {key} FROM {table}"):
            cells += [(table, key, c, k) for c in columns]
    conn.close()
    return cells


@given(data=st.data())
def test_any_single_flipped_byte_in_event_or_commit_rows_fails_verification(
    data: st.DataObject,
) -> None:
    table, key, column, key_value = data.draw(st.sampled_from(_cells()), label="cell")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flipped.ledger"
        shutil.copyfile(_base_ledger().path, path)
        conn = sqlite3.connect(path, isolation_level=None)
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        (value,) = conn.execute(
            f"SELECT {column} FROM {table} WHERE {key}=?", (key_value,)
        ).fetchone()
        if isinstance(value, int):
            bit = data.draw(st.integers(0, 40), label="bit")
            flipped: object = value ^ (1 << bit)
        else:
            raw = bytearray(value.encode() if isinstance(value, str) else value)
            index = data.draw(st.integers(0, len(raw) - 1), label="byte")
            # Text stays valid UTF-8 (flip the low bit of an ASCII byte); blobs take any bit.
            if isinstance(value, str):
                assume(raw[index] < 0x80)
                raw[index] ^= 0x01
                flipped = raw.decode()
            else:
                raw[index] ^= 1 << data.draw(st.integers(0, 7), label="bit")
                flipped = bytes(raw)
        try:
            conn.execute(f"UPDATE {table} SET {column}=? WHERE {key}=?", (flipped, key_value))
        except sqlite3.IntegrityError:
            assume(False)  # the flip collides with another row's key: not a single-byte edit
        conn.close()
        with pytest.raises(TamperedLedgerError):
            verify_ledger(path)
