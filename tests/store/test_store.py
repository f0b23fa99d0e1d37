"""The store's rules: every commit signed by a key valid at commit time, all-or-nothing,
append-only, and never forked by concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.persistence import RecordConflictError

from creditledger.crypto.keys import SigningKey
from creditledger.errors import (
    ConflictError,
    KeyNotValidError,
    UnsignedCommitError,
    UnusableLedgerError,
    ValidationError,
)
from creditledger.ledger import Ledger
from creditledger.registry import KeyEntry, KeyRegistry
from creditledger.verify import verify_ledger

from .ledgers import Account, build_ledger


def event_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture()
def ledger(tmp_path: Path) -> tuple[Ledger, SigningKey, SigningKey]:
    root, school = SigningKey.generate(), SigningKey.generate()
    led = Ledger.create(tmp_path / "l.ledger", root)
    led.register_key("school", school.public_key, root_key=root)
    return led, root, school


def test_stored_events_reload_with_exact_types(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, _, school = ledger
    acc = Account("学生-1")
    acc.credit(Decimal("2.50"), note="智能财税")
    led.save(acc, signer=school)
    copy = led.repository.get(acc.id)
    assert copy.balance == Decimal("2.50") and isinstance(copy.balance, Decimal)
    assert copy.owner == "学生-1"
    assert copy.modified_on.tzinfo is not None


def test_unsigned_commit_is_refused_and_nothing_is_written(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, _, _ = ledger
    before = event_count(Path(led.env["SQLITE_DBNAME"]))
    with pytest.raises(UnsignedCommitError):
        led.save(Account("x"))
    assert event_count(Path(led.env["SQLITE_DBNAME"])) == before


def test_unknown_key_is_refused_and_nothing_is_written(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, _, _ = ledger
    before = event_count(Path(led.env["SQLITE_DBNAME"]))
    with pytest.raises(KeyNotValidError, match="unknown-key"):
        led.save(Account("x"), Account("y"), signer=SigningKey.generate())
    assert event_count(Path(led.env["SQLITE_DBNAME"])) == before


def test_revoked_key_is_refused_after_its_revocation(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, root, school = ledger
    led.save(Account("before"), signer=school)
    led.revoke_key(school.key_id, root_key=root, reason="laptop stolen")
    with pytest.raises(KeyNotValidError, match="key-revoked"):
        led.save(Account("after"), signer=school)
    verify_ledger(led.env["SQLITE_DBNAME"])


def test_key_not_yet_valid_is_refused(ledger: tuple[Ledger, SigningKey, SigningKey]) -> None:
    led, root, _ = ledger
    later = SigningKey.generate()
    led.register_key("later", later.public_key, root_key=root,
                     valid_from=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(KeyNotValidError, match="key-not-yet-valid"):
        led.save(Account("x"), signer=later)


def test_registry_changes_must_be_signed_by_the_root(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, _, school = ledger
    registry = led.registry
    registry.register("intruder", SigningKey.generate().public_key, datetime.now(UTC))
    with pytest.raises(KeyNotValidError, match="root"):
        led.save(registry, signer=school)
    assert len(led.registry.entries) == 2


def test_a_second_genesis_is_refused(ledger: tuple[Ledger, SigningKey, SigningKey]) -> None:
    led, root, _ = ledger
    entry = KeyEntry("root", root.key_id, root.public_key.raw, datetime.now(UTC))
    with pytest.raises(KeyNotValidError, match="genesis"):
        led.save(KeyRegistry(ledger_id="another", root=entry), signer=root)


def test_rotation_moves_signing_to_the_new_key(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, root, school = ledger
    new = SigningKey.generate()
    led.rotate_key(school.key_id, new.public_key, root_key=root)
    assert led.principal_of(new) == "school"
    with pytest.raises(KeyNotValidError):
        led.save(Account("old key"), signer=school)
    led.save(Account("new key"), signer=new)
    assert verify_ledger(led.env["SQLITE_DBNAME"]).keys == 3


def test_revocation_cannot_reach_back_before_it_was_recorded(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, root, school = ledger
    led.save(Account("signed while valid"), signer=school)
    led.revoke_key(school.key_id, root_key=root, effective_at=datetime(2000, 1, 1, tzinfo=UTC))
    report = verify_ledger(led.env["SQLITE_DBNAME"])  # the earlier commit stays valid
    assert report.commits == 4


def test_the_root_key_cannot_be_revoked(ledger: tuple[Ledger, SigningKey, SigningKey]) -> None:
    led, root, _ = ledger
    with pytest.raises(ValidationError, match="key_id"):
        led.revoke_key(root.key_id, root_key=root)


def test_concurrent_writers_on_one_aggregate_get_a_conflict_not_a_fork(
    ledger: tuple[Ledger, SigningKey, SigningKey],
) -> None:
    led, _, school = ledger
    acc = Account("shared")
    led.save(acc, signer=school)
    other = Ledger.open(led.env["SQLITE_DBNAME"])
    first, second = led.repository.get(acc.id), other.repository.get(acc.id)
    first.credit(Decimal(1))
    second.credit(Decimal(2))
    led.save(first, signer=school)
    with pytest.raises(RecordConflictError):
        other.save(second, signer=school)
    retry = other.repository.get(acc.id)
    retry.credit(Decimal(2))
    other.save(retry, signer=school)
    assert other.repository.get(acc.id).balance == Decimal(3)
    verify_ledger(led.env["SQLITE_DBNAME"])


def test_event_and_commit_rows_are_append_only(tmp_path: Path) -> None:
    built = build_ledger(tmp_path / "a.ledger")
    conn = sqlite3.connect(built.path)
    for statement in (
        "UPDATE stored_events SET state=x'00' WHERE position=5",
        "DELETE FROM stored_events WHERE position=5",
        "UPDATE ledger_commits SET key_id='x' WHERE seq=2",
        "DELETE FROM ledger_commits WHERE seq=2",
        "DELETE FROM ledger_info",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()
    verify_ledger(built.path)


def _writer(path: str, pem: bytes, worker: int, commits: int) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem, password=b"pw")
    signer = SigningKey(key)  # type: ignore[arg-type]
    led = Ledger.open(path)
    mine = Account(f"worker-{worker}")
    led.save(mine, signer=signer)
    for i in range(commits):
        mine.credit(Decimal(i))
        led.save(mine, signer=signer)
    led.close()


def test_concurrent_processes_never_fork_or_gap_the_chain(tmp_path: Path) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "busy.ledger"
    led = Ledger.create(path, root)
    led.register_key("school", school.public_key, root_key=root)
    led.close()
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_writer, args=(str(path), school.to_pem(b"pw"), w, 30))
        for w in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    report = verify_ledger(path)
    assert report.events == 2 + 4 * 31
    assert report.commits == 2 + 4 * 31


def test_private_keys_are_stored_encrypted_and_never_in_the_ledger(tmp_path: Path) -> None:
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


def test_create_refuses_to_overwrite_and_open_refuses_non_ledgers(tmp_path: Path) -> None:
    built = build_ledger(tmp_path / "x.ledger")
    with pytest.raises(ConflictError):
        Ledger.create(built.path, SigningKey.generate())
    missing = tmp_path / "missing.ledger"
    with pytest.raises(UnusableLedgerError, match="no such file"):
        Ledger.open(missing)
    assert not missing.exists()
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(UnusableLedgerError, match="not a creditledger ledger"):
        Ledger.open(plain)
