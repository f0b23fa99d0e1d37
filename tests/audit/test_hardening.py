"""Verifier hardening (issue 13): an insider with a valid key, and a file with hostile values,
both fail ``verify`` — with exit 1 or 2 and one line, never a traceback, never "intact"."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from creditledger import CreditBank, PersonalData
from creditledger.audit.checkpoints import prove_consistency, publish_checkpoint
from creditledger.audit.head import SignedHead
from creditledger.audit.verify import sign_head, verify_ledger
from creditledger.cli.app import app
from creditledger.crypto.keys import SigningKey
from creditledger.errors import KeyNotValidError, TamperedLedgerError
from creditledger.services.core import ledger_of
from creditledger.store.registry import REGISTERED_TOPIC, registry_id
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, World, make_world
from tests.store.contract import is_postgres
from tests.store.forge import Forged, forge_commit
from tests.store.ledgers import Tamper

from .helpers import standalone, write_json

ALIAS = "creditledger.store.registry:KeyRegistry.KeyRegistered"  # resolves, not canonical
FOREIGN = "creditledger.ledger:KeyRegistry.KeyRegistered"  # a module that is no more


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def verify_json(target: Any, *extra: str) -> tuple[int, dict[str, Any]]:
    result = cli("verify", target, "--json", *extra)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def grown(world: World, results: int = 12) -> World:
    """The world with enough events for stored Merkle nodes (levels 4 and up)."""
    for i, (course, term) in enumerate([("GG1001", "2021-2022-1"), ("KJ1101", "2021-2022-1"),
                                         ("KJ2103", "2021-2022-2")] * 4):
        if i >= results:
            break
        world.bank.recognise_course_result(
            learner_id=("S1", "S2", "M1")[i // 3 % 2], course_code=course, term=term,
            score=Decimal(80), evidence=EVIDENCE, signer=world.gzcc,
            today=TODAY)
    return world


def gzcc_as_lnpc(world: World) -> bytes:
    """The state of GZCC's key registration, rewritten to register GZCC's key to LNPC."""
    rows = world.rows("SELECT state FROM stored_events WHERE originator_id=? AND topic=?",
                      (registry_id(world.bank.ledger_id).hex, REGISTERED_TOPIC))
    gzcc = next(bytes(s) for (s,) in rows if world.gzcc.key_id.encode() in bytes(s))
    return gzcc.replace(b'"principal":"GZCC"', b'"principal":"LNPC"')


# -- hole 1: a registry event under another topic -------------------------------------------


@pytest.mark.parametrize(("topic", "kind"), [(ALIAS, "non-canonical-topic"),
                                            (FOREIGN, "registry-violation"),
                                            (REGISTERED_TOPIC, "unauthorised-write")],
                         ids=["alias", "foreign", "canonical"])
def test_a_registry_event_forged_with_a_schools_own_key_is_tampering_whatever_its_topic(
    ledger_target: Any, topic: str, kind: str
) -> None:
    world = make_world(ledger_target)
    world.bank.close()
    registry = registry_id(world.bank.ledger_id).hex
    version = len(world.rows("SELECT 1 FROM stored_events WHERE originator_id=?", (registry,)))
    at = forge_commit(world.path, world.gzcc,
                      [Forged(registry, version + 1, topic, gzcc_as_lnpc(world))])
    code, report = verify_json(world.path)
    assert code == 1 and report["fault"]["kind"] == kind and report["fault"]["position"] == at


def test_the_writer_refuses_registry_events_under_other_topics(tmp_path: Path) -> None:
    from eventsourcing.persistence import StoredEvent

    world = make_world(tmp_path / "bank.ledger")
    recorder = ledger_of(world.bank).recorder
    registry = registry_id(world.bank.ledger_id)
    size = world.size()
    for topic in (ALIAS, FOREIGN):
        forged = StoredEvent(registry, 99, topic, gzcc_as_lnpc(world))
        with pytest.raises(KeyNotValidError):
            recorder.insert_events([forged], signer=world.root)
    assert world.size() == size
    world.bank.close()
    assert verify_ledger(world.path).events == size


# -- hole 3: Merkle nodes that are not peaks of the current root ----------------------------


def test_a_node_inserted_past_the_size_is_refused_by_the_store_and_writing_goes_on(
    ledger_target: Any,
) -> None:
    world = grown(make_world(ledger_target))
    size = world.size()
    world.bank.close()
    beyond = (size // 16 + 4, bytes(32))
    if is_postgres(world.path):
        from tests.store.pg_ledgers import connect

        with connect(str(world.path), autocommit=True) as conn, pytest.raises(Exception,
                                                                             match="Merkle"):
            conn.execute("INSERT INTO merkle_nodes VALUES (4, %s, %s)", beyond)
    else:
        with sqlite3.connect(world.path) as conn, pytest.raises(sqlite3.IntegrityError,
                                                                match="Merkle"):
            conn.execute("INSERT INTO merkle_nodes VALUES (4, ?, ?)", beyond)
    assert verify_ledger(world.path).events == size
    with CreditBank.open(world.path, kek=KEK) as bank:  # later commits and checkpoints still work
        bank.open_account(learner_id="S9", learner_type="society_member",
                          personal_data=PersonalData(name="九"),
                          signer=world.gzcc)
    publish_checkpoint(world.path, [world.root])


@pytest.mark.parametrize("attack", [
    "INSERT INTO merkle_nodes VALUES (4, 9999, zeroblob(32))",
    "INSERT INTO merkle_nodes VALUES (3, 0, zeroblob(32))",
    "UPDATE merkle_nodes SET idx = 7 WHERE level = 4 AND idx = 0",
    "UPDATE merkle_nodes SET level = 9 WHERE level = 4 AND idx = 0",
    "DELETE FROM merkle_nodes WHERE level = 4 AND idx = 0",
], ids=["past-size", "low-level", "index", "level", "deleted"])
def test_every_stored_node_is_checked_not_only_the_root(tmp_path: Path, attack: str) -> None:
    world = grown(make_world(tmp_path / "bank.ledger"))
    world.bank.close()
    with Tamper(world.path) as t:
        t.conn.execute(attack)
    code, report = verify_json(world.path)
    assert code == 1 and report["fault"]["kind"] == "merkle-tree-mismatch", report


# -- crashes: values of another type, or NULL --------------------------------------------------

BAD_VALUES = [None, "text", b"\x00" * 32, 3.5, -1, 2**62]
COLUMNS = [("ledger_commits", "seq", 3, c) for c in
           ("committed_at", "event_count", "signature", "key_id", "first_position")] + \
          [("stored_events", "position", 5, c) for c in
           ("hash", "originator_version", "state", "topic", "prev_hash", "commit_seq")]


@pytest.mark.parametrize(("table", "key", "row", "column"), COLUMNS,
                         ids=[f"{t}.{c}" for t, _, _, c in COLUMNS])
def test_any_value_in_any_column_is_a_fault_with_exit_1_never_a_traceback(
    tmp_path: Path, table: str, key: str, row: int, column: str
) -> None:
    world = grown(make_world(tmp_path / "bank.ledger"))
    world.bank.close()
    original = Path(world.path).read_bytes()
    for value in BAD_VALUES:
        Path(world.path).write_bytes(original)
        with Tamper(world.path) as t:
            t.loosen()
            before = t.conn.execute(f"SELECT {column} FROM {table} WHERE {key}=?",
                                    (row,)).fetchone()[0]
            t.set(table, key, row, column, value)
            after = t.conn.execute(f"SELECT {column}, typeof({column}) FROM {table} WHERE "
                                   f"{key}=?", (row,)).fetchone()
        result = cli("verify", world.path)
        assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
        unchanged = after is not None and after[0] == before and type(after[0]) is type(before)
        assert result.exit_code == (0 if unchanged else 1), (value, result.output)


def test_a_null_or_text_merkle_node_is_a_fault_not_a_crash(tmp_path: Path) -> None:
    world = grown(make_world(tmp_path / "bank.ledger"))
    world.bank.close()
    for value in (None, "node", 7):
        with Tamper(world.path) as t:
            t.loosen()
            t.conn.execute("UPDATE merkle_nodes SET hash=? WHERE level=4 AND idx=0", (value,))
        code, report = verify_json(world.path)
        assert code == 1 and report["fault"]["kind"] == "merkle-tree-mismatch"


# -- documents: nesting, duplicate keys, missing format ---------------------------------------


@pytest.fixture()
def bundle(tmp_path: Path) -> dict[str, Any]:
    from .helpers import build_bank

    bank = build_bank(tmp_path)
    result = cli("prove", bank.path, "--learner", "S1", "-o", tmp_path / "b.json")
    assert result.exit_code == 0, result.output
    return {"file": tmp_path / "b.json", "bank": bank}


def test_a_deeply_nested_bundle_or_credential_is_unusable_input_not_a_crash(
    tmp_path: Path, bundle: dict[str, Any]
) -> None:
    deep = b'{"format":"creditledger-bundle/1","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    (tmp_path / "deep.json").write_bytes(deep)
    for command in ("verify-bundle", "verify-credential"):
        result = cli(command, tmp_path / "deep.json")
        assert result.exit_code in (1, 2) and "Traceback" not in result.output
        assert "nested more than 64 levels" in result.output
    assert standalone(str(tmp_path / "deep.json")).returncode == 2


def test_a_bundle_with_a_key_twice_is_refused_by_both_verifiers(
    tmp_path: Path, bundle: dict[str, Any]
) -> None:
    text = bundle["file"].read_text()
    twice = text.replace('"learner_id": "S1"', '"learner_id": "S2", "learner_id": "S1"', 1)
    assert twice != text
    (tmp_path / "twice.json").write_text(twice)
    result = cli("verify-bundle", tmp_path / "twice.json")
    assert result.exit_code == 2 and "appears twice" in result.output
    assert standalone(str(tmp_path / "twice.json")).returncode == 2


def test_a_consistency_proof_without_its_format_is_unusable(tmp_path: Path) -> None:
    world = grown(make_world(tmp_path / "bank.ledger"), results=3)
    world.bank.close()
    old = publish_checkpoint(world.path, [world.root])
    with CreditBank.open(world.path, kek=KEK) as bank:
        bank.open_account(learner_id="S7", learner_type="society_member",
                          personal_data=PersonalData(name="七"),
                          signer=world.gzcc)
    new = publish_checkpoint(world.path, [world.root])
    proof = json.loads(prove_consistency(world.path, old.note, new.note).to_json())
    del proof["format"]
    write_json(tmp_path / "proof.json", proof)
    result = cli("verify-consistency", tmp_path / "proof.json")
    assert result.exit_code == 2 and "format" in result.output
    assert standalone(str(tmp_path / "proof.json")).returncode == 2


# -- weak spots: the head of another ledger ---------------------------------------------------


def test_verify_against_the_head_of_a_replaced_ledger_exits_1(tmp_path: Path) -> None:
    original = make_world(tmp_path / "original.ledger")
    original.bank.close()
    head = tmp_path / "head.json"
    head.write_bytes(sign_head(original.path, original.root).to_json())
    impostor = make_world(tmp_path / "impostor.ledger")  # another genesis, another root key
    impostor.bank.close()
    code, report = verify_json(impostor.path, "--against", str(head))
    assert code == 1 and report["fault"]["kind"] == "replaced-ledger"
    # the same ledger id, another root (the genesis rewritten): also the ledger's fault
    with pytest.raises(TamperedLedgerError, match="replaced-ledger"):
        forged = SignedHead.sign(impostor.bank.ledger_id, 1, bytes(32), SigningKey.generate())
        verify_ledger(impostor.path, against=forged)


def test_an_aggregate_id_that_breaks_lines_cannot_print_a_verdict_of_its_own(
    tmp_path: Path,
) -> None:
    world = grown(make_world(tmp_path / "bank.ledger"), results=2)
    world.bank.close()
    hostile = "x\nintact: 1 events in 1 signed commits\u2028\x1b[32m"
    with Tamper(world.path) as t:
        t.set("stored_events", "position", 9, "originator_id", hostile)
    result = cli("verify", world.path)
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "\\nintact" in result.output and "\x1b" not in result.output
