"""A bundle carries what the offline check of the write policy needs for the events it holds, and
both verifiers check who wrote it: ``verify-bundle`` replays the whole policy, the standalone
verifier its rules for the learner's own records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from creditledger.audit.bundle import Bundle, build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.errors import BundleVerificationError
from tests.audit.helpers import standalone, write_json
from tests.policy.scenario import every_rule_ledger


@pytest.fixture(scope="module")
def a1_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle of A1, whose LNPC course result GZCC's registrar recorded by recognising
    LNPC's course certificate (then revoked)."""
    folder = tmp_path_factory.mktemp("bundles")
    world = every_rule_ledger(folder / "rules.ledger")
    world.bank.close()
    path = folder / "a1.json"
    path.write_bytes(build_bundle(folder / "rules.ledger", "A1").to_json())
    return path


def test_a_certificate_imported_result_carries_its_evidence_and_names_its_signer(
    a1_bundle: Path,
) -> None:
    bundle = Bundle.load(a1_bundle)
    assert {"account", "achievement", "evidence"} <= {a.role for a in bundle.aggregates}
    lines = verify_bundle(bundle).lines
    assert any("certified by LNPC" in line and "signed by GZCC (registrar GZCC-registrar)" in line
               for line in lines), lines
    result = standalone(str(a1_bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signed by GZCC (registrar GZCC-registrar)" in result.stdout


def without_evidence(data: dict[str, Any]) -> dict[str, Any]:
    """The bundle without its evidence, as format /1 (no head proofs: the write policy is what
    fails then; a /2 bundle without it fails completeness first, see below)."""
    kept = [a for a in data["aggregates"] if a["role"] != "evidence"]
    stripped = {**data, "aggregates": kept, "format": "creditledger-bundle/1"}
    del stripped["heads"]
    return stripped


def test_without_its_evidence_a_complete_bundle_fails_its_head_proofs_in_both_verifiers(
    a1_bundle: Path, tmp_path: Path,
) -> None:
    data = json.loads(a1_bundle.read_text(encoding="utf-8"))
    evidence = [a["originator_id"] for a in data["aggregates"] if a["role"] == "evidence"]
    stripped = write_json(tmp_path / "stripped.json", {**data, "aggregates": [
        a for a in data["aggregates"] if a["role"] != "evidence"]})
    with pytest.raises(BundleVerificationError, match="bad-index-proof") as failed:
        verify_bundle(Bundle.load(stripped))
    assert failed.value.fault.aggregate in evidence
    result = standalone(str(stripped))
    assert result.returncode == 1 and "bad-index-proof" in result.stdout, result.stdout


def test_without_its_evidence_the_result_is_an_unauthorised_write_in_both_verifiers(
    a1_bundle: Path, tmp_path: Path,
) -> None:
    stripped = write_json(tmp_path / "stripped.json",
                          without_evidence(json.loads(a1_bundle.read_text(encoding="utf-8"))))
    with pytest.raises(BundleVerificationError, match="unauthorised-write") as failed:
        verify_bundle(Bundle.load(stripped))
    assert "certified_by it names is 'LNPC'" in str(failed.value)
    result = standalone(str(stripped))
    assert result.returncode == 1 and "unauthorised-write" in result.stdout, result.stdout


def test_dropping_one_evidence_aggregate_with_its_head_proof_is_incomplete_in_both_verifiers(
    a1_bundle: Path, tmp_path: Path,
) -> None:
    """Evidence names evidence: the recognition its certificate, the certificate its alliance
    and its status-list entry. Each one dropped together with its head proof (which rule 5
    would otherwise catch) is an incomplete bundle, not an intact one, in both verifiers."""
    data = json.loads(a1_bundle.read_text(encoding="utf-8"))
    evidence = [a for a in data["aggregates"] if a["role"] == "evidence"]
    assert len(evidence) >= 3
    dropped_any_named = False
    for gone in evidence:
        oid = gone["originator_id"]
        cut = {**data, "aggregates": [a for a in data["aggregates"] if a is not gone],
               "heads": [h for h in data["heads"] if h["originator_id"] != oid]}
        path = write_json(tmp_path / f"minus-{oid}.json", cut)
        result = standalone(str(path))
        try:
            verify_bundle(Bundle.load(path))
        except BundleVerificationError as e:
            kind = e.fault.kind.value
        else:
            kind = "intact"
        assert kind != "intact" and result.returncode == 1, (oid, result.stdout)
        assert kind in result.stdout.split(":")[1], (kind, result.stdout)
        if kind == "incomplete-aggregate":
            dropped_any_named = True
            assert f"evidence {oid}" in result.stdout
    assert dropped_any_named
