"""A learner's record exported as a CLR 2.0 ``ClrCredential`` (``CreditBank.export_clr``),
through the standard verifiers of interop/verify.mjs: Digital Bazaar's ``vc`` and the DCC's
``verifier-core`` verify the CLR's proof, and each credential in it on its own (neither library
looks into ``verifiableCredential``: creditledger's ``verify_clr`` does); ajv validates every
credential against 1EdTech's Open Badges 3.0 schema (shipped) and creditledger's extension
schema, and refuses a credential written as CLRs were before that schema was shipped (a single
proof object, a bare date as ``activityEndDate``).

The CLR names 1EdTech's CLR schema only, which could not be obtained: the harness's ajv reports
it not shipped, and verifier-core's schema step (it would fetch the schemas) answers
``INVALID_SCHEMA - possibly not a valid url``. Offline, the same for the draft-07 meta-schema
of the credentials.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from creditledger.audit.vc.contexts import CLR_SCHEMA, EXTENSION_SCHEMA, OB_SCHEMA
from creditledger.audit.vc.integrity import create_proof
from creditledger.crypto.keys import SigningKey
from tests.interop.test_standard_verifiers import _node, explain, run_harness
from tests.services.test_clr import VALID_FROM, make_record

NOT_SHIPPED = frozenset({CLR_SCHEMA, "http://json-schema.org/draft-07/schema"})
"""What verifier-core's schema step asks for and the harness refuses (offline)."""
CREDENTIALS = 10


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    node = _node()
    folder = tmp_path_factory.mktemp("clr")
    record = make_record(folder / "bank.ledger")
    try:
        document = record.document
        changed = copy.deepcopy(document)
        changed["credentialSubject"]["verifiableCredential"][0]["credentialSubject"][
            "creditsEarned"] = 40
        documents = {"clr": document, "clr-changed": changed}
        held = document["credentialSubject"]["verifiableCredential"]
        documents.update({f"credential-{i}": c for i, c in enumerate(held)})
        dated = next(c for c in held if "activityEndDate" in c["credentialSubject"])
        documents["old-form"] = old_form(dated, record.world.gzcc)
        assert len(held) == CREDENTIALS
        yield run_harness(node, folder, documents, [], may_refuse=NOT_SHIPPED)
    finally:
        record.world.bank.close()


def credentials() -> list[str]:
    return [f"credential-{i}" for i in range(CREDENTIALS)]


@pytest.mark.parametrize("name", ["clr", *credentials()])
def test_digital_bazaar_verifies_the_clr_and_each_credential(
        verdicts: dict[str, dict[str, Any]], name: str) -> None:
    result = verdicts[name]["digitalbazaar"]
    assert result["verified"] is True, explain(result)
    assert [p["verified"] for p in result["proofs"]] == [True], explain(result)
    assert [p["cryptosuite"] for p in result["proofs"]] == ["eddsa-rdfc-2022"]


@pytest.mark.parametrize("name", ["clr", *credentials()])
def test_verifier_core_verifies_the_clr_and_each_credential(
        verdicts: dict[str, dict[str, Any]], name: str) -> None:
    result = verdicts[name]["dcc"]
    assert result["verified"] is True, explain(result)
    steps = {step["id"]: step["valid"] for step in result["log"]}
    assert steps == {"valid_signature": True, "expiration": True,
                     "registered_issuer": False}, explain(result)  # no registry given
    assert result["schemaCheck"] == "INVALID_SCHEMA - possibly not a valid url", explain(result)


@pytest.mark.parametrize("verifier", ["digitalbazaar", "dcc"])
def test_a_changed_credential_breaks_the_clrs_proof(verdicts: dict[str, dict[str, Any]],
                                                    verifier: str) -> None:
    result = verdicts["clr-changed"][verifier]
    assert result["verified"] is False and result["error"], explain(result)


def test_the_clr_names_only_1edtechs_schema_which_is_not_shipped(
        verdicts: dict[str, dict[str, Any]]) -> None:
    (schema,) = verdicts["clr"]["schemas"]
    assert schema["schema"] == CLR_SCHEMA and schema["valid"] is False
    assert "not shipped" in schema["errors"][0]


@pytest.mark.parametrize("name", credentials())
def test_ajv_validates_each_credential_against_the_extension_schema(
        verdicts: dict[str, dict[str, Any]], name: str) -> None:
    by_url = {s["schema"]: s for s in verdicts[name]["schemas"]}
    assert by_url[EXTENSION_SCHEMA]["valid"] is True, json.dumps(by_url)
    assert by_url[OB_SCHEMA] == {"schema": OB_SCHEMA, "valid": True, "errors": []}


def old_form(held: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """A credential of the CLR as CLRs were written before 1EdTech's Open Badges schema was
    shipped: one proof object, and a bare date as ``activityEndDate``; signed again."""
    unsigned = copy.deepcopy({k: v for k, v in held.items() if k != "proof"})
    subject = unsigned["credentialSubject"]
    subject["activityEndDate"] = subject["activityEndDate"].removesuffix("T00:00:00Z")
    return {**unsigned, "proof": create_proof(unsigned, key, created=VALID_FROM)}


def test_ajv_refuses_a_credential_written_the_old_way(
        verdicts: dict[str, dict[str, Any]]) -> None:
    result = verdicts["old-form"]
    assert result["digitalbazaar"]["verified"] is True, explain(result)  # VC 2.0 allows it
    by_url = {s["schema"]: s for s in result["schemas"]}
    assert by_url[EXTENSION_SCHEMA]["valid"] is True, json.dumps(by_url)
    assert by_url[OB_SCHEMA]["valid"] is False
    assert sorted(by_url[OB_SCHEMA]["errors"]) == [
        '/credentialSubject/activityEndDate must match format "date-time" '
        '{"format":"date-time"}',
        '/proof must be array {"type":"array"}'], json.dumps(by_url)

