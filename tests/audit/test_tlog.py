"""Publishing checkpoints, and consistency proofs between them (``checkpoint``, ``consistency``)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from creditledger.audit.checkpoints import (
    ConsistencyFile,
    prove_consistency,
    publish_checkpoint,
    read_genesis,
    recorded_checkpoints,
    verify_consistency_file,
)
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.merkle import root_from_hashes
from creditledger.crypto.note import SignedNote, open_checkpoint, origin_for, verify_note
from creditledger.errors import InconsistentLedgerError, NotAuthorisedError, TamperedLedgerError
from creditledger.store.ledger import Ledger
from creditledger.store.tree import LedgerTree

from .helpers import PASSPHRASE, Tally, cli

ENV = {"CREDITLEDGER_PASSPHRASE": PASSPHRASE}


def grow(path: Path, key: SigningKey, events: int, name: str = "t") -> None:
    ledger = Ledger.open(path)
    tally = Tally(name)
    for _ in range(events - 1):
        tally.add(1)
    ledger.save(tally, signer=key)
    ledger.close()


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, SigningKey, Path]:
    path = tmp_path / "log.ledger"
    root = SigningKey.generate()
    Ledger.create(path, root).close()
    grow(path, root, 20)
    pem = tmp_path / "root.pem"
    root.save(pem, PASSPHRASE.encode())
    return path, root, pem


def test_a_published_checkpoint_is_signed_recorded_and_covers_the_verified_ledger(
    ledger: tuple[Path, SigningKey, Path],
) -> None:
    path, root, _ = ledger
    recorded = publish_checkpoint(path, [root])
    conn = sqlite3.connect(path)
    hashes = [bytes(h) for (h,) in conn.execute("SELECT hash FROM stored_events ORDER BY position")]
    ledger_id, named = read_genesis(conn)
    assert recorded_checkpoints(conn, ledger_id) == [recorded]
    conn.close()
    assert recorded.size == 21 and recorded.position == 23  # CheckpointLog Started + Published
    checkpoint = open_checkpoint(recorded.note, origin_for(ledger_id), [named])
    assert checkpoint.root == root_from_hashes(hashes[:21]) == recorded.root
    verify_ledger(path, root_key=root.public_key)  # recording it kept the ledger intact


def test_only_the_root_key_may_publish(ledger: tuple[Path, SigningKey, Path]) -> None:
    path, root, _ = ledger
    with pytest.raises(NotAuthorisedError, match="not this ledger's root key"):
        publish_checkpoint(path, [SigningKey.generate(), root])


def test_checkpoint_cli_signs_with_several_keys_for_rotation(
    ledger: tuple[Path, SigningKey, Path], tmp_path: Path,
) -> None:
    path, root, pem = ledger
    new = SigningKey.generate()
    new_pem = tmp_path / "new.pem"
    new.save(new_pem, b"new passphrase")
    result = cli("checkpoint", str(path), "--key", str(pem), "--key", str(new_pem),
                 "--passphrase-env", "CREDITLEDGER_PASSPHRASE", "--passphrase-env", "NEW_PW",
                 "-o", str(tmp_path / "cp.txt"), env={**ENV, "NEW_PW": "new passphrase"})
    assert result.exit_code == 0, result.output
    note = SignedNote.parse((tmp_path / "cp.txt").read_text(encoding="utf-8"))
    origin = note.checkpoint().origin
    assert len(note.signatures) == 2
    assert verify_note(note, origin, [root.public_key, new.public_key]) == \
        [root.public_key, new.public_key]


def test_checkpoint_cli_input_errors_exit_2(ledger: tuple[Path, SigningKey, Path],
                                           tmp_path: Path) -> None:
    path, _, pem = ledger
    other = SigningKey.generate()
    other.save(tmp_path / "other.pem", PASSPHRASE.encode())
    cases = [
        (("checkpoint", str(tmp_path / "missing.ledger"), "--key", str(pem)), "no such file"),
        (("checkpoint", str(path), "--key", str(tmp_path / "nokey.pem")), "signing key"),
        (("checkpoint", str(path), "--key", str(tmp_path / "other.pem")), "not this ledger's"),
    ]
    for args, words in cases:
        result = cli(*args, env=ENV)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error:") and words in result.stderr
        assert "Traceback" not in result.output


def test_consistency_between_checkpoints_of_a_growing_ledger(
    ledger: tuple[Path, SigningKey, Path], tmp_path: Path,
) -> None:
    path, root, _ = ledger
    old = publish_checkpoint(path, [root])
    grow(path, root, 37, "more")
    new = publish_checkpoint(path, [root], verify=False)
    proof = prove_consistency(path, old.note, new.note)
    report = verify_consistency_file(proof, root.public_key)
    assert (report.old_size, report.new_size, report.root_key_pinned) == (old.size, new.size, True)
    # the same through the CLI, OLD and NEW given as recorded sizes or as files
    (tmp_path / "old.txt").write_text(old.note, encoding="utf-8")
    out = tmp_path / "proof.json"
    result = cli("consistency", str(path), str(tmp_path / "old.txt"), str(new.size),
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    pub = tmp_path / "root.pub"
    pub.write_text(root.public_key.to_base64())
    ok = cli("verify-consistency", str(out), "--root-key", str(pub))
    assert ok.exit_code == 0 and "consistent" in ok.stdout, ok.output
    unpinned = cli("verify-consistency", str(out))
    assert unpinned.exit_code == 0 and "NOT pinned" in unpinned.stdout
    # tampering with the proof, a checkpoint, or pinning another key fails with exit 1
    data = json.loads(out.read_text())
    data["proof"][0] = data["proof"][1]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    assert cli("verify-consistency", str(tmp_path / "bad.json")).exit_code == 1
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(SigningKey.generate().public_key.to_base64())
    pinned_other = cli("verify-consistency", str(out), "--root-key", str(stranger))
    assert pinned_other.exit_code == 1 and "TAMPERED" in pinned_other.stdout
    (tmp_path / "junk.json").write_text("[1, 2]")
    junk = cli("verify-consistency", str(tmp_path / "junk.json"))
    assert junk.exit_code == 2 and junk.stderr.startswith("error:")


def test_a_forked_ledger_is_not_consistent_with_the_other_branch(
    ledger: tuple[Path, SigningKey, Path], tmp_path: Path,
) -> None:
    path, root, _ = ledger
    fork = tmp_path / "fork.ledger"
    shutil.copy(path, fork)  # same genesis, same root key, same first 21 events
    grow(path, root, 10, "honest")
    old = publish_checkpoint(path, [root])
    grow(fork, root, 30, "rewritten")
    new = publish_checkpoint(fork, [root])
    assert new.size > old.size
    with pytest.raises(InconsistentLedgerError, match="rewritten or forked"):
        prove_consistency(fork, old.note, new.note)
    (tmp_path / "old.txt").write_text(old.note, encoding="utf-8")
    (tmp_path / "new.txt").write_text(new.note, encoding="utf-8")
    result = cli("consistency", str(fork), str(tmp_path / "old.txt"), str(tmp_path / "new.txt"))
    assert result.exit_code == 1 and "forked" in result.stdout, result.output
    # a proof built from the honest ledger cannot bridge to the fork's checkpoint either
    with LedgerTree.open(path) as tree:
        bridge = tree.consistency_proof(old.size, tree.size)
    ledger_id = SignedNote.parse(old.note).checkpoint().origin.split("/", 1)[1]
    forged = ConsistencyFile(ledger_id=ledger_id, root_key=root.public_key.raw, old=old.note,
                             new=new.note, proof=bridge)
    with pytest.raises(InconsistentLedgerError):
        verify_consistency_file(forged, root.public_key)


def test_a_corrupted_stored_tree_is_never_signed(ledger: tuple[Path, SigningKey, Path]) -> None:
    path, root, _ = ledger
    grow(path, root, 40, "more")
    publish_checkpoint(path, [root])
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER merkle_nodes_no_update")
    conn.execute("UPDATE merkle_nodes SET hash=zeroblob(32)")
    conn.commit()
    conn.close()
    with pytest.raises(TamperedLedgerError, match="merkle-tree-mismatch"):
        publish_checkpoint(path, [root])  # verification finds the corrupt tree first
    with pytest.raises(InconsistentLedgerError, match="does not extend its last checkpoint"):
        publish_checkpoint(path, [root], verify=False)
    result = cli("checkpoint", str(path), "--key", str(ledger[2]), "--no-verify", env=ENV)
    assert result.exit_code == 1 and "refusing" in result.stderr
