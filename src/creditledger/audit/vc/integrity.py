"""W3C Data Integrity EdDSA proofs (vc-di-eddsa): the cryptosuites ``eddsa-rdfc-2022`` and
``eddsa-jcs-2022``, made and checked exactly as the specification says.

- ``eddsa-rdfc-2022`` (what creditledger signs with): the document without its proofs and the
  proof configuration (the proof's options with the document's ``@context``) are canonicalised
  with RDF Dataset Canonicalization (RDFC-1.0, by pyld, every context from the package); the
  proof placed in the document carries no ``@context``.
- ``eddsa-jcs-2022``: the same with the JSON Canonicalization Scheme (RFC 8785, by ``rfc8785``);
  the proof placed in the document carries the document's ``@context``, and a verifier rebuilds
  the configuration from the proof alone.

Either way the Ed25519 signature covers ``SHA-256(canonical configuration) ||
SHA-256(canonical document)``, and the key is named by a ``did:key`` verification method.
Several proofs on one document form a *proof set*: each signs the document without any proof.

Certificates creditledger issued before (``eddsa-jcs-2022`` proofs without ``@context`` whose
configuration took the document's) are still checked, as :data:`LEGACY_JCS`, and only when the
caller says the document is one of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785
from pyld import jsonld

from creditledger.audit.vc.contexts import document_loader
from creditledger.crypto import did
from creditledger.crypto.keys import InvalidSignature, PublicKey, SigningKey
from creditledger.errors import InvalidCredentialError

RDFC = "eddsa-rdfc-2022"
JCS = "eddsa-jcs-2022"
LEGACY_JCS = "eddsa-jcs-2022 (creditledger's form before 2026-12: no @context in the proof)"
PROOF_TYPE = "DataIntegrityProof"
ASSERTION = "assertionMethod"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Loader = Callable[[str, Any], dict[str, Any]]


def create_proof(unsecured: Mapping[str, Any], key: SigningKey, *, created: datetime,
                 cryptosuite: str = RDFC, proof_id: str | None = None,
                 loader: Loader = document_loader) -> dict[str, Any]:
    """A proof of ``unsecured`` (the document without ``proof``) by ``key``, as it is placed in
    the document's ``proof`` (a proof set: append it to the others)."""
    options: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": cryptosuite,
                               "created": created.astimezone(UTC).strftime(TIME_FORMAT),
                               "verificationMethod": did.verification_method(key.public_key),
                               "proofPurpose": ASSERTION}
    if proof_id is not None:
        options = {"id": proof_id, **options}
    if cryptosuite == JCS and "@context" in unsecured:
        options["@context"] = unsecured["@context"]  # vc-di-eddsa 3.3.1 step 2
    elif cryptosuite not in (RDFC, JCS):
        raise ValueError(f"cannot sign with cryptosuite {cryptosuite!r}")
    data = hash_data(unsecured, options, cryptosuite, loader)
    return {**options, "proofValue": "z" + did.b58encode(key.sign(data))}


def verify_proof(unsecured: Mapping[str, Any], proof: Mapping[str, Any], *,
                 legacy: bool = False, loader: Loader = document_loader) -> PublicKey:
    """Check one proof over ``unsecured``; return the key that made it. Raises
    :class:`InvalidCredentialError` saying what is wrong. ``legacy`` also accepts
    :data:`LEGACY_JCS` proofs (for a document the caller knows is one of those)."""
    suite = proof.get("cryptosuite")
    if proof.get("type") != PROOF_TYPE or suite not in (RDFC, JCS):
        raise InvalidCredentialError(f"a {proof.get('type')!r} proof with cryptosuite "
                                     f"{suite!r}: expected a DataIntegrityProof, {RDFC} or {JCS}")
    key = _key(proof.get("verificationMethod"))
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidCredentialError("proofValue is not multibase base58btc ('z...')")
    try:
        signature = did.b58decode(value[1:])
    except did.InvalidDidError as e:
        raise InvalidCredentialError(f"proofValue: {e}") from None
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    document = _with_proof_context(unsecured, options) if suite == JCS else unsecured
    if suite == JCS and "@context" not in options and legacy:
        options["@context"] = unsecured.get("@context")
    try:
        key.verify(signature, hash_data(document, options, str(suite), loader))
    except InvalidSignature:
        raise InvalidCredentialError(
            f"the {suite} signature by {key.key_id} does not match: the document was changed "
            "after it was signed, or the proof was made with another key") from None
    return key


def hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any], cryptosuite: str,
              loader: Loader = document_loader) -> bytes:
    """``SHA-256(canonical proof configuration) || SHA-256(canonical document)``."""
    config = dict(options)
    if cryptosuite == RDFC:
        config["@context"] = unsecured.get("@context")  # vc-di-eddsa 3.2.5 step 4
        parts = (nquads(config, loader), nquads(unsecured, loader))
    else:
        parts = (jcs(config), jcs(unsecured))
    return b"".join(hashlib.sha256(part).digest() for part in parts)


def nquads(document: Mapping[str, Any], loader: Loader = document_loader) -> bytes:
    """RDF Dataset Canonicalization (RDFC-1.0) of a JSON-LD document, as N-Quads.

    In *safe mode*, as Data Integrity requires: a property no context defines, or a type that
    is no absolute IRI, is refused, never dropped (a dropped property would not be signed, so
    it could be changed without breaking the signature)."""
    dropped: list[str | None] = []
    try:
        expanded = jsonld.expand(dict(document), {"documentLoader": loader},
                                 on_property_dropped=dropped.append)
        if dropped:
            raise InvalidCredentialError(f"a property no context defines ({dropped[0]!r}) "
                                         "would not be signed")
        _absolute_types(expanded)
        text = jsonld.normalize(expanded, {"algorithm": "URDNA2015",
                                           "format": "application/n-quads",
                                           "documentLoader": loader})
    except jsonld.JsonLdError as e:
        raise InvalidCredentialError(f"not canonical JSON-LD: {_cause(e)}") from None
    return str(text).encode("utf-8")


def _absolute_types(expanded: Any) -> None:
    """Refuse a ``@type`` that is no absolute IRI (a term no context defines)."""
    stack = [expanded]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for value in item.get("@type", []) if isinstance(item.get("@type"), list) else []:
                if not isinstance(value, str) or ":" not in value:
                    raise InvalidCredentialError(f"the type {value!r} is defined by no context")
            stack.extend(v for k, v in item.items() if k not in ("@type", "@value"))


def jcs(value: Mapping[str, Any]) -> bytes:
    """The JSON Canonicalization Scheme (RFC 8785) bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:
        raise InvalidCredentialError(f"no JCS form: {e}") from None


def _with_proof_context(unsecured: Mapping[str, Any], options: Mapping[str, Any]
                        ) -> Mapping[str, Any]:
    """vc-di-eddsa 3.3.2 steps 3-4: the proof's @context must start the document's."""
    if "@context" not in options:
        return unsecured
    wanted, have = options["@context"], unsecured.get("@context")
    wanted_list = wanted if isinstance(wanted, list) else [wanted]
    have_list = have if isinstance(have, list) else [have]
    if have_list[:len(wanted_list)] != wanted_list:
        raise InvalidCredentialError("the proof's @context does not start the document's")
    return {**unsecured, "@context": wanted}


def _key(method: object) -> PublicKey:
    try:
        return did.key_of_method(method)
    except did.InvalidDidError as e:
        raise InvalidCredentialError(str(e)) from None


def _cause(error: BaseException) -> str:
    """The innermost message of pyld's nested errors (our own refusal, when it is one)."""
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, InvalidCredentialError):
        return error.reason
    return str(error).split("\n")[0]


def created_at(proof: Mapping[str, Any]) -> datetime:
    """When a proof says it was made (``created``, a UTC time such as 2022-07-10T08:00:00Z)."""
    try:
        return datetime.strptime(str(proof.get("created")), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidCredentialError(f"created {proof.get('created')!r} is not a UTC time "
                                     "like 2022-07-10T08:00:00Z") from None
