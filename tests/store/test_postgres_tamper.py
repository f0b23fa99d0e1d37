"""The tamper matrix on PostgreSQL: the tables' owner disables the triggers and edits rows.

Every case asserts that ``creditledger verify URL`` exits 1 and names the first bad position and
the kind of fault, as ``test_tamper.py`` does for files; and that the tampered ledger, exported
to a SQLite file, fails there at the same position (the export copies what is stored, as is).
The ledger (``pg_ledgers.build_pg_ledger``): 1 genesis, 2–3 key registrations, 4–6 three
accounts opened in one commit, then single-event commits at positions 7–18 (commit = position
- 2); the Merkle tree stores one node, (4, 0), over positions 1–16.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from creditledger.audit.export import export_to_sqlite
from creditledger.audit.head import SignedHead
from creditledger.audit.verify import sign_head, verify_ledger
from creditledger.cli.app import app
from creditledger.errors import TamperedLedgerError
from creditledger.store.format import event_hash
from creditledger.store.ledger import Ledger
from tests.store.pg_ledgers import PgBuilt, PgTamper, build_pg_ledger, connect

MIDDLE = 8
LAST = 18


def verify_cli(target: str | Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["verify", str(target), "--json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def assert_tampered(target: str | Path, kind: str, position: int, *extra: str) -> dict[str, Any]:
    code, report = verify_cli(target, *extra)
    assert code == 1, report
    assert report["fault"]["kind"] == kind, report["fault"]
    assert report["fault"]["position"] == position, report["fault"]
    return report


@pytest.fixture()
def built(pg_url: str) -> PgBuilt:
    return build_pg_ledger(pg_url)


def test_an_untouched_postgres_ledger_verifies_with_exit_0(built: PgBuilt) -> None:
    code, report = verify_cli(built.url)
    assert code == 0
    assert report["intact"] is True
    assert (report["events"], report["commits"], report["keys"]) == (LAST, LAST - 2, 3)
    assert report["merkle_root"] is not None
    assert "creditledger:" not in report["path"], "the report must not carry the password"


def test_the_triggers_refuse_edits_until_the_owner_disables_them(built: PgBuilt) -> None:
    with connect(built.url, autocommit=True) as conn:
        for statement in ("UPDATE stored_events SET hash=%s WHERE position=8",
                          "DELETE FROM stored_events WHERE position=8 AND hash<>%s",
                          "TRUNCATE merkle_nodes"):
            params = (bytes(32),) if "%s" in statement else None
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement, params)
    verify_ledger(built.url)


def _flip_payload_byte(t: PgTamper) -> None:
    state = bytearray(t.event(MIDDLE)["state"])
    state[5] ^= 0x01
    t.set("stored_events", "position", MIDDLE, "state", bytes(state))


def _zero_stored_hash(t: PgTamper) -> None:
    t.set("stored_events", "position", MIDDLE, "hash", bytes(32))


def _rehashed_forgery(t: PgTamper) -> None:
    row = t.event(MIDDLE)
    forged = row["state"].replace(b"1.5", b"9.5").replace(b"2.5", b"9.5").replace(b"3.5", b"9.5")
    assert forged != row["state"]
    h = event_hash(MIDDLE, row["commit_seq"], row["originator_id"], row["originator_version"],
                   row["topic"], forged, row["prev_hash"], row["prev_aggregate_hash"])
    t.set("stored_events", "position", MIDDLE, "state", forged)
    t.set("stored_events", "position", MIDDLE, "hash", h)


def _edit_commit_time(t: PgTamper) -> None:
    seq = t.event(MIDDLE)["commit_seq"]
    t.conn.execute("UPDATE ledger_commits SET committed_at=committed_at+1 WHERE seq=%s", (seq,))


def _delete_event(t: PgTamper) -> None:
    assert t.delete("stored_events", "position=%s", MIDDLE) == 1


def _zero_merkle_node(t: PgTamper) -> None:
    t.conn.execute("UPDATE merkle_nodes SET hash=%s WHERE level=4 AND idx=0", (bytes(32),))


def _delete_merkle_node(t: PgTamper) -> None:
    assert t.delete("merkle_nodes", "level=4 AND idx=0") == 1


ATTACKS: dict[str, tuple[Callable[[PgTamper], None], str, int]] = {
    "payload byte": (_flip_payload_byte, "hash-mismatch", MIDDLE),
    "stored hash": (_zero_stored_hash, "hash-mismatch", MIDDLE),
    "re-hashed forgery": (_rehashed_forgery, "bad-signature", MIDDLE),
    "commit time": (_edit_commit_time, "bad-signature", MIDDLE),
    "deleted event": (_delete_event, "missing-event", MIDDLE),
    # the node (4, 0) covers events 1..16: the fault is at the last event it covers
    "merkle node edited": (_zero_merkle_node, "merkle-tree-mismatch", 16),
    "merkle node deleted": (_delete_merkle_node, "merkle-tree-mismatch", 16),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_edit_on_postgres_is_detected_at_its_position_and_survives_export(
    built: PgBuilt, attack: str, tmp_path: Path
) -> None:
    edit, kind, position = ATTACKS[attack]
    with PgTamper(built.url) as t:
        edit(t)
    assert_tampered(built.url, kind, position)
    copy = tmp_path / "copy.ledger"
    export_to_sqlite(built.url, copy)
    assert_tampered(copy, kind, position)


def test_a_postgres_ledger_cut_back_below_its_signed_head_fails_against_it(
    built: PgBuilt, tmp_path: Path
) -> None:
    head = tmp_path / "head.json"
    head.write_bytes(sign_head(built.url, built.root).to_json())
    with PgTamper(built.url) as t:  # a clean cut: the last two commits and their events
        assert t.delete("stored_events", "position>%s", LAST - 2) == 2
        assert t.delete("ledger_commits", "seq>%s", LAST - 4) == 2
    code, report = verify_cli(built.url)
    assert code == 0 and report["events"] == LAST - 2, "invisible without a head"
    assert_tampered(built.url, "truncated", LAST - 1, "--against", str(head))
    with pytest.raises(TamperedLedgerError, match="truncated"):
        verify_ledger(built.url, against=SignedHead.load(head))


def test_a_postgres_ledger_rewritten_below_its_signed_head_is_forked_from_it(
    built: PgBuilt, tmp_path: Path
) -> None:
    head = tmp_path / "head.json"
    head.write_bytes(sign_head(built.url, built.root).to_json())
    with PgTamper(built.url) as t:  # the last event replaced by a consistent, re-signed one
        last = t.event(LAST)
        forged = last["state"].replace(b"round 3", b"round 9")
        h = event_hash(LAST, last["commit_seq"], last["originator_id"],
                       last["originator_version"], last["topic"], forged, last["prev_hash"],
                       last["prev_aggregate_hash"])
        t.set("stored_events", "position", LAST, "state", forged)
        t.set("stored_events", "position", LAST, "hash", h)
    assert_tampered(built.url, "bad-signature", LAST, "--against", str(head))


def test_a_bad_signature_deep_in_a_long_postgres_ledger_is_found_by_the_worker_processes(
    pg_url: str,
) -> None:
    # 515 commits: enough for the verifier to check signatures on forked worker processes
    # while its PostgreSQL connection stays open in the parent (the workers never use it).
    built = build_pg_ledger(pg_url, rounds=1)
    ledger = Ledger.open(pg_url)
    try:
        account = ledger.repository.get(built.account_ids[0])
        for i in range(508):
            account.credit(Decimal(1), note=str(i))
            ledger.save(account, signer=built.school_a)
    finally:
        ledger.close()
    forking = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    workers: list[int] = []

    def progress(done: int, total: int) -> None:
        workers.append(len(multiprocessing.active_children()))

    report = verify_ledger(pg_url, workers=2, progress=progress)
    assert (report.commits, report.events) == (515, 517)
    if forking:
        assert max(workers) >= 1, "expected the signatures to be checked on worker processes"
    position = 400
    with PgTamper(pg_url) as t:
        seq = t.event(position)["commit_seq"]
        signature = bytearray(t.conn.execute(
            "SELECT signature FROM ledger_commits WHERE seq=%s", (seq,)).fetchone()[0])
        signature[0] ^= 0x01
        t.set("ledger_commits", "seq", seq, "signature", bytes(signature))
    with pytest.raises(TamperedLedgerError) as caught:
        verify_ledger(pg_url, workers=2)
    assert (caught.value.fault.kind.value, caught.value.fault.position) == (
        "bad-signature", position)
