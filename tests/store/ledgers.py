"""Real ledgers for the store tests: real files, real keys, real signatures.

``build_ledger`` writes a ledger with a root, two institutions and a few aggregates over
several commits. ``Tamper`` edits the file with plain ``sqlite3`` after dropping the
append-only triggers, as an attacker with write access to the file would.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, event

from creditledger.crypto.keys import SigningKey
from creditledger.store.format import CommitStatement, event_hash, now_micros
from creditledger.store.ledger import Ledger
from tests.store.signing import signed_statement


class Account(Aggregate):
    """A toy account: enough to exercise the store without the domain layer."""

    @event("Opened")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = Decimal(0)

    @event("Credited")
    def credit(self, amount: Decimal, note: str = "") -> None:
        self.balance += amount


@dataclass
class Built:
    path: Path
    root: SigningKey
    school_a: SigningKey
    school_b: SigningKey
    account_ids: list[Any] = field(default_factory=list)


def build_ledger(path: Path, *, accounts: int = 3, credits_each: int = 3) -> Built:
    """A ledger whose commits alternate between two schools' keys."""
    root, a, b = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(path, root)
    ledger.register_key("school-a", a.public_key, root_key=root)
    ledger.register_key("school-b", b.public_key, root_key=root)
    built = Built(path, root, a, b)
    objs = [Account(f"learner-{i}") for i in range(accounts)]
    ledger.save(*objs, signer=a)
    for round_ in range(credits_each):
        for i, acc in enumerate(objs):
            acc.credit(Decimal("1.5") + i, note=f"round {round_} 学分")
            ledger.save(acc, signer=a if (round_ + i) % 2 else b)
    built.account_ids = [o.id for o in objs]
    ledger.close()
    checkpoint(path)
    return built


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file, so plain copies and edits see everything."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def copy_ledger(src: Path, dst: Path) -> Path:
    """Copy a ledger file (its log folded in first) and its key store, if it has one."""
    checkpoint(src)
    shutil.copyfile(src, dst)
    keys = src.with_name(src.stem + ".keys.db")
    if keys.exists():
        shutil.copyfile(keys, dst.with_name(dst.stem + ".keys.db"))
    return dst


class Tamper:
    """An attacker with write access to the file: drops the triggers, then edits rows."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            self.conn.execute(f"DROP TRIGGER {name}")

    def __enter__(self) -> Tamper:
        return self

    def loosen(self) -> None:
        """Drop the tables' NOT NULL constraints (editing the schema in place, as anyone with
        the file can), so that a column can hold NULL too."""
        self.conn.execute("PRAGMA writable_schema=ON")
        self.conn.execute("UPDATE sqlite_master SET sql=replace(sql, ' NOT NULL', '') "
                          "WHERE type='table'")
        self.conn.execute("PRAGMA writable_schema=OFF")
        path = self.conn.execute("PRAGMA database_list").fetchone()[2]
        self.conn.close()
        self.conn = sqlite3.connect(path, isolation_level=None)

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def event(self, position: int) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM stored_events WHERE position=?", (position,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))

    def commit(self, seq: int) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM ledger_commits WHERE seq=?", (seq,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))

    def size(self) -> int:
        return int(self.conn.execute("SELECT MAX(position) FROM stored_events").fetchone()[0])

    def last_commit(self) -> dict[str, Any]:
        seq = self.conn.execute("SELECT MAX(seq) FROM ledger_commits").fetchone()[0]
        return self.commit(seq)

    def ledger_id(self) -> str:
        row = self.conn.execute("SELECT value FROM ledger_info WHERE name='ledger_id'").fetchone()
        return str(row[0])

    def statement(self, seq: int, first: int, at: int, key_id: str,
                  hashes: list[bytes]) -> CommitStatement:
        """What a commit by ``key_id`` signs in this ledger (its format, the key's role)."""
        return signed_statement(self.conn.cursor(), self.ledger_id(), seq, first, at, key_id,
                                hashes)

    def set(self, table: str, key: str, key_value: Any, column: str, value: Any) -> None:
        self.conn.execute(f"UPDATE {table} SET {column}=? WHERE {key}=?", (value, key_value))

    def append_signed(
        self,
        signer: SigningKey,
        *,
        originator_id: str,
        version: int,
        state: bytes,
        topic: str = "tests.store.ledgers:Account.Credited",
        committed_at: int | None = None,
    ) -> int:
        """Append a self-consistent event in a new commit signed by ``signer``."""
        position = self.size() + 1
        prev = self.event(position - 1)["hash"]
        prev_agg = self.conn.execute(
            "SELECT hash FROM stored_events WHERE originator_id=? AND originator_version=?",
            (originator_id, version - 1),
        ).fetchone()[0]
        seq = self.last_commit()["seq"] + 1
        h = event_hash(position, seq, originator_id, version, topic, state, prev, prev_agg)
        self.conn.execute(
            "INSERT INTO stored_events VALUES (?,?,?,?,?,?,?,?,?)",
            (position, originator_id, version, topic, state, seq, prev, prev_agg, h),
        )
        at = committed_at if committed_at is not None else now_micros()
        statement = self.statement(seq, position, at, signer.key_id, [h])
        self.conn.execute(
            "INSERT INTO ledger_commits VALUES (?,?,?,?,?,?)",
            (seq, position, 1, at, signer.key_id, signer.sign(statement.message())),
        )
        return position
