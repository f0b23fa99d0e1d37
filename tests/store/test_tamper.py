"""The tamper matrix: each attack done with plain sqlite3 on a real ledger file, triggers dropped.

Every case asserts that ``creditledger verify`` exits 1 and names the first bad position and
the kind of fault. The ledger built by ``build_ledger`` has: 1 genesis, 2–3 key registrations,
4–6 three accounts opened (one commit), then 9 single-event commits at positions 7–15.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from creditledger.audit.verify import sign_head
from creditledger.cli.app import app
from creditledger.crypto.keys import SigningKey
from creditledger.store.format import FORMAT, CommitStatement, event_hash
from creditledger.store.ledger import Ledger

from .ledgers import Built, Tamper, build_ledger, checkpoint

MIDDLE = 8
LAST = 15


def verify_cli(path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["verify", str(path), "--json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def assert_tampered(path: Path, kind: str, position: int, *extra: str) -> dict[str, Any]:
    code, report = verify_cli(path, *extra)
    assert code == 1, report
    assert report["fault"]["kind"] == kind, report["fault"]
    assert report["fault"]["position"] == position, report["fault"]
    return report


@pytest.fixture()
def built(tmp_path: Path) -> Built:
    return build_ledger(tmp_path / "school.ledger")


def test_untouched_ledger_verifies_with_exit_0(built: Built) -> None:
    code, report = verify_cli(built.path)
    assert code == 0
    assert report["intact"] is True
    assert report["events"] == LAST
    assert report["keys"] == 3


def test_edited_payload_byte_is_detected_at_its_position(built: Built) -> None:
    with Tamper(built.path) as t:
        state = bytearray(t.event(MIDDLE)["state"])
        state[5] ^= 0x01
        t.set("stored_events", "position", MIDDLE, "state", bytes(state))
    report = assert_tampered(built.path, "hash-mismatch", MIDDLE)
    assert report["fault"]["aggregate"] is not None


def test_edited_stored_hash_is_detected_at_its_position(built: Built) -> None:
    with Tamper(built.path) as t:
        t.set("stored_events", "position", MIDDLE, "hash", bytes(32))
    assert_tampered(built.path, "hash-mismatch", MIDDLE)


def test_edited_event_timestamp_is_detected(built: Built) -> None:
    with Tamper(built.path) as t:
        state = t.event(MIDDLE)["state"]
        assert b'"timestamp":"20' in state
        t.set("stored_events", "position", MIDDLE, "state",
              state.replace(b'"timestamp":"20', b'"timestamp":"19'))
    assert_tampered(built.path, "hash-mismatch", MIDDLE)


def test_edited_commit_time_breaks_the_commit_signature(built: Built) -> None:
    with Tamper(built.path) as t:
        seq = t.event(MIDDLE)["commit_seq"]
        t.set("ledger_commits", "seq", seq, "committed_at", t.commit(seq)["committed_at"] + 1)
    assert_tampered(built.path, "bad-signature", MIDDLE)


def test_deleted_middle_event_is_detected_at_its_position(built: Built) -> None:
    with Tamper(built.path) as t:
        t.conn.execute("DELETE FROM stored_events WHERE position=?", (MIDDLE,))
    assert_tampered(built.path, "missing-event", MIDDLE)


def test_deleted_last_event_leaves_its_commit_without_events(built: Built) -> None:
    with Tamper(built.path) as t:
        t.conn.execute("DELETE FROM stored_events WHERE position=?", (LAST,))
    assert_tampered(built.path, "commit-mismatch", LAST)


def test_cutting_back_the_ledger_is_detected_against_a_signed_head(
    built: Built, tmp_path: Path
) -> None:
    head_file = tmp_path / "head.json"
    head_file.write_bytes(sign_head(built.path, built.root).to_json())
    with Tamper(built.path) as t:
        seq = t.event(LAST)["commit_seq"]
        t.conn.execute("DELETE FROM stored_events WHERE position=?", (LAST,))
        t.conn.execute("DELETE FROM ledger_commits WHERE seq=?", (seq,))
    code, _ = verify_cli(built.path)
    assert code == 0, "a clean cut is invisible without a head: that is what heads are for"
    assert_tampered(built.path, "truncated", LAST, "--against", str(head_file))


def test_swapped_events_are_detected_at_the_first_of_them(built: Built) -> None:
    columns = ("originator_id", "originator_version", "topic", "state", "commit_seq",
               "prev_hash", "prev_aggregate_hash", "hash")
    with Tamper(built.path) as t:
        a, b = t.event(MIDDLE), t.event(MIDDLE + 3)
        t.conn.execute("DELETE FROM stored_events WHERE position IN (?, ?)", (MIDDLE, MIDDLE + 3))
        for position, row in ((MIDDLE, b), (MIDDLE + 3, a)):
            t.conn.execute(
                "INSERT INTO stored_events (position, " + ", ".join(columns) + ") "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (position, *(row[c] for c in columns)),
            )
    assert_tampered(built.path, "hash-mismatch", MIDDLE)


def test_forged_event_mid_commit_is_blamed_on_its_commit(tmp_path: Path) -> None:
    built = build_ledger(tmp_path / "school.ledger", credits_each=0)  # commit 4 = positions 4-6
    with Tamper(built.path) as t:
        row = t.event(5)
        forged = row["state"].replace(b"learner-1", b"learner-9")
        h = event_hash(5, row["commit_seq"], row["originator_id"], row["originator_version"],
                       row["topic"], forged, row["prev_hash"], row["prev_aggregate_hash"])
        t.set("stored_events", "position", 5, "state", forged)
        t.set("stored_events", "position", 5, "hash", h)
    assert_tampered(built.path, "bad-signature", 4)


def test_forged_event_with_self_consistent_hash_fails_on_its_signer(built: Built) -> None:
    attacker = SigningKey.generate()
    with Tamper(built.path) as t:
        victim = t.event(LAST)
        position = t.append_signed(
            attacker, originator_id=victim["originator_id"],
            version=victim["originator_version"] + 1,
            state=victim["state"].replace(b'"amount":"', b'"amount":"9'),
        )
    assert_tampered(built.path, "unknown-key", position)


def test_forged_event_inside_a_signed_commit_breaks_that_signature(built: Built) -> None:
    with Tamper(built.path) as t:
        row = t.event(MIDDLE)
        forged_state = row["state"].replace(b'"amount":"', b'"amount":"9')
        forged_hash = event_hash(MIDDLE, row["commit_seq"], row["originator_id"],
                                 row["originator_version"], row["topic"], forged_state,
                                 row["prev_hash"], row["prev_aggregate_hash"])
        t.set("stored_events", "position", MIDDLE, "state", forged_state)
        t.set("stored_events", "position", MIDDLE, "hash", forged_hash)
    assert_tampered(built.path, "bad-signature", MIDDLE)


def test_commit_re_signed_with_an_unregistered_key_is_detected(built: Built) -> None:
    attacker = SigningKey.generate()
    with Tamper(built.path) as t:
        row = t.event(MIDDLE)
        commit = t.commit(row["commit_seq"])
        statement = CommitStatement(t.ledger_id(), commit["seq"], commit["first_position"],
                                    commit["committed_at"], attacker.key_id, [row["hash"]],
                                    role="administrator", format=FORMAT)
        t.set("ledger_commits", "seq", commit["seq"], "key_id", attacker.key_id)
        t.set("ledger_commits", "seq", commit["seq"], "signature",
              attacker.sign(statement.message()))
    assert_tampered(built.path, "unknown-key", MIDDLE)


def test_signature_by_a_revoked_key_after_its_revocation_is_detected(built: Built) -> None:
    ledger = Ledger.open(built.path)
    ledger.revoke_key(built.school_a.key_id, root_key=built.root, reason="key lost")
    ledger.close()
    checkpoint(built.path)
    with Tamper(built.path) as t:
        victim = t.event(LAST)
        position = t.append_signed(
            built.school_a, originator_id=victim["originator_id"],
            version=victim["originator_version"] + 1, state=victim["state"],
        )
    assert_tampered(built.path, "key-revoked", position)


def test_event_copied_from_another_ledger_is_detected(built: Built, tmp_path: Path) -> None:
    other = build_ledger(tmp_path / "other.ledger")
    with Tamper(other.path) as o:
        foreign = o.event(MIDDLE)
    with Tamper(built.path) as t:
        for column, value in foreign.items():
            if column != "position":
                t.set("stored_events", "position", MIDDLE, column, value)
    assert_tampered(built.path, "broken-global-link", MIDDLE)


def test_pinned_root_key_that_differs_from_the_genesis_is_a_fault(
    built: Built, tmp_path: Path
) -> None:
    key_file = tmp_path / "other-root.pub"
    key_file.write_bytes(SigningKey.generate().public_key.to_pem())
    assert_tampered(built.path, "root-key-mismatch", 1, "--root-key", str(key_file))


def test_pinned_root_key_that_matches_verifies(built: Built, tmp_path: Path) -> None:
    key_file = tmp_path / "root.pub"
    key_file.write_bytes(built.root.public_key.to_pem())
    code, report = verify_cli(built.path, "--root-key", str(key_file))
    assert code == 0
    assert report["root_key_pinned"] is True


@pytest.mark.parametrize(
    ("attack", "position"),
    [("UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=5 AND idx=0", 32),
     ("DELETE FROM merkle_nodes WHERE level=4 AND idx=2", 48),
     ("UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=4 AND idx=1", 32)],
    ids=["edited-node", "deleted-node", "edited-interior-node"],
)
def test_a_tampered_or_missing_merkle_node_is_detected_at_the_last_event_it_covers(
    tmp_path: Path, attack: str, position: int
) -> None:
    big = build_ledger(tmp_path / "big.ledger", accounts=5, credits_each=8)  # 48 = 32 + 16
    with Tamper(big.path) as t:
        t.conn.execute(attack)  # node (level, idx) covers events idx * 2**level + 1 ..
    assert_tampered(big.path, "merkle-tree-mismatch", position)


def test_an_intact_ledger_reports_its_merkle_root(built: Built) -> None:
    code, report = verify_cli(built.path)
    assert code == 0 and len(report["merkle_root"]) == 64
