"""A learner's record exported as a CLR 2.0 ``ClrCredential`` (``CreditBank.export_clr``),
through the standard verifiers of interop/verify.mjs: Digital Bazaar's ``vc`` and the DCC's
``verifier-core`` verify the CLR's proof, and each credential in it on its own (neither library
looks into ``verifiableCredential``: creditledger's ``verify_clr`` does); ajv validates every
credential against creditledger's extension schema.

The CLR names 1EdTech's CLR schema only, which no registry ships: the harness's ajv reports it
not shipped, and verifier-core's schema step (it would fetch the schemas) answers
``INVALID_SCHEMA - possibly not a valid url``. Offline, the same for the Open Badges schema and
the draft-07 meta-schema of the credentials.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from creditledger.audit.vc.contexts import CLR_SCHEMA, EXTENSION_SCHEMA, OB_SCHEMA
from tests.interop.test_standard_verifiers import _node, explain, run_harness
from tests.services.test_clr import make_record

NOT_SHIPPED = frozenset({CLR_SCHEMA, OB_SCHEMA, "http://json-schema.org/draft-07/schema"})
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
    assert by_url[OB_SCHEMA]["valid"] is False and "not shipped" in \
        by_url[OB_SCHEMA]["errors"][0]

