"""The standalone verifier demands witness cosignatures as ``verify-bundle --witness --quorum
--max-age`` does: same verdict, same fault, same exit code, on the same bundles."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from creditledger.audit.bundle import build_bundle
from creditledger.audit.cosigning import checkpoint_request
from creditledger.audit.witness import Witness
from creditledger.crypto.cosignature import add_cosignatures
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.note import SignedNote
from tests.audit.helpers import cli, standalone
from tests.audit.test_witness import Fork, forked  # noqa: F401 (the fixture)


def _cosigned(fork: Fork, directory: Path, now: int) -> tuple[list[str], list[str]]:
    """Three witnesses following the ledger; w1 cosigns now, w2 two hours ago, w3 never.
    Returns their verifier keys and the cosignature lines of w1 and w2."""
    keys, lines = [], []
    for n, stamp in ((1, now), (2, now - 7200), (3, None)):
        witness = Witness.init(directory / f"w{n}.db", f"w{n}.example", SigningKey.generate())
        witness.follow(SignedNote.parse(fork.note).checkpoint().origin,
                       fork.bank.world.root.public_key)
        if stamp is not None:
            lines.append(witness.add_checkpoint(checkpoint_request(fork.bank.path, 0), stamp))
        keys.append(witness.public.vkey())
        witness.close()
    return keys, lines


def both(path: Path, *args: str) -> tuple[int, str]:
    """Run both verifiers; they must agree on the exit code; return it and the standalone's
    output."""
    ours = cli("verify-bundle", str(path), *args)
    theirs = standalone(str(path), *args)
    assert ours.exit_code == theirs.returncode, (ours.stdout, theirs.stdout, theirs.stderr)
    return theirs.returncode, theirs.stdout + theirs.stderr


@pytest.fixture(scope="module")
def witnessed(forked: Fork, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
              ) -> tuple[Path, Path, list[str]]:
    directory = tmp_path_factory.mktemp("standalone-witness")
    keys, (line1, line2) = _cosigned(forked, directory, int(time.time()))
    good = directory / "good.json"
    good.write_bytes(build_bundle(forked.bank.path, "S1",
                                  add_cosignatures(forked.note, [line1, line2])).to_json())
    name, blob = line1.split(" ")[1:3]
    raw = bytearray(base64.b64decode(blob))
    raw[4:12] = (int.from_bytes(raw[4:12], "big") - 1).to_bytes(8, "big")  # signed time moved
    moved = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    altered = directory / "altered.json"
    altered.write_bytes(build_bundle(forked.bank.path, "S1",
                                     add_cosignatures(forked.note, [moved])).to_json())
    return good, altered, keys


def test_a_quorum_met_passes_in_both_verifiers(
        witnessed: tuple[Path, Path, list[str]]) -> None:
    good, _, (k1, k2, _) = witnessed
    code, out = both(good, "--witness", k1, "--witness", k2)
    assert code == 0 and "cosigned by witnesses w1.example" in out and "w2.example" in out


@pytest.mark.parametrize(("chosen", "extra", "reason"), [
    ((0, 2), (), "no cosignature from w3.example"),
    ((0, 1), ("--max-age", "1h"), "cosignatures older than 3600 s from w2.example"),
])
def test_a_quorum_not_met_fails_in_both_verifiers_with_the_same_reason(
        witnessed: tuple[Path, Path, list[str]], chosen: tuple[int, int],
        extra: tuple[str, ...], reason: str) -> None:
    good, _, keys = witnessed
    args = [a for i in chosen for a in ("--witness", keys[i])]
    code, out = both(good, *args, *extra)
    assert code == 1 and "no-witness-quorum" in out and reason in out
    code, _ = both(good, *args, *extra, "--quorum", "1")
    assert code == 0


def test_a_cosignature_altered_after_signing_fails_in_both_verifiers(
        witnessed: tuple[Path, Path, list[str]]) -> None:
    _, altered, keys = witnessed
    code, out = both(altered, "--witness", keys[0])
    assert code == 1 and "the cosignature of w1.example does not verify" in out


@pytest.mark.parametrize("args", [
    ("--witness", "nonsense"), ("--quorum", "1"), ("--witness", "KEY", "--quorum", "2"),
    ("--witness", "KEY", "--max-age", "soon"), ("--witness",),
])
def test_witness_options_that_make_no_sense_are_unusable_in_both_verifiers(
        witnessed: tuple[Path, Path, list[str]], args: tuple[str, ...]) -> None:
    good, _, keys = witnessed
    code, out = both(good, *(keys[0] if a == "KEY" else a for a in args))
    assert code == 2 and "Traceback" not in out
