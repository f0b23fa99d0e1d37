"""Data Integrity EdDSA proofs against the current W3C vc-di-eddsa test vectors (vendored in
tests/data/vc-di-eddsa): both cryptosuites reproduce the vectors' canonical forms and exact
signatures, verify them, and refuse a proof without @context, a changed byte, another key."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from creditledger.audit.vc import contexts
from creditledger.audit.vc.integrity import (
    JCS,
    RDFC,
    create_proof,
    hash_data,
    jcs,
    nquads,
    verify_proof,
)
from creditledger.crypto import did
from creditledger.crypto.keys import SigningKey
from creditledger.errors import InvalidCredentialError

VECTORS = Path(__file__).resolve().parents[1] / "data" / "vc-di-eddsa"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
SUITES = {RDFC: "DataInt", JCS: "JCS"}


def loader(url: str, options: Any = None) -> dict[str, Any]:
    """The package's contexts, and the examples context the vectors use."""
    if url == EXAMPLES:
        document = json.loads((VECTORS / "credentials-examples-v2.jsonld").read_text())
        return {"contextUrl": None, "documentUrl": url, "document": document}
    return contexts.document_loader(url, options)


def vector(name: str) -> Any:
    text = (VECTORS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text


def vector_key() -> SigningKey:
    raw = did.b58decode(vector("keyPair.json")["privateKeyMultibase"][1:])
    assert raw[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return SigningKey(Ed25519PrivateKey.from_private_bytes(raw[2:]))


def signed(suite: str) -> dict[str, Any]:
    document: dict[str, Any] = vector(f"signed{SUITES[suite]}.json")
    return document


def unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


@pytest.mark.parametrize("suite", [RDFC, JCS])
def test_the_canonical_forms_are_the_vectors(suite: str) -> None:
    document = signed(suite)
    options = {k: v for k, v in document["proof"].items() if k != "proofValue"}
    config = vector(f"proofConfig{SUITES[suite]}.json")
    canonical = (lambda d: nquads(d, loader)) if suite == RDFC else jcs
    assert canonical(unsecured(document)).decode() == vector(f"canonDoc{SUITES[suite]}.txt")
    assert canonical(config).decode() == vector(f"proofCanon{SUITES[suite]}.txt")
    assert {**options, "@context": document["@context"]} == config
    assert len(hash_data(unsecured(document), options, suite, loader)) == 64


@pytest.mark.parametrize("suite", [RDFC, JCS])
def test_signing_the_vector_reproduces_its_proof_exactly(suite: str) -> None:
    document = signed(suite)
    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    proof = create_proof(vector("unsigned.json"), vector_key(), created=created,
                         cryptosuite=suite, loader=loader)
    assert proof == document["proof"]


@pytest.mark.parametrize("suite", [RDFC, JCS])
def test_the_vectors_verify_with_the_key_their_method_names(suite: str) -> None:
    document = signed(suite)
    key = verify_proof(unsecured(document), document["proof"], loader=loader)
    assert did.verification_method(key) == document["proof"]["verificationMethod"]


def _no_context(document: dict[str, Any]) -> None:
    document["proof"].pop("@context", None)


def _changed_byte(document: dict[str, Any]) -> None:
    document["credentialSubject"]["alumniOf"] = "The School of Examplez"


def _another_key(document: dict[str, Any]) -> None:
    other = did.verification_method(SigningKey.generate().public_key)
    document["proof"]["verificationMethod"] = other


def _flipped_signature(document: dict[str, Any]) -> None:
    value = document["proof"]["proofValue"]
    document["proof"]["proofValue"] = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]


def _options_changed(document: dict[str, Any]) -> None:
    document["proof"]["created"] = "2023-02-24T23:36:39Z"


TAMPERS = {"changed byte": _changed_byte, "another key": _another_key,
           "flipped signature": _flipped_signature, "proof options changed": _options_changed}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=list(TAMPERS))
@pytest.mark.parametrize("suite", [RDFC, JCS])
def test_a_changed_vector_fails(suite: str, tamper: Any) -> None:
    document = copy.deepcopy(signed(suite))
    tamper(document)
    with pytest.raises(InvalidCredentialError):
        verify_proof(unsecured(document), document["proof"], loader=loader)


def test_a_jcs_proof_without_its_context_fails() -> None:
    document = copy.deepcopy(signed(JCS))
    _no_context(document)
    with pytest.raises(InvalidCredentialError, match="does not match"):
        verify_proof(unsecured(document), document["proof"], loader=loader)


def test_a_context_not_shipped_is_never_fetched() -> None:
    document = {**vector("unsigned.json"), "@context": [
        "https://www.w3.org/ns/credentials/v2", "https://example.org/evil-context"]}
    with pytest.raises(InvalidCredentialError, match="fetches nothing"):
        create_proof(document, vector_key(), created=datetime.now(UTC))


def test_the_shipped_files_are_the_ones_their_readme_names() -> None:
    data = Path(contexts.__file__).parent / "data"
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", (data / "README.md").read_text(), re.M)
    assert len(listed) == 4  # three contexts and 1EdTech's Open Badges 3.0 schema
    for digest, name in listed:
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == digest, name
    manifest = json.loads((data / "manifest.json").read_text())
    for folder, entries in manifest.items():
        for url, name in entries.items():
            assert (data / folder / name).is_file(), url


def test_the_open_badges_schema_resolves_its_refs_under_its_own_id() -> None:
    """1EdTech's file names itself ``…-jsonschema1.json``, not the URL credentials name; its
    ``$ref``s (all local) resolve against that ``$id`` in the shipped registry, offline."""
    from referencing.exceptions import Unresolvable

    from creditledger.audit.vc import schemas

    definition = contexts.schema(contexts.OB_SCHEMA)
    assert definition["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    own = definition["$id"]
    assert own.endswith("/ob_v3p0_achievementcredential-jsonschema1.json")
    resolver = schemas._registry().resolver()
    assert resolver.lookup(f"{own}#/$defs/Proof").contents == definition["$defs"]["Proof"]
    assert resolver.lookup(f"{contexts.OB_SCHEMA}#/$defs/Proof").contents == \
        definition["$defs"]["Proof"]
    with pytest.raises(Unresolvable, match=r"example\.org"):
        resolver.lookup("https://example.org/elsewhere.json")
