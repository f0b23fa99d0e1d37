"""Witnesses (C2SP tlog-witness / tlog-cosignature): the cosignature bytes, the witness's
refusals, its state across restarts, and a split view caught by verify-bundle --quorum."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from creditledger.audit.bundle import build_bundle
from creditledger.audit.bundle_verify import WitnessPolicy, verify_bundle
from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.audit.cosigning import checkpoint_request
from creditledger.audit.witness import AddCheckpoint, Witness
from creditledger.crypto.cosignature import (
    WitnessKey,
    add_cosignatures,
    cosign,
    cosignature_time,
)
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.note import Checkpoint, SignedNote, origin_for, sign_checkpoint
from creditledger.errors import (
    BundleVerificationError,
    CheckpointError,
    WitnessConflictError,
    WitnessError,
)
from creditledger.services.bank import CreditBank
from tests.audit.helpers import PASSPHRASE, Bank, build_bank, cli
from tests.services.bank.fixtures import EVIDENCE, TODAY

ORIGIN = "creditledger.example/ledger-1"


def fixed_key(seed: int) -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


# -- the cosignature/v1 bytes -----------------------------------------------------------------


def test_a_cosignature_line_matches_one_built_by_hand_from_the_spec() -> None:
    key = fixed_key(9)
    raw = key.public_key.raw
    body = Checkpoint(ORIGIN, 5, bytes(range(32))).body()
    key_id = hashlib.sha256(b"witness.example" + b"\x0a" + b"\x04" + raw).digest()[:4]
    message = b"cosignature/v1\ntime 1700000000\n" + body
    signature = Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32).sign(message)
    by_hand = ("\u2014 witness.example " + base64.b64encode(
        key_id + (1700000000).to_bytes(8, "big") + signature).decode() + "\n")
    assert cosign(body, "witness.example", key, 1700000000).line() == by_hand
    # the verifier key: name+hex(key ID)+base64(0x04 || key), read back
    vkey = WitnessKey("witness.example", key.public_key).vkey()
    assert vkey == f"witness.example+{key_id.hex()}+" + base64.b64encode(b"\x04" + raw).decode()
    assert WitnessKey.parse(vkey) == WitnessKey("witness.example", key.public_key)
    for seed in range(40):  # base64 holds "+" for some keys: the name and ID still split off
        other = WitnessKey("w", fixed_key(seed).public_key)
        assert WitnessKey.parse(other.vkey()) == other
    blob = base64.b64decode(by_hand.split(" ")[2])
    Ed25519PublicKey.from_public_bytes(raw).verify(blob[12:], message)


def test_a_cosignature_is_not_a_note_signature_and_a_forged_one_is_an_error() -> None:
    log, witness = fixed_key(1), fixed_key(2)
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, bytes(32)), [log])
    w = WitnessKey("w", witness.public_key)
    line = cosign(SignedNote.parse(note).text, "w", witness, 1234).line()
    cosigned = add_cosignatures(note, [line, line])  # attached once only
    assert cosigned.count("\u2014 ") == 2
    assert cosignature_time(SignedNote.parse(cosigned), w) == 1234
    assert cosignature_time(SignedNote.parse(note), w) is None
    other = sign_checkpoint(Checkpoint(ORIGIN, 5, bytes([1]) * 32), [log])
    with pytest.raises(CheckpointError, match="does not verify"):  # moved to another head
        cosignature_time(SignedNote.parse(add_cosignatures(other, [line])), w)
    with pytest.raises(CheckpointError, match="type 0x04"):  # a note key is not a witness key
        WitnessKey.parse("w+00000000+" + base64.b64encode(b"\x01" + witness.public_key.raw)
                         .decode())


def test_the_request_is_the_tlog_witness_body() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, bytes(32)), [fixed_key(1)])
    request = AddCheckpoint(3, (bytes(32), bytes([1]) * 32), note)
    text = request.format()
    assert text.startswith("old 3\n" + base64.b64encode(bytes(32)).decode() + "\n")
    assert text.endswith("\n\n" + note)
    assert AddCheckpoint.parse(text) == request
    for bad in ("old 03\n\n" + note, "new 3\n\n" + note, "old 3\n!!\n\n" + note, "old 3"):
        with pytest.raises(WitnessError):
            AddCheckpoint.parse(bad)


# -- the witness's rules ----------------------------------------------------------------------


def _tree(leaves: int, salt: bytes = b"") -> list[bytes]:
    return [hashlib.sha256(salt + i.to_bytes(4, "big")).digest() for i in range(leaves)]


def _note(log: SigningKey, hashes: list[bytes]) -> str:
    from creditledger.crypto.merkle import root_from_hashes
    return sign_checkpoint(Checkpoint(ORIGIN, len(hashes), root_from_hashes(hashes)), [log])


def _request(log: SigningKey, hashes: list[bytes], old: int) -> AddCheckpoint:
    from creditledger.crypto.merkle import consistency_proof
    proof = consistency_proof(hashes, old, len(hashes)) if 0 < old < len(hashes) else []
    return AddCheckpoint(old, tuple(proof), _note(log, hashes))


def test_the_witness_cosigns_extensions_and_refuses_everything_else(tmp_path: Path) -> None:
    log, wkey = fixed_key(1), fixed_key(2)
    leaves, fork = _tree(20), _tree(12)[:10] + _tree(10, b"fork")
    witness = Witness.init(tmp_path / "w.db", "w", wkey)
    with pytest.raises(WitnessError) as unknown:
        witness.add_checkpoint(_request(log, leaves[:8], 0))
    assert unknown.value.status == 404
    witness.follow(ORIGIN, log.public_key)
    line = witness.add_checkpoint(_request(log, leaves[:8], 0), now=100)
    assert cosignature_time(SignedNote.parse(add_cosignatures(_note(log, leaves[:8]), [line])),
                            witness.public) == 100
    witness.add_checkpoint(_request(log, leaves[:13], 8))
    witness.add_checkpoint(_request(log, leaves[:13], 13))  # the same head again: fine
    refusals = [
        (_request(log, leaves[:13], 8), 409),  # stale old size
        (_request(log, leaves[:15], 12), 409),
        (_request(fixed_key(3), leaves[:15], 13), 403),  # not the log's key
        (_request(log, fork[:13], 13), 409),  # another root at the same size: a split view
        (_request(log, fork[:20], 13), 422),  # a proof from the witnessed head cannot exist
        (AddCheckpoint(13, _request(log, leaves[:20], 13).proof[:-1],
                       _note(log, leaves[:20])), 422),  # a truncated proof
        (_request(log, leaves[:12], 13), 400),  # smaller than the old size
    ]
    for request, status in refusals:
        with pytest.raises(WitnessError) as refused:
            witness.add_checkpoint(request)
        assert refused.value.status == status, request.old_size
    with pytest.raises(WitnessConflictError) as stale:
        witness.add_checkpoint(_request(log, leaves[:20], 0))
    assert stale.value.latest_size == 13 and not stale.value.split_view
    with pytest.raises(WitnessConflictError) as split:
        witness.add_checkpoint(_request(log, fork[:13], 13))
    assert split.value.split_view
    assert witness.logs()[0].size == 13
    witness.close()


def test_a_witness_refuses_the_same_size_and_root_with_another_index_of_heads(
        tmp_path: Path) -> None:
    """Same tree, another heads line: a split view of the index, refused (409, split view);
    the checkpoint it cosigned, sent again, is still cosigned."""
    from creditledger.crypto.heads import heads_line
    from creditledger.crypto.merkle import root_from_hashes

    log, leaves = fixed_key(1), _tree(8)
    witness = Witness.init(tmp_path / "w.db", "w", fixed_key(2))
    witness.follow(ORIGIN, log.public_key)

    def note(index_root: bytes) -> str:
        return sign_checkpoint(Checkpoint(ORIGIN, 8, root_from_hashes(leaves),
                                          (heads_line(index_root),)), [log])

    witness.add_checkpoint(AddCheckpoint(0, (), note(b"\x01" * 32)))
    witness.add_checkpoint(AddCheckpoint(8, (), note(b"\x01" * 32)))  # the same body again
    with pytest.raises(WitnessConflictError) as split:
        witness.add_checkpoint(AddCheckpoint(8, (), note(b"\x02" * 32)))
    assert split.value.split_view and split.value.status == 409
    witness.close()


def test_a_restarted_witness_keeps_its_state_and_never_cosigns_two_roots_at_one_size(
        tmp_path: Path) -> None:
    log, wkey = fixed_key(1), fixed_key(2)
    leaves, fork = _tree(9), _tree(8) + _tree(1, b"fork")
    state = tmp_path / "w.db"
    Witness.init(state, "w", wkey).close()
    with Witness.open(state, wkey) as witness:
        witness.follow(ORIGIN, log.public_key)
        witness.add_checkpoint(_request(log, leaves, 0))
    # a second process (a restart): the head it cosigned is on disk
    code = f"""
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from creditledger.audit.witness import AddCheckpoint, Witness
from creditledger.crypto.keys import SigningKey
from creditledger.errors import WitnessConflictError
key = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32))
with Witness.open({str(state)!r}, key) as w:
    try:
        w.add_checkpoint(AddCheckpoint.parse(sys.stdin.read()))
    except WitnessConflictError as e:
        print("refused", e.latest_size)
    else:
        print("cosigned")
"""
    def run(request: AddCheckpoint) -> str:
        done = subprocess.run([sys.executable, "-c", code], input=request.format(),
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.strip()
    assert run(_request(log, fork, 9)) == "refused 9"
    assert run(_request(log, fork, 0)) == "refused 9"
    assert run(_request(log, leaves, 9)) == "cosigned"
    with Witness.open(state, wkey) as witness:
        assert [(f.size, f.root) for f in witness.logs()] == [
            (9, Checkpoint.parse(SignedNote.parse(_note(log, leaves)).text).root)]
    with pytest.raises(Exception, match="not this witness's key"):
        Witness.open(state, fixed_key(3))


# -- a split view, end to end ------------------------------------------------------------------


@dataclass
class Fork:
    bank: Bank
    fork: Path
    note: str  # the original's checkpoint
    fork_note: str  # the fork's: same size, another last event, signed by the same root


def _record(path: Path, bank: Bank, score: int) -> str:
    opened = CreditBank.open(path)
    try:
        opened.recognise_course_result(learner_id="S1", course_code="GG1001",
                                       term="2022-2023-1", score=Decimal(score),
                                       evidence=EVIDENCE, signer=bank.world.gzcc, today=TODAY)
    finally:
        opened.close()
    return publish_checkpoint(path, [bank.world.root]).note


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> Fork:
    directory = tmp_path_factory.mktemp("split")
    bank = build_bank(directory)
    fork = directory / "fork.ledger"
    with sqlite3.connect(bank.path) as source, sqlite3.connect(fork) as copy:
        source.backup(copy)
    note, fork_note = _record(bank.path, bank, 80), _record(fork, bank, 61)
    return Fork(bank, fork, note, fork_note)


def _witnesses(directory: Path, count: int) -> list[tuple[Path, Path, str]]:
    """Witness state files made with the CLI: (state, key file, verifier key)."""
    made = []
    for n in range(1, count + 1):
        key = directory / f"w{n}.pem"
        SigningKey.generate().save(key, PASSPHRASE.encode())
        state = directory / f"w{n}.db"
        result = cli("witness", "init", str(state), "--name", f"witness{n}.example",
                     "--key", str(key), env={"CREDITLEDGER_PASSPHRASE": PASSPHRASE})
        assert result.exit_code == 0, result.stderr
        made.append((state, key, result.stdout.strip()))
    return made


def test_a_split_view_is_refused_by_the_witnesses_and_fails_the_quorum(
        forked: Fork, tmp_path: Path) -> None:
    env = {"CREDITLEDGER_PASSPHRASE": PASSPHRASE}
    bank = forked.bank
    origin = SignedNote.parse(forked.note).text.decode().split("\n")[0]
    ledger_id = origin.removeprefix("creditledger.example/")
    assert origin == origin_for(ledger_id)
    size = int(forked.note.split("\n")[1])
    assert int(forked.fork_note.split("\n")[1]) == size and forked.note != forked.fork_note
    witnesses = _witnesses(tmp_path, 2)
    lines = []
    for n, (state, key, _) in enumerate(witnesses, 1):
        assert cli("witness", "follow", str(state), "--ledger-id", ledger_id, "--log-key",
                   str(bank.root_pub), "--key", str(key), env=env).exit_code == 0
        request = tmp_path / f"request{n}.txt"
        assert cli("witness", "request", str(bank.path), "--old-size", "0",
                   "-o", str(request)).exit_code == 0
        cosig = tmp_path / f"cosig{n}.txt"
        done = cli("witness", "add-checkpoint", str(state), str(request), "--key", str(key),
                   "-o", str(cosig), env=env)
        assert done.exit_code == 0, done.stderr
        lines.append(cosig)
        # the fork's checkpoint, same size: refused by every witness (exit 1, one line)
        fork_note = tmp_path / "fork.note"
        fork_note.write_text(forked.fork_note)
        fork_request = tmp_path / f"fork{n}.txt"
        assert cli("witness", "request", str(forked.fork), "--old-size", str(size),
                   "-o", str(fork_request)).exit_code == 0
        refused = cli("witness", "add-checkpoint", str(state), str(fork_request),
                      "--key", str(key), env=env)
        assert refused.exit_code == 1
        assert refused.stderr.count("\n") == 1 and "split view" in refused.stderr
        assert "Traceback" not in refused.stderr + refused.stdout
        stale = cli("witness", "add-checkpoint", str(state), str(request), "--key", str(key),
                    env=env)  # from size 0 again: not a refusal of the log, ask again from it
        assert stale.exit_code == 2 and f"latest size {size}" in stale.stderr
    keys = [v for _, _, v in witnesses]
    quorum = [arg for v in keys for arg in ("--witness", v)]
    # the original: cosigned by both, so its bundle meets a quorum of 2
    note_file, cosigned = tmp_path / "checkpoint", tmp_path / "cosigned"
    note_file.write_text(forked.note)
    assert cli("witness", "attach", str(note_file), *map(str, lines),
               "-o", str(cosigned)).exit_code == 0
    good = tmp_path / "good.json"
    assert cli("prove", str(bank.path), "--learner", "S1", "--checkpoint", str(cosigned),
               "-o", str(good)).exit_code == 0
    ok = cli("verify-bundle", str(good), "--root-key", str(bank.root_pub), *quorum,
             "--quorum", "2", "--max-age", "1h")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "cosigned by witnesses witness1.example" in ok.stdout
    # the fork: no witness cosigned it, so its bundle (validly signed by the root) fails
    bad = tmp_path / "fork.json"
    assert cli("prove", str(forked.fork), "--learner", "S1", "--checkpoint",
               str(tmp_path / "fork.note"), "-o", str(bad)).exit_code == 0
    assert cli("verify-bundle", str(bad), "--root-key", str(bank.root_pub)).exit_code == 0
    failed = cli("verify-bundle", str(bad), "--root-key", str(bank.root_pub), *quorum,
                 "--quorum", "1")
    assert failed.exit_code == 1
    assert "no-witness-quorum" in failed.stdout
    assert "no cosignature from witness1.example, witness2.example" in failed.stdout
    # the original's cosignatures pasted onto the fork's checkpoint do not verify
    pasted = tmp_path / "pasted.note"
    pasted.write_text(add_cosignatures(forked.fork_note, [p.read_text() for p in lines]))
    forged = tmp_path / "forged.json"
    assert cli("prove", str(forked.fork), "--learner", "S1", "--checkpoint", str(pasted),
               "-o", str(forged)).exit_code == 0
    result = cli("verify-bundle", str(forged), *quorum, "--quorum", "1")
    assert result.exit_code == 1 and "does not verify" in result.stdout


def test_old_cosignatures_do_not_count_past_the_maximum_age(forked: Fork, tmp_path: Path) -> None:
    wkey = fixed_key(5)
    witness = Witness.init(tmp_path / "w.db", "w", wkey)
    root_key = forked.bank.world.root.public_key
    witness.follow(SignedNote.parse(forked.note).checkpoint().origin, root_key)
    line = witness.add_checkpoint(checkpoint_request(forked.bank.path, 0), now=1_000_000)
    bundle = build_bundle(forked.bank.path, "S1", add_cosignatures(forked.note, [line]))
    policy = WitnessPolicy((witness.public,), 1, max_age=3600, now=1_000_000 + 3600)
    assert verify_bundle(bundle, root_key, policy).cosigned_by == {"w": 1_000_000}
    with pytest.raises(BundleVerificationError, match="older than 3600 s from w"):
        verify_bundle(bundle, root_key, WitnessPolicy((witness.public,), 1, 3600,
                                                      1_000_000 + 3601))
    path = tmp_path / "old.json"
    path.write_bytes(bundle.to_json())
    result = cli("verify-bundle", str(path), "--witness", witness.public.vkey(), "--max-age",
                 "1d")
    assert result.exit_code == 1 and "older than 86400 s" in result.stdout
    unusable = cli("verify-bundle", str(path), "--witness", "nonsense", "--quorum", "1")
    assert unusable.exit_code == 2 and unusable.stderr.startswith("error:")
    assert cli("verify-bundle", str(path), "--quorum", "1").exit_code == 2
    assert cli("verify-bundle", str(path), "--witness", witness.public.vkey(),
               "--max-age", "soon").exit_code == 2
    witness.close()
