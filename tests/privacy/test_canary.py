"""The canary (issue 17): after erasure, neither the learner's personal data nor their data key
occurs in any byte of the ledger, its log, the views, the key store, or any document made after
the erasure; on SQLite (every file) and on PostgreSQL (every text and bytea column of every
table of the ledger's schema). The ledger, other learners' bundles and the checkpoints' proofs
still verify. No key the store still holds (other learners', and those the bank's pool reserved
and gave to no one) opens any of the canary's sealed values."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from creditledger import CreditBank
from creditledger.audit.export import export_to_sqlite
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.sealing import SealError, unseal
from creditledger.domain import learner_account_id
from creditledger.domain.values import SEALED_PREFIX
from creditledger.errors import PersonalDataErasedError
from creditledger.services.core import ledger_of
from tests.privacy.canary import CORRECTED, LEARNER, Story, live_key_ids, play
from tests.services.bank.fixtures import KEK
from tests.store.pg_ledgers import schema_of


def _check_erased(story: Story, target: str | Path) -> None:
    bank = story.world.bank
    assert story.receipts[0] == story.receipts[1]  # the second erasure: the same receipt
    account = bank.account(LEARNER)
    assert account.personal_data is None and account.erasure is not None
    assert bank.balances(LEARNER) == bank.balances(LEARNER)  # credits stay
    assert sum(bank.balances(LEARNER).values()) > 0
    with pytest.raises(PersonalDataErasedError):
        bank.personal_data(LEARNER)
    with pytest.raises(PersonalDataErasedError):
        bank.correct_personal_data(learner_id=LEARNER, personal_data=CORRECTED,
                                   signer=story.world.gzcc)
    assert bank.personal_data("S1").name == "陈晓敏"  # everyone else's still reads
    report = verify_ledger(target)
    assert report.fault is None
    with sqlite3.connect(story.views) as views:  # the read model says "erased", nothing more
        assert dict(views.execute("SELECT learner_id, personal_data_status FROM accounts")) == {
            "S1": "sealed", "S2": "sealed", "M1": "sealed", LEARNER: "erased"}
    for name, document in story.documents.items():
        assert story.found_in(document) == [], name


def _no_key_left_opens_the_canary(story: Story, live: list[str]) -> None:
    """Every key the store still holds, tried on every sealed value of the canary with the
    context it was sealed under: none opens (the pool's unassigned keys among them)."""
    keys = ledger_of(story.world.bank).personal
    assert keys is not None
    account = learner_account_id(LEARNER).hex
    assert set(story.reserved) <= set(live) and len(live) >= len(story.reserved) + 3
    tried = 0
    for key_id in live:
        key = keys.key(key_id)
        assert key is not None, key_id
        for value in story.sealed:
            assert value.startswith(SEALED_PREFIX)
            named, _, body = value[len(SEALED_PREFIX):].partition(":")
            with pytest.raises(SealError):
                unseal(key, base64.b64decode(body),
                       keys.seal_context("personal_data", account, named))
            tried += 1
    assert tried == 2 * len(live)


def _scan_files(story: Story, folder: Path) -> None:
    scanned = [p for p in sorted(folder.iterdir()) if p.is_file()]
    names = {p.name for p in scanned}
    assert {"canary.ledger", "canary.keys.db", "views.db"} <= names, names
    for path in scanned:
        assert story.found_in(path.read_bytes()) == [], path.name


def test_the_canary_leaves_no_trace_in_any_file_of_a_sqlite_ledger(tmp_path: Path) -> None:
    target = tmp_path / "canary.ledger"
    story = play(target, tmp_path)
    try:
        _check_erased(story, target)
        assert (tmp_path / "canary.ledger-wal").exists()  # scanned while the log is live
        _scan_files(story, tmp_path)
        _no_key_left_opens_the_canary(story, live_key_ids(target))
    finally:
        story.world.bank.close()
    _scan_files(story, tmp_path)  # and once closed (the logs folded into the files)
    assert not set(story.reserved) & set(live_key_ids(target))  # released on close
    with CreditBank.open(target, kek=KEK) as reopened:
        assert reopened.account(LEARNER).personal_data is None
        assert reopened.personal_data("S2").name == "黄志强"


def test_the_canary_leaves_no_trace_in_any_column_of_a_postgres_ledger(
    pg_url: str, tmp_path: Path,
) -> None:
    story = play(pg_url, tmp_path)
    try:
        _check_erased(story, pg_url)
        export_to_sqlite(pg_url, tmp_path / "exported.ledger")  # the auditor's copy, made after
        assert verify_ledger(tmp_path / "exported.ledger").fault is None
        for path in (p for p in tmp_path.iterdir() if p.is_file()):  # views db, the copy
            assert story.found_in(path.read_bytes()) == [], path.name
        tables, cells, found = _scan_schema(pg_url, story)
        assert {"stored_events", "ledger_commits", "data_keys", "data_keys_by_id",
                "key_store_info"} <= tables
        assert cells > 100 and found == []
        _no_key_left_opens_the_canary(story, live_key_ids(pg_url))
    finally:
        story.world.bank.close()


def _scan_schema(url: str, story: Story) -> tuple[set[str], int, list[str]]:
    """Every text and bytea value of every table of the ledger's schema, searched."""
    schema, tables, cells, found = schema_of(url), set(), 0, []
    with psycopg.connect(url.split("?", 1)[0]) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND data_type IN "
            "('text', 'bytea', 'character varying', 'json', 'jsonb')", (schema,)).fetchall()
        for table, column, kind in columns:
            tables.add(table)
            statement = sql.SQL("SELECT {0} FROM {1}.{2} WHERE {0} IS NOT NULL").format(
                sql.Identifier(column), sql.Identifier(schema), sql.Identifier(table))
            for (value,) in conn.execute(statement):
                data = bytes(value) if kind == "bytea" else str(value).encode()
                cells += 1
                found += [f"{table}.{column}: {name}" for name in story.found_in(data)]
    return tables, cells, found
