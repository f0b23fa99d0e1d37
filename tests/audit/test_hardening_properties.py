"""Properties of the hardened verifiers (issue 13), over random single changes.

- The store: any single column of any row set to any value of any SQLite type (or NULL), or any
  row deleted, duplicated or inserted, in any table, makes ``verify`` exit 1 or 2 with one line
  and no traceback — never 0, unless the value is unchanged.
- Documents: any single change to a transcript bundle (its events, commits, registry, the
  checkpoint inside it) or to a consistency proof is refused by ``verify-bundle`` /
  ``verify-consistency`` and by the standalone verifier, which give the same exit code.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from creditledger import CreditBank, PersonalData
from creditledger.audit.checkpoints import prove_consistency, publish_checkpoint
from creditledger.cli.app import app
from tests.mutations import one_change
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, World, copy_ledger, make_world
from tests.store.ledgers import Tamper

from .helpers import standalone

TABLES = {  # table: (key columns, every column)
    "stored_events": (("position",), ("position", "originator_id", "originator_version", "topic",
                                      "state", "commit_seq", "prev_hash", "prev_aggregate_hash",
                                      "hash")),
    "ledger_commits": (("seq",), ("seq", "first_position", "event_count", "committed_at",
                                  "key_id", "signature")),
    "merkle_nodes": (("level", "idx"), ("level", "idx", "hash")),
    "ledger_info": (("name",), ("name", "value")),
}
VALUES = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(0, 80),
                   st.floats(allow_nan=False), st.text(max_size=40), st.binary(max_size=70))
SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], deadline=None)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A bank ledger of 40-odd events (stored Merkle nodes at levels 4 and 5), checkpointed."""
    folder = tmp_path_factory.mktemp("hardening")
    world = make_world(folder / "base.ledger")
    for term in ("2021-2022-1", "2021-2022-2"):
        for learner in ("S1", "S2"):
            for course in ("GG1001", "KJ1101", "KJ2103"):
                world.bank.recognise_course_result(
                    learner_id=learner, course_code=course, term=term, score=Decimal(75),
                    evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
    world.bank.close()
    publish_checkpoint(world.path, [world.root])
    return world


@pytest.fixture(scope="module")
def ledger(world: World) -> Path:
    return Path(world.path)


def _rows(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT * FROM {table}").fetchall()


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str, Any]:
    table = draw(st.sampled_from(sorted(TABLES)))
    action = draw(st.sampled_from(["set", "set", "set", "delete", "duplicate", "insert"]))
    return table, action, draw(st.data())


def _mutate(conn: sqlite3.Connection, table: str, action: str, data: Any) -> bool:
    """Apply one change; True if the file changed."""
    keys, columns = TABLES[table]
    rows = _rows(conn, table)
    row = rows[data.draw(st.integers(0, len(rows) - 1))]
    where = " AND ".join(f"{k}=?" for k in keys)
    key_values = [row[columns.index(k)] for k in keys]
    if action == "set":
        column = data.draw(st.sampled_from(columns))
        before = conn.execute(f"SELECT {column} FROM {table} WHERE {where}", key_values
                              ).fetchone()[0]
        value = data.draw(VALUES)
        try:
            conn.execute(f"UPDATE {table} SET {column}=? WHERE {where}", [value, *key_values])
        except sqlite3.IntegrityError:
            return False
        after = conn.execute(f"SELECT {column} FROM {table} WHERE "
                             + " AND ".join(f"{k}=?" for k in keys),
                             [value if k == column else v for k, v in zip(keys, key_values,
                                                                          strict=True)]
                             ).fetchone()
        return after is None or not (after[0] == before and type(after[0]) is type(before))
    if action == "delete":
        conn.execute(f"DELETE FROM {table} WHERE {where}", key_values)
        return True
    copy = list(row)
    if action == "insert":
        copy = [data.draw(VALUES) for _ in columns]
    else:  # duplicate: the same row under a new key
        first = columns.index(keys[-1])
        copy[first] = (max(r[first] for r in rows if type(r[first]) is int) + 1
                       if type(copy[first]) is int else f"{copy[first]}-copy")
    try:
        conn.execute(f"INSERT INTO {table} VALUES ({','.join('?' * len(columns))})", copy)
    except sqlite3.IntegrityError:
        return False
    return True


@SETTINGS
@given(change=mutations())
def test_any_single_change_to_any_table_fails_verify_with_one_line(
    ledger: Path, tmp_path: Path, change: tuple[str, str, Any]
) -> None:
    path = tmp_path / "mutated.ledger"
    shutil.copyfile(ledger, path)
    table, action, data = change
    with Tamper(path) as t:
        t.loosen()
        changed = _mutate(t.conn, table, action, data)
    assume(changed)
    result = CliRunner().invoke(app, ["verify", str(path)])
    assert ("Traceback" not in result.output and result.exception is None) or \
        isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (1, 2), (table, action, result.output)
    assert len(result.output.strip().splitlines()) == 1, result.output


# -- documents -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A transcript bundle and a consistency proof of the ledger, as JSON values."""
    folder = tmp_path_factory.mktemp("documents")
    path = folder / "docs.ledger"
    copy_ledger(world.path, path)
    runner = CliRunner()
    bundle_file = folder / "bundle.json"
    assert runner.invoke(app, ["prove", str(path), "--learner", "S1", "-o",
                               str(bundle_file)]).exit_code == 0
    old = publish_checkpoint(path, [world.root], verify=False)
    with CreditBank.open(path, kek=KEK) as bank:
        bank.open_account(learner_id="S8", learner_type="society_member",
                          personal_data=PersonalData(name="八"), signer=world.gzcc)
    new = publish_checkpoint(path, [world.root])
    proof = prove_consistency(path, old.note, new.note)
    root_key = folder / "root.pub"
    root_key.write_bytes(world.root.public_key.to_pem())
    return {"bundle": json.loads(bundle_file.read_bytes()),
            "proof": json.loads(proof.to_json()), "root_key": root_key}


@SETTINGS
@given(data=st.data(), which=st.sampled_from(["bundle", "proof"]))
def test_any_single_change_to_a_bundle_or_proof_is_refused_by_both_verifiers_alike(
    documents: dict[str, Any], tmp_path: Path, data: Any, which: str
) -> None:
    changed = one_change(documents[which], data)
    file = tmp_path / f"{which}.json"
    file.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    command = "verify-bundle" if which == "bundle" else "verify-consistency"
    ours = CliRunner().invoke(app, [command, str(file), "--root-key",
                                    str(documents["root_key"])])
    theirs = standalone(str(file), "--root-key", str(documents["root_key"]))
    assert "Traceback" not in ours.output + theirs.stdout + theirs.stderr
    assert ours.exit_code in (1, 2), ours.output
    assert theirs.returncode == ours.exit_code, (ours.output, theirs.stdout, theirs.stderr)


def test_the_unchanged_documents_pass_both_verifiers(documents: dict[str, Any],
                                                     tmp_path: Path) -> None:
    for which, command in (("bundle", "verify-bundle"), ("proof", "verify-consistency")):
        file = tmp_path / f"{which}.json"
        file.write_text(json.dumps(documents[which]), encoding="utf-8")
        ours = CliRunner().invoke(app, [command, str(file), "--root-key",
                                        str(documents["root_key"])])
        assert ours.exit_code == 0, ours.output
        assert standalone(str(file), "--root-key", str(documents["root_key"])).returncode == 0


@pytest.mark.parametrize("where", ["registry", "account"])
def test_a_bundle_that_lists_an_event_twice_is_refused_by_both_verifiers(
        documents: dict[str, Any], tmp_path: Path, where: str) -> None:
    """Found by the property above: a copy of a genuine registry event (the genesis) passed.
    A copy adds nothing, but a bundle is exactly the learner's events, each once."""
    changed = json.loads(json.dumps(documents["bundle"]))
    events = changed["registry"] if where == "registry" else changed["aggregates"][0]["events"]
    events.append(events[0])
    file = tmp_path / "bundle.json"
    file.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    ours = CliRunner().invoke(app, ["verify-bundle", str(file), "--root-key",
                                    str(documents["root_key"])])
    theirs = standalone(str(file), "--root-key", str(documents["root_key"]))
    assert ours.exit_code == 2 and "listed twice" in ours.output, ours.output
    assert theirs.returncode == 2 and "listed twice" in theirs.stderr + theirs.stdout
