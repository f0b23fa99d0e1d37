"""The electronic course certificate (电子课程合格证书) as a portable Open Badges 3.0 credential:
building it, signing it, and checking it, check by named check.

Certificates are issued as document version 2 (:mod:`creditledger.audit.vc.certificate`):
the offering school's ``did:key`` is the issuer, its proof and the alliance secretariat's seal
are a proof set of ``eddsa-rdfc-2022`` Data Integrity proofs, the extension terms have a
context and a schema, and ``credentialStatus`` points into the issuer's revocation list.
Certificates issued before are version 1 (:mod:`creditledger.audit.vc.legacy`) and keep
verifying. :func:`verify_credential` reports what it checked, by name: the document's shape,
its schemas, each proof, the issuer binding, the keys (against trusted keys or a ledger), and
its status (against the ledger, or a status list). See ``docs/alliance.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import msgspec

from creditledger.audit.documents import read_document
from creditledger.audit.vc import certificate as v2
from creditledger.audit.vc import legacy as v1
from creditledger.audit.vc import schemas, shape, status
from creditledger.audit.vc.certificate import identity_hash, number, urn
from creditledger.audit.vc.integrity import (
    RDFC,
    create_proof,
    created_at,
    jcs,
    verify_proof,
)
from creditledger.crypto import did
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain.alliance.values import CertificateFacts, CertificateProof
from creditledger.errors import InvalidCredentialError, ValidationError
from creditledger.store.registry import KeyRegistry

__all__ = ["identity_hash", "number", "urn"]


class ProofRole(StrEnum):
    """Who made a proof: the offering school (开课学校) or the secretariat's seal (联盟公章)."""

    OFFERING_SCHOOL = "offering school"
    SECRETARIAT = "alliance secretariat"


# -- the document ----------------------------------------------------------------------------


def credential_document(certificate_id: UUID, facts: CertificateFacts) -> dict[str, Any]:
    """The unsigned credential of a certificate, in its document version."""
    if facts.document_version == 1:
        return v1.certificate_document(certificate_id, facts)
    return v2.certificate_document(certificate_id, facts)


def sign_proof(document: Mapping[str, Any], key: SigningKey, *, proof_id: str,
               created: datetime, previous: Sequence[CertificateProof] = ()
               ) -> CertificateProof:
    """A proof of ``document`` (unsigned) by ``key``: for version 2, an ``eddsa-rdfc-2022``
    proof of a proof set; for version 1, the seal chained to ``previous`` (the school's)."""
    if v1.is_version_1(document):
        if not previous:
            raise ValueError("a version 1 certificate is issued no more: only its seal is made")
        return v1.sign_seal(document, key, proof_id=proof_id,
                            created=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            school_proof=proof_json(previous[-1]))
    proof = create_proof(document, key, created=created, cryptosuite=RDFC, proof_id=proof_id)
    return CertificateProof(id=proof_id, created=proof["created"],
                            verification_method=proof["verificationMethod"],
                            proof_value=proof["proofValue"], cryptosuite=RDFC)


def proof_json(proof: CertificateProof) -> dict[str, Any]:
    """A stored proof as it appears in the document."""
    out = {"id": proof.id, "type": "DataIntegrityProof", "cryptosuite": proof.cryptosuite,
           "created": proof.created, "verificationMethod": proof.verification_method,
           "proofPurpose": "assertionMethod", "proofValue": proof.proof_value}
    if proof.previous_proof is not None:
        out["previousProof"] = proof.previous_proof
    return out


def assemble(document: Mapping[str, Any], proofs: Sequence[CertificateProof]) -> dict[str, Any]:
    """The document with its proofs: the school's, then the seal."""
    return {**document, "proof": [proof_json(p) for p in proofs]}


def canonical_json(value: Any) -> bytes:
    """The JCS (RFC 8785) bytes of ``value``; :class:`InvalidCredentialError` if it has none."""
    return jcs(value)


def dumps(document: Mapping[str, Any]) -> bytes:
    """The file form of a credential: its canonical JSON (so every byte is significant)."""
    return jcs(document)


def digest(document: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical document, proofs included."""
    return hashlib.sha256(jcs(document)).hexdigest()


def parse_credential(data: bytes | str) -> dict[str, Any]:
    """Read a credential file strictly (see :func:`creditledger.audit.documents.read_document`:
    UTF-8 JSON, an object, no duplicate keys, no NaN, bounded nesting)."""
    try:
        return read_document(data, "document")
    except ValidationError as e:
        problem = e.problem.replace("the JSON is not an object",
                                   "not a credential: the JSON is not an object")
        raise InvalidCredentialError(problem) from None


# -- who may have signed ---------------------------------------------------------------------


class KeyTrust(Protocol):
    """Who may have made a proof: raises :class:`InvalidCredentialError` for a key it does not
    trust in that role. ``description`` says, in the report, how keys were trusted;
    ``anchored`` whether every proof's key was checked against something the verifier trusts
    (a ledger, or a key given for that role) rather than taken from the document."""

    description: str
    anchored: bool

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None: ...


class EmbeddedKeys:
    """Trust whatever keys the document names: proves integrity, not who signed."""

    description = ("trusted the keys embedded in the document (did:key): this shows the "
                   "document is unchanged since signing, not who signed it")
    anchored = False

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None:
        return None


class RoleKeys:
    """Trust the given public key in its own role only: the offering school's key for its
    proof, the secretariat's for the seal. A role given no key is not anchored."""

    def __init__(self, *, school: PublicKey | None = None,
                 secretariat: PublicKey | None = None) -> None:
        self.keys = {ProofRole.OFFERING_SCHOOL: school, ProofRole.SECRETARIAT: secretariat}
        self.anchored = school is not None and secretariat is not None
        self.description = "; ".join(
            f"{role.value}: the given key {key.key_id}" if key is not None else
            f"{role.value}: NOT anchored (no key given; the document's own key was used)"
            for role, key in self.keys.items())

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None:
        expected = self.keys[role]
        if expected is not None and key != expected:
            raise InvalidCredentialError(
                f"the {role.value}'s proof was made with key {key.key_id}, not with the "
                f"given {role.value} key {expected.key_id}")


class LedgerKeys:
    """Trust the keys a ledger's registry gives each role: a key of the offering school for
    its proof, of the secretariat for the seal, each registered and not revoked when it
    signed."""

    def __init__(self, registry: KeyRegistry, *, school: str, secretariat: str) -> None:
        self.registry = registry
        self.principals = {ProofRole.OFFERING_SCHOOL: school, ProofRole.SECRETARIAT: secretariat}
        self.description = (f"checked against the ledger's key registry (offering school "
                            f"{school}, secretariat {secretariat})")
        self.anchored = True

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None:
        principal = self.principals[role]
        entry = self.registry.entries.get(key.key_id)
        if entry is None or entry.principal != principal:
            raise InvalidCredentialError(f"the {role.value}'s proof was made with key "
                                         f"{key.key_id}, which is not registered to {principal}")
        revoked_at = self.registry.revoked.get(key.key_id)
        valid_from = entry.valid_from.replace(microsecond=0)  # ``created`` has whole seconds
        if created < valid_from or (revoked_at is not None and created >= revoked_at):
            raise InvalidCredentialError(f"the {role.value}'s key {key.key_id} was not valid "
                                         f"at {created.isoformat()}")


# -- what a check finds ----------------------------------------------------------------------


class Check(msgspec.Struct, frozen=True):
    """One named check and what it found."""

    name: str
    result: str


class VerifiedProof(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    key_id: str
    verification_method: str
    created: str
    cryptosuite: str = RDFC


class VerifiedCredential(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid certificate says, and how far it was checked (``checks``, by name)."""

    certificate_id: UUID
    course_code: str
    course_name: str
    school: str
    alliance: str
    credits: Decimal
    hours: int
    score: str
    term: str
    identity_hash: str
    proofs: tuple[VerifiedProof, ...]
    keys: str
    anchored: bool
    revocation: str
    document_version: int = 2
    checks: tuple[Check, ...] = ()


#: Whether a certificate was revoked: ``None`` if not, else a sentence saying when and why.
RevocationCheck = Callable[[UUID], str | None]


class _Checks:
    """The checks of one verification: a failure is raised naming its check."""

    def __init__(self) -> None:
        self.done: list[Check] = []

    def run(self, name: str, step: Callable[[], Any], result: Callable[[Any], str]) -> Any:
        try:
            value = step()
        except InvalidCredentialError as e:
            raise e.within(name) from None
        self.done.append(Check(name, result(value)))
        return value


def verify_credential(
    document: Mapping[str, Any], *, trust: KeyTrust | None = None,
    revoked: RevocationCheck | None = None,
    status_lists: Mapping[str, Mapping[str, Any]] | None = None,
) -> VerifiedCredential:
    """Check a certificate: its shape and schemas, both proofs, the issuer binding, the keys
    (``trust``; without it the embedded keys, see :class:`EmbeddedKeys`), and that it was not
    revoked (``revoked``, the ledger's answer; or ``status_lists``, status list credentials by
    id). Returns what it says and every check by name, or raises
    :class:`InvalidCredentialError` naming the check that failed."""
    trust = trust or EmbeddedKeys()
    checks = _Checks()
    certificate_id = checks.run("shape", lambda: credential_id(document),
                                lambda _: f"an Open Badges 3.0 course credential, document "
                                          f"version {version(document)}")
    if version(document) == 1:
        keys = checks.run("proofs", lambda: v1.verify(document),
                          lambda _: "both eddsa-jcs-2022 proofs verify (version 1: the seal "
                                    "chained to the school's proof)")
        proofs = v1.proofs(document)
    else:
        checks.run("schema", lambda: schemas.check(document, v2.SCHEMAS), _schema_result)
        proofs = _proof_set(document)
        keys = (checks.run("proof by the issuer (offering school)",
                           lambda: _verify(document, proofs[0]), _verified),
                checks.run("proof by the alliance seal", lambda: _verify(document, proofs[1]),
                           _verified))
        checks.run("issuer binding", lambda: _bound(document, keys[0]),
                   lambda issuer: f"the issuer {issuer} is the key of the first proof")
    if keys[0] == keys[1]:
        raise InvalidCredentialError("proofs: both proofs were made with the same key: the "
                                     "seal must be the secretariat's own")
    for role, key, proof in zip(ProofRole, keys, proofs, strict=True):
        _check_key(checks, trust, role, key, proof)
    note = checks.run("status", lambda: _status(document, certificate_id, revoked,
                                                 status_lists), lambda n: n)
    verified = tuple(
        VerifiedProof(role=role.value, key_id=key.key_id,
                      verification_method=str(proof["verificationMethod"]),
                      created=str(proof["created"]), cryptosuite=str(proof["cryptosuite"]))
        for role, key, proof in zip(ProofRole, keys, proofs, strict=True))
    return _summary(document, certificate_id, verified, trust, note, tuple(checks.done))


def _check_key(checks: _Checks, trust: KeyTrust, role: ProofRole, key: PublicKey,
               proof: Mapping[str, Any]) -> None:
    checks.run(f"key of the {role.value}", lambda: trust.check(role, key, created_at(proof)),
               lambda _: f"{key.key_id}: {trust.description}")


def version(document: Mapping[str, Any]) -> int:
    """The certificate's document version (1 or 2), by its contexts."""
    return 1 if v1.is_version_1(document) else 2


def credential_id(document: Mapping[str, Any]) -> UUID:
    """The certificate id of an Open Badges 3.0 course credential, after checking its shape."""
    if not (v1.is_version_1(document) or v2.is_version_2(document)):
        raise InvalidCredentialError(
            f"not an Open Badges 3.0 course certificate: @context must be {v2.CONTEXT}")
    if document.get("type") != ["VerifiableCredential", "OpenBadgeCredential"]:
        raise InvalidCredentialError("not an OpenBadgeCredential (type)")
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InvalidCredentialError("not a course certificate: no credentialSubject object")
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict) or achievement.get("achievementType") != "Course":
        raise InvalidCredentialError("not a course certificate: credentialSubject.achievement"
                                     ".achievementType must be Course")
    shape.no_repeats(document)
    shape.one_description(document)
    if v2.is_version_2(document) and not (
            achievement.get("creator") == subject.get("source") == document.get("issuer")):
        # One node three times: the signature (over RDF statements) sees their union, so a
        # copy could lose a statement the others still make; they must be the same.
        raise InvalidCredentialError("the achievement's creator and the subject's source must "
                                     "be the issuer, written the same")
    identifier = document.get("id")
    try:
        if not isinstance(identifier, str) or not identifier.startswith("urn:uuid:"):
            raise ValueError
        return UUID(identifier.removeprefix("urn:uuid:"))
    except ValueError:
        raise InvalidCredentialError(
            f"the credential id {identifier!r} is not a urn:uuid") from None


def _proof_set(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The issuer's proof and the seal, each standing alone."""
    found = document.get("proof")
    if found is None:
        raise InvalidCredentialError("proofs: no proof: the certificate is not signed")
    if not isinstance(found, list) or len(found) != 2 \
            or not all(isinstance(p, dict) for p in found):
        raise InvalidCredentialError("proofs: expected a proof set of two proofs, the offering "
                                     "school's and the alliance secretariat's seal")
    if any("previousProof" in p for p in found):
        raise InvalidCredentialError("proofs: the proofs of a proof set chain to no other")
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else None
    first, second = found
    if str(second.get("verificationMethod", "")).startswith(f"{issuer_id}#"):
        first, second = second, first  # a proof set has no order: the issuer's is the school's
    return first, second


def _verify(document: Mapping[str, Any], proof: Mapping[str, Any]) -> PublicKey:
    if proof.get("cryptosuite") != RDFC:
        raise InvalidCredentialError(f"the proof's cryptosuite is {proof.get('cryptosuite')!r},"
                                     f" not {RDFC}")
    return verify_proof({k: v for k, v in document.items() if k != "proof"}, proof)


def _verified(key: PublicKey) -> str:
    return f"{RDFC} signature by {key.key_id} verifies"


def _bound(document: Mapping[str, Any], key: PublicKey) -> str:
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != did.did_key(key):
        raise InvalidCredentialError(f"the issuer {issuer_id!r} is not the did:key of the key "
                                     "that made the first proof")
    return str(issuer_id)


def _schema_result(found: tuple[list[str], list[str]]) -> str:
    checked, not_shipped = found
    text = f"valid against {', '.join(checked)}"
    return text + (f"; not checked (not shipped): {', '.join(not_shipped)}" if not_shipped
                   else "")


def _status(document: Mapping[str, Any], certificate_id: UUID,
            revoked: RevocationCheck | None,
            lists: Mapping[str, Mapping[str, Any]] | None) -> str:
    if revoked is not None:
        why = revoked(certificate_id)
        if why is not None:
            raise InvalidCredentialError(f"the certificate was revoked: {why}")
        return "checked against the ledger: not revoked"
    entry = document.get("credentialStatus")
    if lists is not None and isinstance(entry, dict):
        issuer = document["issuer"]["id"]
        if status.revoked(entry, lists, issuer=issuer):
            raise InvalidCredentialError(
                f"the certificate was revoked: its status list {entry['statusListCredential']}"
                f" (signed by its issuer) marks entry {entry['statusListIndex']}")
        return (f"checked against the status list {entry['statusListCredential']} (signed by "
                "its issuer): not revoked")
    if lists is not None:
        raise InvalidCredentialError("the certificate has no credentialStatus (issued before "
                                     "status lists): check it against the ledger")
    return "not checked (offline: give the ledger, or the issuer's status list, to check it)"


def _summary(document: Mapping[str, Any], certificate_id: UUID,
             proofs: tuple[VerifiedProof, ...], trust: KeyTrust, revocation: str,
             checks: tuple[Check, ...]) -> VerifiedCredential:
    try:
        subject = document["credentialSubject"]
        achievement = subject["achievement"]
        if version(document) == 1:
            facts = v1.legacy_facts(document)
        else:
            facts = {"school": str(document["issuer"]["name"]),
                     "alliance": str(document["alliance"]["name"]),
                     "hours": int(achievement["courseHours"])}
        return VerifiedCredential(
            certificate_id=certificate_id, course_code=str(achievement.get("humanCode", "")),
            course_name=str(achievement["name"]), school=facts["school"],
            alliance=facts["alliance"],
            credits=Decimal(repr(subject["creditsEarned"])).quantize(Decimal("0.01")),
            hours=facts["hours"], score=str(subject["result"][0]["value"]),
            term=str(subject.get("term", "")),
            identity_hash=str(subject["identifier"][0]["identityHash"]), proofs=proofs,
            keys=trust.description, anchored=trust.anchored, revocation=revocation,
            document_version=version(document), checks=checks)
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as e:
        raise InvalidCredentialError(f"signed, but not a readable course certificate ({e!r})"
                                     ) from None
