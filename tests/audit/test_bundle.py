"""``prove`` and ``verify-bundle`` on a real credit bank, and the standalone verifier's verdicts."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creditledger.audit.bundle import Bundle, build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import BundleVerificationError
from creditledger.store.format import link_hash
from tests.services.bank.fixtures import KEK

from .helpers import Bank, build_bank, cli, other_key, standalone, write_json

Tamper = Callable[[dict[str, Any], dict[str, Any]], None]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    return build_bank(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def bundle_file(bank: Bank) -> Path:
    out = bank.path.parent / "s1.json"
    result = cli("prove", str(bank.path), "--learner", "S1", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def other_bundle(bank: Bank) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(build_bundle(bank.path, "S2").to_json())
    return data


def _flip(text: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _account(b: dict[str, Any]) -> dict[str, Any]:
    account: dict[str, Any] = b["aggregates"][0]
    assert account["role"] == "account"
    return account


def _rehash(event: dict[str, Any]) -> None:
    link = (event["position"], event["commit_seq"], event["originator_id"],
            event["originator_version"], event["topic"], base64.b64decode(event["state"]),
            base64.b64decode(event["prev_hash"]), base64.b64decode(event["prev_aggregate_hash"]))
    event["hash"] = base64.b64encode(link_hash(link)).decode()


def _edit_state(b: dict[str, Any], _: dict[str, Any]) -> None:
    event = _account(b)["events"][0]
    event["state"] = base64.b64encode(base64.b64decode(event["state"]).replace(
        b'"530302"', b'"530303"')).decode()  # the learner's programme


def _edit_state_and_hash(b: dict[str, Any], _: dict[str, Any]) -> None:
    _edit_state(b, _)
    _rehash(_account(b)["events"][0])


def _edit_proof(b: dict[str, Any], _: dict[str, Any]) -> None:
    proof = b["aggregates"][1]["events"][0]["proof"]
    proof[-1] = _flip(proof[-1])


def _edit_checkpoint_root(b: dict[str, Any], _: dict[str, Any]) -> None:
    lines = b["checkpoint"].split("\n")
    lines[2] = _flip(lines[2], 5)
    b["checkpoint"] = "\n".join(lines)


def _edit_signature(b: dict[str, Any], _: dict[str, Any]) -> None:
    b["commits"][-1]["signature"] = _flip(b["commits"][-1]["signature"], 7)


def _remove_middle_event(b: dict[str, Any], _: dict[str, Any]) -> None:
    del _account(b)["events"][1]


def _remove_last_event(b: dict[str, Any], _: dict[str, Any]) -> None:
    del _account(b)["events"][-1]  # the Reversed entry: the revocation would be hidden


def _remove_achievement(b: dict[str, Any], _: dict[str, Any]) -> None:
    del b["aggregates"][1]


def _swap_events(b: dict[str, Any], _: dict[str, Any]) -> None:
    events = _account(b)["events"]
    events[1], events[2] = events[2], events[1]


def _swap_root_key(b: dict[str, Any], _: dict[str, Any]) -> None:
    b["root_key"] = base64.b64encode(other_key().public_key.raw).decode()


def _other_learners_achievement(b: dict[str, Any], other: dict[str, Any]) -> None:
    b["aggregates"][1] = other["aggregates"][1]
    b["commits"] = b["commits"] + [c for c in other["commits"]
                                   if c["seq"] not in {x["seq"] for x in b["commits"]}]


def _claim_other_learner(b: dict[str, Any], _: dict[str, Any]) -> None:
    b["learner_id"] = "S2"


def _drop_commit(b: dict[str, Any], _: dict[str, Any]) -> None:
    seq = _account(b)["events"][1]["commit_seq"]
    b["commits"] = [c for c in b["commits"] if c["seq"] != seq]


def _edit_commit_statement(b: dict[str, Any], _: dict[str, Any]) -> None:
    seq = _account(b)["events"][1]["commit_seq"]
    commit = next(c for c in b["commits"] if c["seq"] == seq)
    commit["event_hashes"][-1] = _flip(commit["event_hashes"][-1])


def _drop_signer_registration(b: dict[str, Any], _: dict[str, Any]) -> None:
    b["registry"] = [e for e in b["registry"]
                     if "GZCC" not in base64.b64decode(e["state"]).decode()]


def _beyond_checkpoint(b: dict[str, Any], _: dict[str, Any]) -> None:
    lines = b["checkpoint"].split("\n")  # the event claims a position after the checkpoint
    event = _account(b)["events"][0]
    event["position"] = int(lines[1]) + 5
    _rehash(event)


TAMPERS: dict[str, tuple[Tamper, str]] = {
    "state byte": (_edit_state, "hash-mismatch"),
    "state byte and its hash": (_edit_state_and_hash, "bad-inclusion-proof"),
    "proof element": (_edit_proof, "bad-inclusion-proof"),
    "checkpoint root": (_edit_checkpoint_root, "bad-checkpoint"),
    "commit signature": (_edit_signature, "bad-signature"),
    "commit statement": (_edit_commit_statement, "not-in-commit"),
    "missing commit": (_drop_commit, "missing-commit"),
    "event removed": (_remove_middle_event, "aggregate-version-gap"),
    "events reordered": (_swap_events, "aggregate-version-gap"),
    "last event removed": (_remove_last_event, "incomplete-aggregate"),
    "achievement removed": (_remove_achievement, "incomplete-aggregate"),
    "root key swapped": (_swap_root_key, "bad-checkpoint"),
    "signer's key registration removed": (_drop_signer_registration, "unknown-key"),
    "another learner's achievement": (_other_learners_achievement, "incomplete-aggregate"),
    "another learner claimed": (_claim_other_learner, "incomplete-aggregate"),
    "event beyond the checkpoint": (_beyond_checkpoint, "not-covered-by-checkpoint"),
}


def test_a_bundle_verifies_offline_and_says_whose_root_key_it_trusts(
    bank: Bank, bundle_file: Path,
) -> None:
    for run in (lambda *a: cli("verify-bundle", *a), standalone):
        unpinned = run(str(bundle_file))
        code = getattr(unpinned, "returncode", getattr(unpinned, "exit_code", None))
        assert code == 0, unpinned.stdout
        assert "intact" in unpinned.stdout and "NOT pinned" in unpinned.stdout
        assert "智能财税实务" in unpinned.stdout and "REVOKED" in unpinned.stdout
        pinned = run(str(bundle_file), "--root-key", str(bank.root_pub))
        assert "intact" in pinned.stdout and "(pinned)" in pinned.stdout
    report = verify_bundle(Bundle.load(bundle_file), bank.world.root.public_key)
    assert report.learner_id == "S1" and report.root_key_pinned
    assert report.events == 4 + 2 + 1  # account: opened, 2 credited, reversed; the achievements


def test_a_bundle_holds_only_the_learners_events_and_public_registry_entries(
    bundle_file: Path,
) -> None:
    text = bundle_file.read_text(encoding="utf-8")
    bundle = Bundle.load(bundle_file)
    states = [base64.b64decode(e) for e in json.loads(text)["aggregates"][0]["events"][0:1]
              for e in [e["state"]]]
    # the learner's own name is only sealed in the Opened event (data minimisation)
    assert b'"personal_data":"sealed:v2:' in states[0]
    assert "陈晓敏".encode() not in text.encode() and b"440101200301011234" not in text.encode()
    everything = b"".join(e.state for a in bundle.aggregates for e in a.events) + \
        b"".join(e.state for e in bundle.registry)
    # other learners appear nowhere (ids as JSON strings: base64 keys may contain "M1")
    for other in ("黄志强", "刘美华", '"S2"', '"M1"'):
        assert other.encode() not in everything
    assert {a.role for a in bundle.aggregates} == {"account", "achievement"}
    topics = {e.topic.rsplit(".", 1)[1] for e in bundle.registry}
    # the genesis commit (with its policy), and GZCC signed every learner commit
    assert topics == {"Genesis", "PolicyDeclared", "KeyRegistered"}

"""A bundle of format /2 is checked for completeness (its head proofs) before its transcript:
so a bundle missing events, or holding another learner's, is first incomplete. In format /1,
which has no head proofs, the transcript checks name the same tampering:"""
TAMPERS_V1: dict[str, tuple[Tamper, str]] = {
    "last event removed": (_remove_last_event, "incomplete-transcript"),
    "achievement removed": (_remove_achievement, "incomplete-transcript"),
    "another learner's achievement": (_other_learners_achievement, "wrong-learner"),
    "another learner claimed": (_claim_other_learner, "wrong-learner"),
}


def _as_format_1(tamper: Tamper) -> Tamper:
    def tampered(b: dict[str, Any], other: dict[str, Any]) -> None:
        b["format"] = "creditledger-bundle/1"
        del b["heads"]
        other.pop("heads", None)
        tamper(b, other)
    return tampered


TAMPERS_BOTH = {**TAMPERS, **{f"{case} (format /1)": (_as_format_1(tamper), kind)
                              for case, (tamper, kind) in TAMPERS_V1.items()}}


@pytest.mark.parametrize("case", sorted(TAMPERS_BOTH))
def test_tampering_with_any_part_fails_with_the_same_verdict_in_both_verifiers(
    case: str, bundle_file: Path, other_bundle: dict[str, Any], tmp_path: Path,
) -> None:
    tamper, kind = TAMPERS_BOTH[case]
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    tamper(data, copy.deepcopy(other_bundle))
    path = write_json(tmp_path / "tampered.json", data)
    ours = cli("verify-bundle", str(path))
    assert ours.exit_code == 1, ours.output
    assert ours.stdout.startswith("TAMPERED") and kind in ours.stdout, ours.stdout
    theirs = standalone(str(path))
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    assert theirs.stdout.startswith("TAMPERED") and kind in theirs.stdout, theirs.stdout
    with pytest.raises(BundleVerificationError) as raised:
        verify_bundle(Bundle.load(path))
    assert raised.value.fault.kind.value == kind


def test_pinning_another_root_key_fails_in_both_verifiers(bundle_file: Path,
                                                           tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(SigningKey.generate().public_key.to_base64())
    for result in (cli("verify-bundle", str(bundle_file), "--root-key", str(stranger)),
                   standalone(str(bundle_file), "--root-key", str(stranger))):
        assert "root-key-mismatch" in result.stdout
    with pytest.raises(BundleVerificationError):
        verify_bundle(Bundle.load(bundle_file), PublicKey(SigningKey.generate().public_key.raw))


BAD_INPUT = {
    "missing file": None,
    "not JSON": "学分 {not json",
    "wrong format": json.dumps({"format": "creditledger-head/1"}),
    "no format": json.dumps([1, 2, 3]),
    "malformed bundle": json.dumps({"format": "creditledger-bundle/1", "ledger_id": 5}),
    "bad base64": None,
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_unusable_input_exits_2_with_one_error_line_in_both_verifiers(
    case: str, bundle_file: Path, tmp_path: Path,
) -> None:
    path = tmp_path / "input.json"
    if case == "bad base64":
        data = json.loads(bundle_file.read_text(encoding="utf-8"))
        data["commits"][0]["signature"] = "@@@"
        write_json(path, data)
    elif BAD_INPUT[case] is not None:
        path.write_text(str(BAD_INPUT[case]), encoding="utf-8")
    ours = cli("verify-bundle", str(path))
    theirs = standalone(str(path))
    for code, stderr in ((ours.exit_code, ours.stderr), (theirs.returncode, theirs.stderr)):
        assert code == 2, (case, stderr)
        assert stderr.startswith("error:") and stderr.count("\n") == 1, stderr
        assert "Traceback" not in stderr


def test_prove_refuses_what_it_cannot_prove(bank: Bank, tmp_path: Path) -> None:
    unknown = cli("prove", str(bank.path), "--learner", "NOBODY")
    assert unknown.exit_code == 2 and "NOBODY" in unknown.stderr
    missing = cli("prove", str(tmp_path / "none.ledger"), "--learner", "S1")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    stranger = SigningKey.generate()
    from creditledger.crypto.note import Checkpoint, sign_checkpoint

    forged = tmp_path / "forged.txt"
    forged.write_text(sign_checkpoint(Checkpoint("creditledger.example/x", 1, bytes(32)),
                                      [stranger]), encoding="utf-8")
    bad = cli("prove", str(bank.path), "--learner", "S1", "--checkpoint", str(forged))
    assert bad.exit_code == 2 and bad.stderr.startswith("error:")


def test_prove_without_a_checkpoint_asks_for_one_and_notes_later_events(tmp_path: Path) -> None:
    bank = build_bank(tmp_path)
    fresh = tmp_path / "fresh.ledger"
    from tests.services.bank.fixtures import make_world

    world = make_world(fresh)
    world.bank.close()
    none = cli("prove", str(fresh), "--learner", "S1")
    assert none.exit_code == 2 and "no checkpoint" in none.stderr
    from decimal import Decimal

    from creditledger.services.bank import CreditBank
    from tests.services.bank.fixtures import EVIDENCE, TODAY

    credit_bank = CreditBank.open(bank.path, kek=KEK)
    credit_bank.recognise_course_result(learner_id="S1", course_code="GG1001", term="2022-2023-1",
                                        score=Decimal(75), evidence=EVIDENCE,
                                        signer=bank.world.gzcc, today=TODAY)
    credit_bank.close()
    old = cli("prove", str(bank.path), "--learner", "S1", "-o", str(tmp_path / "old.json"))
    assert old.exit_code == 0 and "later events of S1" in old.stderr
    publish_checkpoint(bank.path, [bank.world.root])
    new = cli("prove", str(bank.path), "--learner", "S1", "-o", str(tmp_path / "new.json"))
    assert new.exit_code == 0 and "later events" not in new.stderr
    assert len(Bundle.load(tmp_path / "new.json").aggregates) == 4
    assert standalone(str(tmp_path / "new.json")).returncode == 0


def test_a_learner_with_conversions_gets_the_transfer_ledger_too(tmp_path: Path) -> None:
    from tests.services.transfers.builders import certificate_rule
    from tests.services.transfers.world import TODAY, make_world

    world = make_world(tmp_path / "t.ledger")
    world.publish(certificate_rule())
    cert = world.certificate()
    world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    world.bank.close()
    publish_checkpoint(world.path, [world.keys["root"]])
    bundle = build_bundle(world.path, "S1")
    assert [a.role for a in bundle.aggregates] == ["account", "achievement", "transfers"]
    path = tmp_path / "t.json"
    path.write_bytes(bundle.to_json())
    assert verify_bundle(Bundle.load(path)).events == sum(len(a.events)
                                                          for a in bundle.aggregates)
    assert standalone(str(path)).returncode == 0
