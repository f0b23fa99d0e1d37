"""The verifier page demands witness cosignatures as ``verify-bundle --witness --quorum
--max-age`` does (C2SP tlog-cosignature): a quorum met passes, a witness that did not cosign,
a cosignature too old, and one pasted from another checkpoint fail with the CLI's fault."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from creditledger.audit.bundle import build_bundle
from creditledger.audit.checkpoints import recorded_checkpoints
from creditledger.audit.cosigning import checkpoint_request
from creditledger.audit.witness import Witness
from creditledger.crypto.cosignature import add_cosignatures
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.note import SignedNote
from creditledger.store.readers import open_reader
from tests.audit.helpers import Bank
from tests.page.browser import PageSession
from tests.page.conftest import needs_chromium
from tests.page.test_page_bundles import python_verdict

pytestmark = needs_chromium


def _last_note(bank: Bank) -> str:
    with open_reader(bank.path) as reader:
        return recorded_checkpoints(reader, reader.ledger_id())[-1].note


def _witness(directory: Path, name: str, note: str, bank: Bank, now: int) -> tuple[Witness, str]:
    """A witness following the bank's log, and its cosignature line on ``note`` at ``now``."""
    witness = Witness.init(directory / f"{name}.db", name, SigningKey.generate())
    witness.follow(SignedNote.parse(note).checkpoint().origin, bank.world.root.public_key)
    line = witness.add_checkpoint(checkpoint_request(bank.path, 0), now=now)
    return witness, line


@pytest.fixture(scope="module")
def cosigned(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A bundle whose checkpoint two witnesses cosigned (one now, one 2 hours ago), another
    whose checkpoint carries a cosignature altered after signing, and the witnesses' verifier
    keys (the third never cosigned)."""
    directory = tmp_path_factory.mktemp("witnessed")
    note, now = _last_note(bank), int(time.time())
    w1, line1 = _witness(directory, "w1.example", note, bank, now)
    w2, line2 = _witness(directory, "w2.example", note, bank, now - 7200)
    never = Witness.init(directory / "w3.db", "w3.example", SigningKey.generate())
    good = directory / "good.json"
    good.write_bytes(build_bundle(bank.path, "S1", add_cosignatures(note, [line1, line2]))
                     .to_json())
    # w1's line with its timestamp moved back an hour: its signature no longer verifies
    name, blob = line1.split(" ")[1:3]
    raw = bytearray(base64.b64decode(blob))
    raw[4:12] = (now - 3600).to_bytes(8, "big")
    moved = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    pasted = directory / "pasted.json"
    pasted.write_bytes(build_bundle(bank.path, "S1", add_cosignatures(note, [moved])).to_json())
    keys = [w.public.vkey() for w in (w1, w2, never)]
    for w in (w1, w2, never):
        w.close()
    return good, pasted, keys


def test_a_quorum_of_cosignatures_passes_the_witness_check_as_in_python(
    session: PageSession, bank: Bank, cosigned: tuple[Path, Path, list[str]],
) -> None:
    good, _, (k1, k2, _) = cosigned
    shown = session.check(good, bank.root_pub.read_text(), witnesses=f"{k1}\n{k2}")
    assert shown.fault is None and shown.checks["witnesses"] == "pass"
    assert "w1.example" in shown.details["witnesses"] and "w2.example" in shown.details["witnesses"]
    python = python_verdict(good, "--root-key", str(bank.root_pub), "--witness", k1,
                            "--witness", k2)
    assert python["exit"] == 0
    without = session.check(good, bank.root_pub.read_text())
    assert without.checks["witnesses"] == "skip" and without.fault is None


@pytest.mark.parametrize(("which", "quorum", "max_age", "reason"), [
    ((0, 2), "", "", "no cosignature from w3.example"),
    ((0, 1), "", "1h", "cosignatures older than 3600 s from w2.example"),
])
def test_a_quorum_not_met_fails_the_witness_check_with_the_clis_fault(
    session: PageSession, bank: Bank, cosigned: tuple[Path, Path, list[str]],
    which: tuple[int, int], quorum: str, max_age: str, reason: str,
) -> None:
    good, _, keys = cosigned
    chosen = [keys[i] for i in which]
    shown = session.check(good, bank.root_pub.read_text(), witnesses="\n".join(chosen),
                          quorum=quorum, max_age=max_age)
    args = [a for k in chosen for a in ("--witness", k)]
    args += ["--max-age", max_age] if max_age else []
    python = python_verdict(good, "--root-key", str(bank.root_pub), *args)
    assert python["exit"] == 1 and python["fault"]["kind"] == "no-witness-quorum"
    assert shown.verdict == "tampered" and shown.fault == "no-witness-quorum"
    assert shown.failed == ["witnesses"] and reason in shown.details["witnesses"]
    assert reason in python["fault"]["detail"]
    one = session.check(good, bank.root_pub.read_text(), witnesses="\n".join(chosen), quorum="1",
                        max_age=max_age)
    assert one.fault is None and one.checks["witnesses"] == "pass"


def test_a_cosignature_whose_time_was_changed_does_not_verify(
    session: PageSession, cosigned: tuple[Path, Path, list[str]],
) -> None:
    _, pasted, keys = cosigned
    shown = session.check(pasted, witnesses=keys[0])
    python = python_verdict(pasted, "--witness", keys[0])
    assert python["exit"] == 1
    assert python["fault"]["kind"] == "no-witness-quorum"
    assert "does not verify" in python["fault"]["detail"]
    assert shown.verdict == "tampered" and shown.fault == "no-witness-quorum"
    assert "the cosignature of w1.example does not verify" in shown.details["witnesses"]


def test_witness_settings_that_make_no_sense_are_refused_as_unusable(
    session: PageSession, bank: Bank, cosigned: tuple[Path, Path, list[str]],
) -> None:
    good, _, keys = cosigned
    for settings in ({"witnesses": "nonsense"}, {"quorum": "1"},
                     {"witnesses": keys[0], "quorum": "2"},
                     {"witnesses": keys[0], "max_age": "soon"}):
        shown = session.check(good, **settings)
        assert shown.verdict == "unusable", settings
