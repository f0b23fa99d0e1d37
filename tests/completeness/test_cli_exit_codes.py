"""``verify-bundle`` exit codes for completeness: 0 complete, 1 incomplete or stale, 3 intact but
not proven complete (format /1); the standalone verifier exits the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creditledger.audit.bundle import build_bundle
from creditledger.audit.checkpoints import publish_checkpoint
from tests.audit.helpers import Bank, build_bank, cli, standalone, write_json


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    return build_bank(tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="module")
def bundle(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("b") / "s1.json"
    path.write_bytes(build_bundle(bank.path, "S1").to_json())
    return path


def both(*args: str) -> tuple[int, str, int, str]:
    ours, theirs = cli("verify-bundle", *args), standalone(*args)
    return ours.exit_code, ours.stdout, theirs.returncode, theirs.stdout


def test_a_complete_bundle_exits_0_and_says_complete(bundle: Path, bank: Bank) -> None:
    code, out, scode, sout = both(str(bundle), "--root-key", str(bank.root_pub))
    assert (code, scode) == (0, 0)
    assert "\ncomplete: 3 aggregates" in out and "\ncomplete: 3 aggregates" in sout


def test_a_bundle_missing_its_last_event_exits_1_naming_the_aggregate(
        bundle: Path, tmp_path: Path) -> None:
    data = json.loads(bundle.read_text())
    account = data["aggregates"][0]
    del account["events"][-1]
    code, out, scode, sout = both(str(write_json(tmp_path / "cut.json", data)))
    assert (code, scode) == (1, 1)
    for text in (out, sout):
        assert text.startswith("TAMPERED: incomplete-aggregate")
        assert f"account {account['originator_id']} holds versions 1..3" in text


def test_a_bundle_older_than_the_checkpoint_held_exits_1_stale(
        bundle: Path, bank: Bank, tmp_path: Path) -> None:
    newer = tmp_path / "newer.txt"
    newer.write_text(publish_checkpoint(bank.path, [bank.world.root]).note)
    code, out, scode, sout = both(str(bundle), "--checkpoint", str(newer))
    assert (code, scode) == (1, 1)
    assert "stale-checkpoint" in out and "stale-checkpoint" in sout
    assert "ask for a bundle at" in out


def test_a_bundle_of_format_1_is_intact_but_not_proven_complete_exit_3(
        bundle: Path, tmp_path: Path) -> None:
    data = json.loads(bundle.read_text())
    data["format"] = "creditledger-bundle/1"
    del data["heads"]
    code, out, scode, sout = both(str(write_json(tmp_path / "v1.json", data)))
    assert (code, scode) == (3, 3)
    assert "completeness: NOT proven" in out and "completeness: NOT proven" in sout


def test_a_checkpoint_you_hold_of_another_ledger_is_unusable_input_exit_2(
        bundle: Path, tmp_path: Path) -> None:
    other = build_bank(tmp_path)
    note = tmp_path / "other.txt"
    note.write_text(publish_checkpoint(other.path, [other.world.root]).note)
    code, _, scode, _ = both(str(bundle), "--checkpoint", str(note))
    assert (code, scode) == (2, 2)


def test_a_held_checkpoint_of_the_same_size_with_another_index_is_a_split_view_exit_1(
        bundle: Path, bank: Bank, tmp_path: Path) -> None:
    """Same size, same Merkle root, a different heads line, validly signed by the root key: the
    school showed two indexes of heads for one ledger. Both verifiers refuse it."""
    from creditledger.crypto.heads import heads_line
    from creditledger.crypto.note import Checkpoint, SignedNote, sign_checkpoint

    shown = SignedNote.parse(json.loads(bundle.read_text())["checkpoint"]).checkpoint()
    other = Checkpoint(shown.origin, shown.size, shown.root, (heads_line(bytes(32)),))
    held = tmp_path / "held.txt"
    held.write_text(sign_checkpoint(other, [bank.world.root]))
    code, out, scode, sout = both(str(bundle), "--checkpoint", str(held))
    assert (code, scode) == (1, 1)
    for text in (out, sout):
        assert text.startswith("TAMPERED: bad-checkpoint") and "split view" in text
    same = tmp_path / "same.txt"
    same.write_text(json.loads(bundle.read_text())["checkpoint"])
    assert both(str(bundle), "--checkpoint", str(same))[::2] == (0, 0)


def _resigned(bundle: Path, bank: Bank, tmp_path: Path, heads: str) -> Path:
    """The bundle with its checkpoint re-signed by the root key with another heads line."""
    from creditledger.crypto.note import Checkpoint, SignedNote, sign_checkpoint

    data = json.loads(bundle.read_text())
    shown = SignedNote.parse(data["checkpoint"]).checkpoint()
    data["checkpoint"] = sign_checkpoint(
        Checkpoint(shown.origin, shown.size, shown.root, (heads,)), [bank.world.root])
    return write_json(tmp_path / "resigned.json", data)


def test_a_heads_line_with_anything_after_the_root_is_a_bad_index_proof(
        bundle: Path, bank: Bank, tmp_path: Path) -> None:
    data = json.loads(bundle.read_text())
    line = next(x for x in data["checkpoint"].split("\n") if x.startswith("creditledger-heads/1"))
    code, out, scode, sout = both(str(_resigned(bundle, bank, tmp_path, line + " extra")))
    assert (code, scode) == (1, 1)
    assert out.startswith("TAMPERED: bad-index-proof") and sout.startswith(
        "TAMPERED: bad-index-proof")


def test_two_head_proofs_of_one_aggregate_are_a_bad_index_proof_even_absence_proofs(
        bundle: Path, tmp_path: Path) -> None:
    data = json.loads(bundle.read_text())
    absent = [p for p in data["heads"] if p["version"] == 0]
    assert absent, "the bank's S1 has no transfer ledger: its absence is proven"
    data["heads"].append(absent[0])
    code, out, scode, sout = both(str(write_json(tmp_path / "twice.json", data)))
    assert (code, scode) == (1, 1)
    assert "bad-index-proof" in out and "two head proofs" in sout
