"""The auditor's tools on a PostgreSQL ledger: verify, heads, checkpoints, proofs, and the export
to a SQLite file that verifies offline to the same head.

Everything runs against the real test server (``CREDITLEDGER_TEST_POSTGRES``), in a fresh schema
per test; the exported copies are real files, checked with the same code as any ledger file.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from creditledger import CreditBank
from creditledger.audit.bundle import build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.audit.checkpoints import (
    prove_consistency,
    publish_checkpoint,
    recorded_checkpoints,
)
from creditledger.audit.export import export_to_sqlite
from creditledger.audit.verify import sign_head, verify_ledger, verify_reader
from creditledger.cli.app import app
from creditledger.crypto.keys import SigningKey
from creditledger.domain import PersonalData
from creditledger.errors import (
    ConflictError,
    LedgerUnavailableError,
    UnusableLedgerError,
)
from creditledger.store.ledger import Ledger
from creditledger.store.readers import PostgresReader
from creditledger.store.tree import LedgerTree
from tests.audit.helpers import PASSPHRASE
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, make_world
from tests.store.pg_ledgers import connect

TABLES = {
    "ledger_info": ("name, value", "name"),
    "stored_events": ("position, originator_id, originator_version, topic, state, commit_seq,"
                      " prev_hash, prev_aggregate_hash, hash", "position"),
    "ledger_commits": ("seq, first_position, event_count, committed_at, key_id, signature",
                       "seq"),
    "merkle_nodes": ("level, idx, hash", "level, idx"),
}


@dataclass
class PgBank:
    url: str
    root: SigningKey
    school: SigningKey
    root_pem: Path
    root_pub: Path


def build_pg_bank(url: str, directory: Path, *, extra: int = 0) -> PgBank:
    """A credit bank on PostgreSQL: S1 with two course results (one revoked), S2 with one;
    ``extra`` more single-event commits to make the tree bigger."""
    world = make_world(url)
    bank = world.bank
    try:
        first = bank.recognise_course_result(learner_id="S1", course_code="KJ1101",
                                             term="2021-2022-1", score=Decimal(80),
                                             evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
        bank.recognise_course_result(learner_id="S1", course_code="KJ2103", term="2021-2022-2",
                                     score=Decimal(91), evidence=EVIDENCE, signer=world.gzcc,
                                     today=TODAY)
        bank.recognise_course_result(learner_id="S2", course_code="KJ1101", term="2021-2022-1",
                                     score=Decimal(70), evidence=EVIDENCE, signer=world.gzcc,
                                     today=TODAY)
        bank.revoke(first.id, reason="error", note="recorded twice", signer=world.gzcc,
                    today=TODAY)
    finally:
        bank.close()
    if extra:
        grow(url, world.gzcc, extra)
    root_pem = directory / "root.pem"
    world.root.save(root_pem, PASSPHRASE.encode())
    root_pub = directory / "root.pub"
    root_pub.write_text(world.root.public_key.to_base64())
    return PgBank(url, world.root, world.gzcc, root_pem, root_pub)


def grow(url: str, signer: SigningKey, commits: int) -> None:
    """``commits`` more single-event commits: accounts of members of society, opened by
    ``signer``'s school."""
    with CreditBank.open(url, kek=KEK) as bank:
        for _ in range(commits):
            bank.open_account(learner_id=f"G-{uuid.uuid4().hex}", learner_type="society_member",
                              personal_data=PersonalData(name="成人学员"), signer=signer)


def pg_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    columns, order = TABLES[table]
    with connect(url) as conn:
        return list(conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}"))


def sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    columns, order = TABLES[table]
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}"))
    finally:
        conn.close()


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250",
                                                      "CREDITLEDGER_PASSPHRASE": PASSPHRASE})
    return result


@pytest.fixture()
def pg_bank(pg_url: str, tmp_path: Path) -> PgBank:
    return build_pg_bank(pg_url, tmp_path)


# -- verify ----------------------------------------------------------------------------------------


def test_verify_of_a_postgres_ledger_reads_one_snapshot_while_a_school_commits(
    pg_bank: PgBank,
) -> None:
    with PostgresReader(pg_bank.url) as reader:
        reader.ledger_id()  # the transaction, and with it the snapshot, begins here
        before = reader.execute("SELECT MAX(position) FROM stored_events").fetchone()[0]
        grow(pg_bank.url, pg_bank.school, 3)  # committed by another connection meanwhile
        report = verify_reader(reader)
        assert report.events == before, "the verification saw commits made after it began"
        isolation = reader.execute("SHOW transaction_isolation").fetchone()[0]
        read_only = reader.execute("SHOW transaction_read_only").fetchone()[0]
    assert (isolation, read_only) == ("repeatable read", "on")
    assert verify_ledger(pg_bank.url).events == before + 3  # the 3 accounts opened meanwhile


def test_big_scans_of_a_postgres_ledger_stream_through_a_server_side_cursor(
    pg_bank: PgBank,
) -> None:
    with PostgresReader(pg_bank.url) as reader:
        rows = reader.scan("SELECT position FROM stored_events ORDER BY position")
        assert next(rows) == (1,)
        named = "SELECT name FROM pg_cursors WHERE name LIKE 'creditledger_scan_%'"
        assert len(reader.execute(named).fetchall()) == 1
        rest = [position for (position,) in rows]
        assert rest == list(range(2, len(rest) + 2))
        assert not reader.execute(named).fetchall(), "the exhausted scan left its cursor open"
        with pytest.raises(UnusableLedgerError, match="read-only transaction"):
            reader.execute("INSERT INTO ledger_info (name, value) VALUES ('x', 'y')")


def test_a_connection_lost_mid_audit_raises_ledger_unavailable_not_a_fault(
    pg_bank: PgBank,
) -> None:
    def kill(pid: int) -> None:
        with connect(pg_bank.url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]

    with PostgresReader(pg_bank.url) as reader:
        reader.ledger_id()
        kill(reader.conn.info.backend_pid)
        with pytest.raises(LedgerUnavailableError, match="cannot read the ledger"):
            verify_reader(reader)
    with LedgerTree.open(pg_bank.url) as tree:
        assert isinstance(tree.reader, PostgresReader)
        kill(tree.reader.conn.info.backend_pid)
        with pytest.raises(LedgerUnavailableError):
            tree.root(5)


def test_the_verify_report_of_a_postgres_ledger_names_it_without_its_password(
    pg_bank: PgBank,
) -> None:
    report = verify_ledger(pg_bank.url, root_key=pg_bank.root.public_key)
    assert report.intact and report.root_key_pinned
    parts = urlsplit(pg_bank.url)
    assert parts.password and f":{parts.password}@" not in report.path
    assert report.path.startswith(f"postgresql://{parts.username}@{parts.hostname}:")
    assert report.path.endswith(parts.query)


# -- export ----------------------------------------------------------------------------------------


def test_an_exported_ledger_verifies_to_the_same_head_and_merkle_root(
    pg_url: str, tmp_path: Path
) -> None:
    bank = build_pg_bank(pg_url, tmp_path, extra=40)
    head = sign_head(bank.url, bank.root)
    copy = tmp_path / "export.ledger"
    exported = export_to_sqlite(bank.url, copy)
    on_server = verify_ledger(bank.url)
    offline = verify_ledger(copy, against=head, root_key=bank.root.public_key)
    for field in ("ledger_id", "root_key_id", "events", "commits", "aggregates", "keys",
                  "last_hash", "merkle_root"):
        assert getattr(offline, field) == getattr(on_server, field), field
    assert offline.merkle_root is not None and offline.events > 64
    assert (exported.events, exported.last_hash, exported.merkle_root) == (
        on_server.events, on_server.last_hash, on_server.merkle_root)
    assert (head.size, head.last_hash) == (offline.events, offline.last_hash)


def test_an_export_copies_every_row_byte_for_byte_into_the_sqlite_recorders_schema(
    pg_bank: PgBank, tmp_path: Path
) -> None:
    copy = tmp_path / "export.ledger"
    report = export_to_sqlite(pg_bank.url, copy)
    for table in TABLES:
        expected = pg_rows(pg_bank.url, table)
        assert sqlite_rows(copy, table) == expected, table
        assert expected or table == "merkle_nodes"
    assert report.merkle_nodes == len(pg_rows(pg_bank.url, "merkle_nodes"))
    # The same tables, indexes and triggers as a ledger the SQLite recorder created.
    native = tmp_path / "native.ledger"
    Ledger.create(native, SigningKey.generate()).close()

    def schema(path: Path) -> set[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        finally:
            conn.close()

    assert schema(copy) == schema(native)
    assert any(kind == "trigger" for kind, *_ in schema(copy))
    # One self-contained file, and the triggers fence it like any ledger file.
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE stored_events SET hash=zeroblob(32) WHERE position=3")
    finally:
        conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if "export" in p.name) == ["export.ledger"]


def test_an_export_refuses_to_overwrite_an_existing_file(pg_bank: PgBank, tmp_path: Path) -> None:
    existing = tmp_path / "kept.ledger"
    existing.write_bytes(b"an auditor's earlier copy")
    with pytest.raises(ConflictError, match="file exists"):
        export_to_sqlite(pg_bank.url, existing)
    empty = tmp_path / "empty.ledger"
    empty.touch()
    with pytest.raises(ConflictError, match="file exists"):
        export_to_sqlite(pg_bank.url, empty)
    result = run("export-ledger", pg_bank.url, str(existing))
    assert result.exit_code == 2 and "file exists" in result.stderr, result.output
    assert existing.read_bytes() == b"an auditor's earlier copy"
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".pem"
                  and p.suffix != ".pub") == ["empty.ledger", "kept.ledger"]


# -- checkpoints and proofs ------------------------------------------------------------------------


def test_checkpoints_and_proofs_from_postgres_match_those_of_its_exported_copy(
    pg_url: str, tmp_path: Path
) -> None:
    bank = build_pg_bank(pg_url, tmp_path, extra=30)
    first = publish_checkpoint(bank.url, [bank.root])
    grow(bank.url, bank.school, 20)
    second = publish_checkpoint(bank.url, [bank.root])
    assert second.size > first.size > 16
    copy = tmp_path / "export.ledger"
    export_to_sqlite(bank.url, copy)
    with LedgerTree.open(bank.url) as server, LedgerTree.open(copy) as offline:
        assert server.size == offline.size == second.position == second.size + 1
        ledger_id = server.reader.ledger_id()
        assert recorded_checkpoints(server.conn, ledger_id) == \
            recorded_checkpoints(offline.conn, ledger_id) == [first, second]
        n = server.size
        for size in (1, 16, 17, first.size, second.size, n):
            assert server.root(size) == offline.root(size), size
            for index in {0, size // 2, size - 1}:
                assert server.inclusion_proof(index, size) == \
                    offline.inclusion_proof(index, size), (index, size)
            for old in {1, size // 3 or 1, size}:
                assert server.consistency_proof(old, size) == \
                    offline.consistency_proof(old, size), (old, size)
        assert server.root(first.size) == first.root and server.root(second.size) == second.root
    proof = prove_consistency(bank.url, first.note, second.note)
    assert proof.to_json() == prove_consistency(copy, first.note, second.note).to_json()
    bundle = build_bundle(bank.url, "S1")
    assert bundle.to_json() == build_bundle(copy, "S1").to_json()
    report = verify_bundle(bundle, bank.root.public_key)
    assert report.checkpoint_size == second.size and report.events > 0


def test_a_checkpoint_of_a_postgres_ledger_is_refused_when_it_is_tampered(
    pg_bank: PgBank,
) -> None:
    from creditledger.errors import TamperedLedgerError
    from tests.store.pg_ledgers import PgTamper

    with PgTamper(pg_bank.url) as t:
        t.set("stored_events", "position", 6, "hash", bytes(32))
    with pytest.raises(TamperedLedgerError, match="position 5: bad-signature"):  # its commit's
        publish_checkpoint(pg_bank.url, [pg_bank.root])
    result = run("checkpoint", pg_bank.url, "--key", str(pg_bank.root_pem))
    assert result.exit_code == 1 and "refusing to sign" in result.stderr, result.output
    with connect(pg_bank.url) as conn:  # nothing was recorded
        assert conn.execute("SELECT COUNT(*) FROM stored_events WHERE topic LIKE %s",
                            ("%CheckpointLog%",)).fetchone()[0] == 0


# -- the command line ------------------------------------------------------------------------------


def test_the_cli_verifies_heads_checkpoints_proves_and_exports_a_postgres_ledger(
    pg_bank: PgBank, tmp_path: Path
) -> None:
    url = pg_bank.url
    result = run("verify", url)
    assert result.exit_code == 0 and "intact" in result.stdout, result.output
    head = tmp_path / "head.json"
    result = run("head", url, "--key", str(pg_bank.root_pem), "-o", str(head))
    assert result.exit_code == 0, result.output
    old = tmp_path / "old.txt"
    result = run("checkpoint", url, "--key", str(pg_bank.root_pem), "-o", str(old))
    assert result.exit_code == 0, result.output
    grow(url, pg_bank.school, 5)
    result = run("checkpoint", url, "--key", str(pg_bank.root_pem), "--no-verify")
    assert result.exit_code == 0, result.output
    new_size = result.stdout.split("\n")[1]
    consistency = tmp_path / "consistency.json"
    result = run("consistency", url, str(old), new_size, "-o", str(consistency))
    assert result.exit_code == 0, result.output
    result = run("verify-consistency", str(consistency), "--root-key", str(pg_bank.root_pub))
    assert result.exit_code == 0 and "consistent" in result.stdout, result.output
    bundle = tmp_path / "bundle.json"
    result = run("prove", url, "--learner", "S1", "-o", str(bundle))
    assert result.exit_code == 0, result.output
    result = run("verify-bundle", str(bundle), "--root-key", str(pg_bank.root_pub))
    assert result.exit_code == 0 and "intact" in result.stdout, result.output

    copy = tmp_path / "copy.ledger"
    result = run("export-ledger", url, str(copy))
    assert result.exit_code == 0 and "creditledger verify" in result.stdout, result.output
    server = json.loads(run("verify", url, "--json", "--against", str(head)).stdout)
    offline = run("verify", str(copy), "--json", "--against", str(head),
                  "--root-key", str(pg_bank.root_pub))
    assert offline.exit_code == 0, offline.output
    offline_report = json.loads(offline.stdout)
    for field in ("events", "commits", "last_hash", "merkle_root"):
        assert offline_report[field] == server[field], field
    assert server["head_size"] == offline_report["head_size"]
    assert f":{urlsplit(url).password}@" not in result.stdout + json.dumps(server)


def _unreachable(url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:1"  # nothing listens on port 1
    return urlunsplit(parts._replace(netloc=netloc))


def _wrong_password(url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:not-the-password@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


def _no_ledger(url: str) -> str:
    return url.rsplit("=", 1)[0] + "=no_ledger_here"


def _no_database(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=""))


UNUSABLE = {
    "server unreachable": (_unreachable, LedgerUnavailableError, "cannot connect"),
    "wrong password": (_wrong_password, LedgerUnavailableError, "password authentication"),
    "schema without a ledger": (_no_ledger, UnusableLedgerError, "no creditledger ledger"),
    "URL without a database": (_no_database, UnusableLedgerError, "needs a user, a host and"),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_an_unusable_postgres_target_exits_2_with_a_clear_message(
    pg_bank: PgBank, tmp_path: Path, case: str
) -> None:
    make, error, message = UNUSABLE[case]
    url = make(pg_bank.url)
    with pytest.raises(error, match=message):
        verify_ledger(url)
    with pytest.raises(error, match=message):
        LedgerTree.open(url)
    for args in (["verify", url], ["verify", url, "--json"],
                 ["head", url, "--key", str(pg_bank.root_pem)],
                 ["checkpoint", url, "--key", str(pg_bank.root_pem)],
                 ["prove", url, "--learner", "S1"],
                 ["consistency", url, "1", "2"],
                 ["export-ledger", url, str(tmp_path / "copy.ledger")]):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error:") and message in result.stderr, result.stderr
        assert "Traceback" not in result.output
        assert "not-the-password" not in result.stderr
        assert f":{urlsplit(pg_bank.url).password}@" not in result.stderr
    assert not (tmp_path / "copy.ledger").exists()
