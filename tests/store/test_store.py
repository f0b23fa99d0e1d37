"""The store's rules on each backend: every commit signed by a key valid at commit time,
all-or-nothing, append-only, and never forked by concurrent writers.

The rules are written once, in :class:`tests.store.contract.StoreContract`; each backend's class
below says where its ledgers go. File-specific rules (paths, the file's bytes) follow.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.errors import ConflictError, UnusableLedgerError
from creditledger.store.ledger import Ledger

from .contract import StoreContract, Target
from .ledgers import Tamper, build_ledger


class TestSQLiteStore(StoreContract):
    """The contract on a SQLite file (the embedded default)."""

    db_error: ClassVar[type[Exception]] = sqlite3.DatabaseError

    @pytest.fixture()
    def target(self, tmp_path: Path) -> Target:
        return tmp_path / "l.ledger"

    def non_ledgers(self, target: Target) -> Iterator[tuple[Target, str]]:
        folder = Path(target).parent
        yield folder / "missing.ledger", "no such file"
        plain = folder / "plain.db"
        with sqlite3.connect(plain) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
        yield plain, "not a creditledger ledger"
        (folder / "empty.ledger").touch()
        yield folder / "empty.ledger", "empty file"
        yield folder, "not a file"

    def absent(self, target: Target) -> bool:
        return not Path(target).exists()

    def tamper(self, target: Target, statement: str) -> None:
        with Tamper(Path(target)) as t:
            t.conn.execute(statement)


class TestPostgresStore(StoreContract):
    """The contract on a PostgreSQL schema (an alliance's shared server)."""

    db_error: ClassVar[type[Exception]] = psycopg.Error
    raw_refused: ClassVar[tuple[str, ...]] = (
        "TRUNCATE stored_events", "TRUNCATE ledger_commits", "TRUNCATE ledger_info",
        "TRUNCATE merkle_nodes",
    )

    @pytest.fixture()
    def target(self, pg_url: str) -> Target:
        return pg_url

    def non_ledgers(self, target: Target) -> Iterator[tuple[Target, str]]:
        yield target, "no creditledger ledger there"  # the fixture's schema does not exist yet
        base, _, query = str(target).partition("?")
        schema = query.split("=", 1)[1]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"CREATE TABLE {schema}.t (x int)")
        yield target, "no creditledger ledger there"

    def absent(self, target: Target) -> bool:
        schema = str(target).partition("?schema=")[2]
        base = str(target).partition("?")[0]
        with psycopg.connect(base) as conn:
            row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname=%s", [schema]).fetchone()
        return row is None

    def tamper(self, target: Target, statement: str) -> None:
        with _pg(target) as conn:
            for table in ("stored_events", "ledger_commits"):
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            conn.execute(statement)


def _pg(target: Target) -> psycopg.Connection[tuple[object, ...]]:
    base, _, query = str(target).partition("?schema=")
    return psycopg.connect(base, autocommit=True, options=f"-c search_path={query}")


# -- file-specific rules -----------------------------------------------------------------------


def test_private_keys_are_stored_encrypted_and_never_in_the_ledger_file(tmp_path: Path) -> None:
    built = build_ledger(tmp_path / "k.ledger")
    pem_path = built.root.save(tmp_path / "root.pem", b"correct horse")
    pem = pem_path.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert (pem_path.stat().st_mode & 0o077) == 0
    with pytest.raises(UnusableLedgerError, match="passphrase"):
        SigningKey.load(pem_path, b"wrong")
    assert SigningKey.load(pem_path, b"correct horse").key_id == built.root.key_id
    from cryptography.hazmat.primitives import serialization

    for key in (built.root, built.school_a, built.school_b):
        raw = key._private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        assert raw not in built.path.read_bytes()


def test_create_refuses_to_overwrite_any_existing_file(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a ledger, but someone's file")
    with pytest.raises(ConflictError, match="file exists"):
        Ledger.create(other, SigningKey.generate())
    assert other.read_text() == "not a ledger, but someone's file"

