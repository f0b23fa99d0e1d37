"""The verifier page checks transcript bundles in headless Chromium as ``verify-bundle`` does:
a good bundle passes, each tampered one fails on the check its fault belongs to, with the same
fault as the Python verifier, and the page asks for nothing but itself."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from creditledger.audit.bundle import build_bundle
from creditledger.crypto.keys import SigningKey
from tests.audit.helpers import Bank, cli
from tests.audit.test_bundle import TAMPERS
from tests.page.browser import PageSession
from tests.page.conftest import needs_chromium, write_json

pytestmark = needs_chromium
DOCS = Path(__file__).resolve().parents[2] / "docs"

CHECK_OF_FAULT = {
    "root-key-mismatch": "root-key", "bad-checkpoint": "checkpoint",
    "hash-mismatch": "event-hashes", "not-covered-by-checkpoint": "inclusion",
    "bad-inclusion-proof": "inclusion", "missing-commit": "commit-lists",
    "not-in-commit": "commit-lists", "unknown-key": "signatures", "bad-signature": "signatures",
    "aggregate-version-gap": "chains", "incomplete-transcript": "transcript",
    "wrong-learner": "transcript", "incomplete-aggregate": "completeness",
    "stale-checkpoint": "checkpoint",
    "bad-index-proof": "completeness",
}
"""Which named check on the page each fault of the tamper set fails."""


def python_verdict(path: Path, *root_key: str) -> dict[str, Any]:
    result = cli("verify-bundle", str(path), "--json", *root_key)
    verdict: dict[str, Any] = json.loads(result.stdout)
    verdict["exit"] = result.exit_code
    return verdict


def only_itself(session: PageSession) -> None:
    assert session.requests and set(session.requests) == {session.url}, session.requests


def test_a_good_bundle_is_intact_but_not_anchored_until_the_root_key_is_pinned(
    session: PageSession, bank: Bank, bundle_file: Path,
) -> None:
    session.requests.clear()
    shown = session.check(bundle_file)
    assert shown.verdict == "unanchored" and shown.fault is None
    # every check passes; the witness check runs only when witness keys are given
    assert len(shown.checks) == 11 and shown.checks.pop("witnesses") == "skip"
    assert set(shown.checks.values()) == {"pass"}
    assert "each up to its head" in shown.details["completeness"]
    assert "NOT pinned" in shown.details["root-key"]
    assert "完好但未锚定" in shown.text and "intact but NOT anchored" in shown.text
    # the transcript: the learner, the course in force, the revoked one, credits per category
    # the learner's name is sealed in the ledger (issue 17): the page names the learner by id
    assert "陈晓敏" not in shown.text and "personal data sealed" in shown.text
    assert "智能财税实务" in shown.text
    assert "已撤销 REVOKED" in shown.text
    categories = session.page.locator("#categories").inner_text()
    assert "专业核心 major core\t4.00" in categories and "major basic" not in categories
    python = python_verdict(bundle_file)
    assert python["exit"] == 0 and python["intact"] and not python["root_key_pinned"]

    pinned = session.check(bundle_file, root_key=bank.root_pub.read_text())
    assert pinned.verdict == "intact" and "(pinned)" in pinned.details["root-key"]
    assert python_verdict(bundle_file, "--root-key", str(bank.root_pub))["root_key_pinned"]
    only_itself(session)


def test_a_wrongly_pinned_root_key_fails_the_root_key_check_as_in_python(
    session: PageSession, bundle_file: Path, tmp_path: Path,
) -> None:
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(SigningKey.generate().public_key.to_base64())
    shown = session.check(bundle_file, root_key=stranger.read_text())
    python = python_verdict(bundle_file, "--root-key", str(stranger))
    assert python["exit"] == 1 and python["fault"]["kind"] == "root-key-mismatch"
    assert shown.verdict == "tampered" and shown.fault == "root-key-mismatch"
    assert shown.failed == ["root-key"]
    assert set(shown.checks.values()) == {"fail", "skip"}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_each_tampered_bundle_fails_the_right_check_with_pythons_fault(
    case: str, session: PageSession, bank: Bank, bundle_file: Path, tmp_path: Path,
) -> None:
    tamper, kind = TAMPERS[case]
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    tamper(data, json.loads(build_bundle(bank.path, "S2").to_json()))
    path = write_json(tmp_path / "tampered.json", data)
    python = python_verdict(path)
    assert python["exit"] == 1 and python["fault"]["kind"] == kind
    session.requests.clear()
    shown = session.check(path)
    assert (shown.verdict, shown.fault) == ("tampered", kind), shown.details
    assert shown.failed == [CHECK_OF_FAULT[kind]]
    assert "TAMPERED" in shown.text and "核验失败" in shown.text
    assert not session.page.locator("#achievements").count()  # no transcript of a bad bundle
    only_itself(session)


def test_conversions_and_exemptions_show_with_their_sources(
    session: PageSession, tmp_path: Path,
) -> None:
    from creditledger.audit.checkpoints import publish_checkpoint
    from tests.services.transfers.builders import certificate_rule
    from tests.services.transfers.world import TODAY, make_world

    world = make_world(tmp_path / "t.ledger")
    world.publish(certificate_rule())
    cert = world.certificate()
    world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    world.bank.close()
    publish_checkpoint(world.path, [world.keys["root"]])
    path = tmp_path / "t.json"
    path.write_bytes(build_bundle(world.path, "S1").to_json())
    shown = session.check(path, root_key=world.keys["root"].public_key.to_base64())
    assert shown.verdict == "intact" and python_verdict(path)["exit"] == 0
    conversions = session.page.locator("#conversions").inner_text()
    assert "KJ2103" in conversions and "免修 exempt, 4.00 credits" in conversions
    assert "智能财税（中级） (ISSUER, 4.00 credits)" in conversions
    assert "rule cert v1" in conversions


@pytest.mark.parametrize(("text", "exit_code"), [("学分 {not json", 2),
                                                 ('{"format": "creditledger-bundle/1"}', 2)])
def test_unusable_input_says_so_as_the_cli_exits_2(
    text: str, exit_code: int, session: PageSession, tmp_path: Path,
) -> None:
    path = tmp_path / "input.json"
    path.write_text(text, encoding="utf-8")
    assert cli("verify-bundle", str(path)).exit_code == exit_code
    shown = session.check(path)
    assert shown.verdict == "unusable" and "error:" in shown.text


def test_a_dropped_file_is_checked_like_a_chosen_one(
    session: PageSession, bundle_file: Path,
) -> None:
    session.requests.clear()
    session.page.goto(session.url)
    data = list(bundle_file.read_bytes())
    transfer = session.page.evaluate_handle(
        """bytes => { const t = new DataTransfer();
                      t.items.add(new File([new Uint8Array(bytes)], "s1.json"));
                      return t; }""", data)
    session.page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    shown = session.outcome()
    assert shown.verdict == "unanchored" and shown.checks.pop("witnesses") == "skip"
    assert set(shown.checks.values()) == {"pass"}
    only_itself(session)


def test_the_request_log_would_see_a_request_the_page_made(session: PageSession) -> None:
    """The no-network assertions above can fail: a request the page makes is logged, and
    refused (by the page's Content-Security-Policy, else by the test's route)."""
    session.page.goto(session.url)
    session.requests.clear()
    refused = session.page.evaluate(
        "fetch('https://example.org/x').then(() => 'fetched', e => 'refused: ' + e)")
    assert refused.startswith("refused")
    image = session.page.evaluate(
        """() => new Promise(done => { const i = new Image(); i.onerror = () => done('refused');
                                      i.onload = () => done('loaded');
                                      i.src = 'http://127.0.0.1:9/p.png'; })""")
    assert image == "refused"
    assert "http://127.0.0.1:9/p.png" in session.requests + session.blocked


def test_screenshots_of_both_outcomes(
    session: PageSession, bank: Bank, bundle_file: Path, tmp_path: Path,
) -> None:
    """docs/verifier-page-intact.png and docs/verifier-page-tampered.png (written there when
    CREDITLEDGER_SCREENSHOTS is set): a pinned, intact bundle and one with a changed event."""
    intact = session.check(bundle_file, root_key=bank.root_pub.read_text())
    assert intact.verdict == "intact"
    shots = {"intact": session.page.screenshot(full_page=True)}
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    TAMPERS["state byte"][0](data, {})
    tampered = session.check(write_json(tmp_path / "tampered.json", data),
                             root_key=bank.root_pub.read_text())
    assert tampered.failed == ["event-hashes"]
    shots["tampered"] = session.page.screenshot(full_page=True)
    for name, shot in shots.items():
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("CREDITLEDGER_SCREENSHOTS"):
            (DOCS / f"verifier-page-{name}.png").write_bytes(shot)


def test_a_bundle_that_lists_an_event_twice_is_unusable_as_in_python(
    session: PageSession, bundle_file: Path, tmp_path: Path,
) -> None:
    bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
    bundle["registry"].append(bundle["registry"][0])  # a copy of the genesis
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    assert cli("verify-bundle", str(path)).exit_code == 2
    shown = session.check(path)
    assert shown.verdict == "unusable" and "listed twice" in shown.text


def test_a_bundle_without_completeness_proofs_is_intact_but_not_proven_complete(
    session: PageSession, bank: Bank, bundle_file: Path, tmp_path: Path,
) -> None:
    """A format-1 bundle (made before the index of heads) proves each event but not that none
    was left out: the page says so, as verify-bundle's exit 3 does, and never says "intact"."""
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    data["format"] = "creditledger-bundle/1"
    del data["heads"]
    old = write_json(tmp_path / "old.json", data)
    shown = session.check(old, root_key=bank.root_pub.read_text())
    assert shown.verdict == "unproven" and shown.fault is None
    assert shown.checks["completeness"] == "skip" and "NOT proven complete" in shown.text
    python = python_verdict(old, "--root-key", str(bank.root_pub))
    assert python["exit"] == 3
    unpinned = session.check(old)
    assert unpinned.verdict == "unanchored" and "NOT proven complete" in unpinned.text
    # a format-2 bundle whose head proofs are dropped is not one: unusable, as in Python
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    del data["heads"]
    assert session.check(write_json(tmp_path / "cut.json", data)).verdict == "unusable"
    assert cli("verify-bundle", str(tmp_path / "cut.json")).exit_code == 2


def test_a_newer_checkpoint_held_makes_an_older_bundle_stale_as_in_python(
    session: PageSession, tmp_path: Path,
) -> None:
    """As verify-bundle --checkpoint: a bundle proven against an older checkpoint than one the
    user holds is stale; a held checkpoint of the same size must be the same text."""
    from creditledger.audit.checkpoints import publish_checkpoint
    from creditledger.crypto.heads import heads_line
    from creditledger.crypto.note import Checkpoint, SignedNote, sign_checkpoint
    from tests.audit.helpers import build_bank

    bank = build_bank(tmp_path)  # its own: a newer checkpoint is published on it
    old = tmp_path / "old.json"
    old.write_bytes(build_bundle(bank.path, "S1").to_json())
    note = json.loads(old.read_text())["checkpoint"]
    newer = tmp_path / "newer.txt"
    newer.write_text(publish_checkpoint(bank.path, [bank.world.root]).note)
    root = bank.root_pub.read_text()
    stale = session.check(old, root, held=newer.read_text())
    python = python_verdict(old, "--root-key", str(bank.root_pub), "--checkpoint", str(newer))
    assert python["exit"] == 1 and python["fault"]["kind"] == "stale-checkpoint"
    assert stale.fault == "stale-checkpoint" and stale.failed == ["checkpoint"]
    shown = SignedNote.parse(note).checkpoint()
    forked = sign_checkpoint(Checkpoint(shown.origin, shown.size, shown.root,
                                        (heads_line(bytes(32)),)), [bank.world.root])
    split = session.check(old, root, held=forked)
    assert split.fault == "bad-checkpoint" and "split view" in split.details["checkpoint"]
    same = session.check(old, root, held=note)
    assert same.verdict == "intact" and same.fault is None
    other = session.check(old, root, held="not a checkpoint")
    assert other.verdict == "unusable"


def test_a_heads_line_with_trailing_text_and_a_second_absence_proof_fail_as_in_python(
    session: PageSession, bank: Bank, bundle_file: Path, tmp_path: Path,
) -> None:
    from creditledger.crypto.note import Checkpoint, SignedNote, sign_checkpoint

    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    shown = SignedNote.parse(data["checkpoint"]).checkpoint()
    line = next(x for x in shown.extensions if x.startswith("creditledger-heads/1 "))
    data["checkpoint"] = sign_checkpoint(
        Checkpoint(shown.origin, shown.size, shown.root, (line + " extra",)), [bank.world.root])
    junk = write_json(tmp_path / "junk.json", data)
    twice_data = json.loads(bundle_file.read_text(encoding="utf-8"))
    twice_data["heads"] += [p for p in twice_data["heads"] if p["version"] == 0][:1]
    twice = write_json(tmp_path / "twice.json", twice_data)
    for path in (junk, twice):
        page = session.check(path)
        python = python_verdict(path)
        assert python["exit"] == 1 and python["fault"]["kind"] == "bad-index-proof"
        assert page.fault == "bad-index-proof" and page.failed == ["completeness"]


def test_dropping_one_evidence_aggregate_fails_on_the_page_as_in_python(
    session: PageSession, tmp_path: Path,
) -> None:
    from tests.policy.scenario import every_rule_ledger

    path = tmp_path / "rules.ledger"
    every_rule_ledger(path).bank.close()
    data = json.loads(build_bundle(path, "A1").to_json())
    evidence = [a for a in data["aggregates"] if a["role"] == "evidence"]
    assert len(evidence) >= 3
    whole = session.check(write_json(tmp_path / "a1.json", data))
    assert whole.fault is None
    for gone in evidence:
        oid = gone["originator_id"]
        cut = write_json(tmp_path / f"minus-{oid}.json", {
            **data, "aggregates": [a for a in data["aggregates"] if a is not gone],
            "heads": [h for h in data["heads"] if h["originator_id"] != oid]})
        python = python_verdict(cut)
        shown = session.check(cut)
        assert python["exit"] == 1 and shown.fault == python["fault"]["kind"], (oid, python)
