"""The alliance's course certificates (document version 2) and their revocation lists, as the
library issues them, through the standard verifiers of interop/verify.mjs: Digital Bazaar's
``vc`` and the DCC's ``verifier-core`` accept the issuer's proof and read the status bit, and
ajv validates them against 1EdTech's Open Badges 3.0 schema (draft 2019-09, shipped in the
package) and creditledger's extension schema; a certificate off the Open Badges schema fails
there, whatever its proofs.

The seal is the second proof of the proof set: a valid Data Integrity proof, which the VC
libraries do not count for the credential because its key is not the issuer's (their rule: a
proof set verifies when the issuer's proof does); creditledger's own verifier requires both.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from creditledger.audit import credential
from creditledger.audit.vc.contexts import EXTENSION_SCHEMA, OB_SCHEMA
from tests.interop.test_standard_verifiers import _node, explain, run_harness
from tests.services.alliance.world import make_world

META_SCHEMAS = frozenset({"http://json-schema.org/draft-07/schema"})
"""What verifier-core's own schema step asks for and the harness refuses (offline): the
draft-07 meta-schema of creditledger's schema (1EdTech's Open Badges schema it is served)."""


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    node = _node()
    folder = tmp_path_factory.mktemp("certificates")
    world = make_world(folder / "alliance.ledger")
    try:
        offering = world.offer()
        kept = world.passed(offering.id, world.learner("HNAT-2022-0107", "HNAT"), "HNAT")
        revoked = world.passed(offering.id, world.learner("HNAT-2022-0108", "HNAT"), "HNAT")
        documents = {"kept": world.bank.export_course_certificate(kept),
                     "revoked": world.bank.export_course_certificate(revoked)}
        documents["off-schema"] = off_schema(documents["kept"], world)
        world.bank.revoke_course_certificate(revoked, reason="fraud", note="代考",
                                             signer=world.key("CQAT"))
        lists = world.bank.status_lists(world.key("CQAT"))
    finally:
        world.bank.close()
    assert len(lists) == 1
    return run_harness(node, folder, documents, lists, may_refuse=META_SCHEMAS)


@pytest.mark.parametrize(("name", "revoked"), [("kept", False), ("revoked", True)])
def test_digital_bazaar_accepts_the_certificate_and_reads_its_status(
        verdicts: dict[str, dict[str, Any]], name: str, revoked: bool) -> None:
    result = verdicts[name]["digitalbazaar"]
    assert result["verified"] is True, explain(result)
    issuer_proof, seal = result["proofs"]
    assert issuer_proof["verified"] is True, explain(result)
    assert seal["verified"] is False and "issuer" in seal["error"], explain(result)
    assert result["status"] == {"checked": True, "revoked": revoked, "error": None}


@pytest.mark.parametrize(("name", "revoked"), [("kept", False), ("revoked", True)])
def test_verifier_core_accepts_the_signature_and_reads_the_status(
        verdicts: dict[str, dict[str, Any]], name: str, revoked: bool) -> None:
    result = verdicts[name]["dcc"]
    steps = {step["id"]: step["valid"] for step in result.get("log", [])}
    assert steps.get("valid_signature") is True, explain(result)
    assert steps.get("expiration") is True, explain(result)
    assert steps.get("revocation_status") is (not revoked), explain(result)


def off_schema(document: dict[str, Any], world: Any) -> dict[str, Any]:
    """The certificate with a result status Open Badges does not define, signed again by the
    school and the secretariat: its proofs verify, only 1EdTech's schema can refuse it."""
    unsigned = copy.deepcopy({k: v for k, v in document.items() if k != "proof"})
    unsigned["credentialSubject"]["result"][0]["status"] = "Passed"
    now = datetime.now(UTC)
    return credential.assemble(unsigned, [
        credential.sign_proof(unsigned, world.key("CQAT"), proof_id="urn:p:1", created=now),
        credential.sign_proof(unsigned, world.key("ESVEA-SEC"), proof_id="urn:p:2",
                              created=now)])


@pytest.mark.parametrize("name", ["kept", "revoked"])
def test_ajv_validates_them_against_the_open_badges_and_extension_schemas(
        verdicts: dict[str, dict[str, Any]], name: str) -> None:
    by_url = {s["schema"]: s for s in verdicts[name]["schemas"]}
    assert sorted(by_url) == sorted([OB_SCHEMA, EXTENSION_SCHEMA])
    assert by_url[OB_SCHEMA] == {"schema": OB_SCHEMA, "valid": True, "errors": []}
    assert by_url[EXTENSION_SCHEMA]["valid"] is True, json.dumps(by_url)


def test_ajv_refuses_a_certificate_off_the_open_badges_schema(
        verdicts: dict[str, dict[str, Any]]) -> None:
    result = verdicts["off-schema"]
    assert result["digitalbazaar"]["verified"] is True, explain(result)  # signed again
    by_url = {s["schema"]: s for s in result["schemas"]}
    assert by_url[EXTENSION_SCHEMA]["valid"] is True, json.dumps(by_url)
    assert by_url[OB_SCHEMA]["valid"] is False
    assert by_url[OB_SCHEMA]["errors"][0].startswith(
        "/credentialSubject/result/0/status must be equal to one of the allowed values"), \
        json.dumps(by_url)
