"""The electronic course certificate (电子课程合格证书) as a portable Open Badges 3.0 credential.

The document is a W3C Verifiable Credential of type ``OpenBadgeCredential`` (Open Badges 3.0):
the alliance is the ``issuer``, the offering school the achievement's ``creator`` and the
subject's ``source`` (who assessed it), ``achievementType`` is ``"Course"``; ``creditsEarned``,
``term`` and ``result`` carry credits, term and score; hours, course type, assessment method and
the makeup flag are extensions under the ``creditledger:`` prefix. See ``docs/alliance.md``.

It carries two Data Integrity proofs, cryptosuite ``eddsa-jcs-2022``: the offering school's, and
the secretariat's (the alliance seal) chained to it with ``previousProof``. Each proof signs,
with Ed25519, ``SHA-256(JCS(proof options + @context)) || SHA-256(JCS(document))`` where
*document* is the credential without proofs — plus, for the seal, the school's proof — and JCS
is the JSON Canonicalization Scheme (RFC 8785). The key is named by a ``did:key``
verification method, so a verifier can check the signatures with nothing but the document; who
the keys belong to, and whether the certificate was revoked, needs trusted keys or the ledger.

JCS is :mod:`creditledger.crypto.jcs`; did:key and base58btc are :mod:`creditledger.crypto.did`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import msgspec

from creditledger.audit.documents import read_document
from creditledger.crypto import did, jcs
from creditledger.crypto.did import b58encode, verification_method
from creditledger.crypto.keys import InvalidSignature, PublicKey, SigningKey
from creditledger.domain.alliance.values import CertificateFacts, CertificateProof
from creditledger.domain.ids import institution_id, natural_key_id
from creditledger.errors import InvalidCredentialError, ValidationError
from creditledger.store.registry import KeyRegistry

W3C_VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: The namespace of the ``creditledger:`` extension terms (a placeholder domain: the terms are
#: defined in docs/alliance.md, not at this address).
EXTENSION_NS = "https://creditledger.invalid/ns/alliance/v1#"
CONTEXT: tuple[Any, ...] = (W3C_VC_V2, OB_V3, {"creditledger": EXTENSION_NS})
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
PURPOSE = "assertionMethod"
_TIME = "%Y-%m-%dT%H:%M:%SZ"




class ProofRole(StrEnum):
    """Who made a proof: the offering school (开课学校) or the secretariat's seal (联盟公章)."""

    OFFERING_SCHOOL = "offering school"
    SECRETARIAT = "alliance secretariat"


def canonical_json(value: Any) -> bytes:
    """The JCS (RFC 8785) bytes of ``value``; :class:`InvalidCredentialError` if it has none."""
    try:
        return jcs.canonical_json(value)
    except jcs.NotCanonicalError as e:
        raise InvalidCredentialError(str(e)) from None


def key_of_method(method: object) -> PublicKey:
    """The Ed25519 key a ``did:key`` verification method names (:class:`InvalidCredentialError`
    otherwise)."""
    try:
        return did.key_of_method(method)
    except did.InvalidDidError as e:
        raise InvalidCredentialError(str(e)) from None


def b58decode(text: str) -> bytes:
    """The bytes of a base58btc string (:class:`InvalidCredentialError` otherwise)."""
    try:
        return did.b58decode(text)
    except did.InvalidDidError as e:
        raise InvalidCredentialError(str(e)) from None


# -- the document --------------------------------------------------------------------------------


def urn(value: UUID) -> str:
    return f"urn:uuid:{value}"


def number(amount: Decimal) -> int | float:
    """Credits as a JSON number: 3 or 2.5 (two decimal places at most, so floats are exact
    enough to come back as the same two-place Decimal)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def identity_hash(learner_id: str, salt: str) -> str:
    """Open Badges' hashed identifier: ``sha256$`` + hex SHA-256 of the id and the salt."""
    return "sha256$" + hashlib.sha256((learner_id + salt).encode("utf-8")).hexdigest()


def credential_document(certificate_id: UUID, facts: CertificateFacts) -> dict[str, Any]:
    """The unsigned Open Badges 3.0 credential of a certificate."""
    school = {"id": urn(institution_id(facts.school)), "type": ["Profile"],
              "name": facts.school_name, "creditledger:code": facts.school}
    described = urn(natural_key_id("result_description", str(facts.offering_id)))
    achievement = {
        "id": urn(facts.offering_id), "type": ["Achievement"], "achievementType": "Course",
        "name": facts.course_name, "description": facts.introduction,
        "humanCode": facts.course_code,
        "criteria": {"narrative": f"考核成绩达到 {facts.pass_mark} 分（满分 {facts.score_scale}），"
                                  "且缺课不足总学时的三分之一。"},
        "creditsAvailable": number(facts.credits), "creator": school,
        "resultDescription": [{"id": described, "type": ["ResultDescription"], "name": "课程成绩",
                               "resultType": "RawScore", "valueMin": "0",
                               "valueMax": str(facts.score_scale),
                               "requiredValue": str(facts.pass_mark)}],
        "creditledger:hours": facts.hours, "creditledger:courseType": facts.course_type,
        "creditledger:assessmentMethod": facts.assessment_method.value,
    }
    subject = {
        "type": ["AchievementSubject"],
        "identifier": [{"type": "IdentityObject", "hashed": True, "identityType": "identifier",
                        "identityHash": identity_hash(facts.learner_id, facts.identity_salt),
                        "salt": facts.identity_salt}],
        "achievement": achievement, "creditsEarned": number(facts.credits), "term": facts.term,
        "source": school,
        "result": [{"type": ["Result"], "resultDescription": described,
                    "value": str(facts.score), "status": "Completed"}],
        "creditledger:byMakeup": facts.by_makeup,
    }
    return {
        "@context": list(CONTEXT), "id": urn(certificate_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"电子课程合格证书：{facts.course_name}",
        "issuer": {"id": urn(facts.alliance_id), "type": ["Profile"], "name": facts.alliance_name,
                   "creditledger:code": facts.alliance},
        "validFrom": f"{facts.issued_on.isoformat()}T00:00:00Z",
        "credentialSubject": subject,
    }


def proof_json(proof: CertificateProof) -> dict[str, Any]:
    """A stored proof as it appears in the document."""
    out = {"id": proof.id, "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE,
           "created": proof.created, "verificationMethod": proof.verification_method,
           "proofPurpose": PURPOSE, "proofValue": proof.proof_value}
    if proof.previous_proof is not None:
        out["previousProof"] = proof.previous_proof
    return out


def assemble(document: Mapping[str, Any], proofs: Sequence[CertificateProof]) -> dict[str, Any]:
    """The document with its proofs (a proof chain: school, then seal)."""
    return {**document, "proof": [proof_json(p) for p in proofs]}


def sign_proof(
    document: Mapping[str, Any], key: SigningKey, *, proof_id: str, created: datetime,
    previous: Sequence[CertificateProof] = (),
) -> CertificateProof:
    """Make an ``eddsa-jcs-2022`` proof of ``document`` (unsigned) with ``key``; a proof that
    chains to ``previous`` proofs signs them too."""
    options = {"id": proof_id, "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE,
               "created": created.astimezone(UTC).strftime(_TIME),
               "verificationMethod": verification_method(key.public_key),
               "proofPurpose": PURPOSE}
    if previous:
        options["previousProof"] = previous[-1].id
    unsecured = assemble(document, previous) if previous else dict(document)
    value = "z" + b58encode(key.sign(_hash_data(unsecured, options)))
    return CertificateProof(id=proof_id, created=options["created"],
                            verification_method=options["verificationMethod"],
                            proof_value=value, previous_proof=options.get("previousProof"))


def _hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """eddsa-jcs-2022: SHA-256 of the canonical proof configuration (the proof options with the
    document's ``@context``), then SHA-256 of the canonical document."""
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return (hashlib.sha256(canonical_json(config)).digest()
            + hashlib.sha256(canonical_json(unsecured)).digest())


def dumps(document: Mapping[str, Any]) -> bytes:
    """The file form of a credential: its canonical JSON (so every byte is significant)."""
    return canonical_json(document)


def digest(document: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical document, proofs included."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def parse_credential(data: bytes | str) -> dict[str, Any]:
    """Read a credential file strictly (see :func:`creditledger.audit.documents.read_document`:
    UTF-8 JSON, an object, no duplicate keys, no NaN, bounded nesting)."""
    try:
        return read_document(data, "document")
    except ValidationError as e:
        problem = e.problem.replace("the JSON is not an object",
                                    "not a credential: the JSON is not an object")
        raise InvalidCredentialError(problem) from None


# -- verifying -----------------------------------------------------------------------------------


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
    """Trust the keys a ledger's registry gives each role: the offering school's key for its
    proof, the secretariat's for the seal, each registered and not revoked when it signed."""

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
                                         f"at {created.strftime(_TIME)}")


class VerifiedProof(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    key_id: str
    verification_method: str
    created: str


class VerifiedCredential(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid certificate says, and how far it was checked."""

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


#: Whether a certificate was revoked: ``None`` if not, else a sentence saying when and why.
RevocationCheck = Callable[[UUID], str | None]


def verify_credential(
    document: Mapping[str, Any], *, trust: KeyTrust | None = None,
    revoked: RevocationCheck | None = None,
) -> VerifiedCredential:
    """Check both proofs of a certificate, the keys they use, and (if ``revoked`` is given)
    that it was not revoked. Returns what it says, or raises :class:`InvalidCredentialError`
    with the reason. Without ``trust``, the embedded keys are trusted (see :class:`EmbeddedKeys`).
    """
    trust = trust or EmbeddedKeys()
    certificate_id = credential_id(document)
    school, seal = _proofs(document)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    checked = [verify_proof(ProofRole.OFFERING_SCHOOL, school, unsecured, trust),
               verify_proof(ProofRole.SECRETARIAT, seal, {**unsecured, "proof": [school]},
                             trust)]
    if checked[0].key_id == checked[1].key_id:
        raise InvalidCredentialError("both proofs were made with the same key: the seal must "
                                     "be the secretariat's own")
    note = "not checked (offline: give the ledger to check it)"
    if revoked is not None:
        why = revoked(certificate_id)
        if why is not None:
            raise InvalidCredentialError(f"the certificate was revoked: {why}")
        note = "checked: not revoked"
    return _summary(document, certificate_id, tuple(checked), trust, note)


def credential_id(document: Mapping[str, Any]) -> UUID:
    """The certificate id of an Open Badges 3.0 course credential, after checking its shape."""
    context = document.get("@context")
    if not isinstance(context, list) or context[:2] != [W3C_VC_V2, OB_V3]:
        raise InvalidCredentialError("not an Open Badges 3.0 credential: @context must start "
                                     "with the VC 2.0 and OB 3.0 contexts")
    if document.get("type") != ["VerifiableCredential", "OpenBadgeCredential"]:
        raise InvalidCredentialError("not an OpenBadgeCredential (type)")
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    if not isinstance(achievement, dict) or achievement.get("achievementType") != "Course":
        raise InvalidCredentialError("not a course certificate: credentialSubject.achievement"
                                     ".achievementType must be Course")
    identifier = document.get("id")
    try:
        if not isinstance(identifier, str) or not identifier.startswith("urn:uuid:"):
            raise ValueError
        return UUID(identifier.removeprefix("urn:uuid:"))
    except ValueError:
        raise InvalidCredentialError(
            f"the credential id {identifier!r} is not a urn:uuid") from None


def _proofs(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    proofs = document.get("proof")
    if proofs is None:
        raise InvalidCredentialError("no proof: the certificate is not signed")
    if not isinstance(proofs, list) or not all(isinstance(p, dict) for p in proofs):
        raise InvalidCredentialError("proof must be a list of proofs")
    if len(proofs) != 2:
        raise InvalidCredentialError(f"{len(proofs)} proof(s): expected two, the offering "
                                     "school's and the alliance secretariat's seal")
    firsts = [p for p in proofs if "previousProof" not in p]
    if len(firsts) != 1:
        raise InvalidCredentialError("expected one proof without previousProof (the school's)")
    school = firsts[0]
    seal = proofs[1] if proofs[0] is school else proofs[0]
    if not isinstance(school.get("id"), str) or seal.get("previousProof") != school["id"]:
        raise InvalidCredentialError("the seal's previousProof does not name the school's proof")
    return school, seal


def verify_proof(
    role: ProofRole, proof: Mapping[str, Any], unsecured: Mapping[str, Any], trust: KeyTrust
) -> VerifiedProof:
    """Check one proof over ``unsecured`` (the document without proofs, plus the proofs this
    one chains to) and that ``trust`` accepts its key in ``role``."""
    for name, wanted in (("type", PROOF_TYPE), ("cryptosuite", CRYPTOSUITE),
                         ("proofPurpose", PURPOSE)):
        if proof.get(name) != wanted:
            raise InvalidCredentialError(f"the {role.value}'s proof: {name} must be {wanted}")
    key = key_of_method(proof.get("verificationMethod"))
    created = _created(role, proof.get("created"))
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidCredentialError(f"the {role.value}'s proofValue is not multibase base58btc")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        key.verify(b58decode(value[1:]), _hash_data(unsecured, options))
    except InvalidSignature:
        raise InvalidCredentialError(
            f"the {role.value}'s signature does not match: the document was changed after it "
            "was signed, or the proof was made with another key") from None
    trust.check(role, key, created)
    return VerifiedProof(role=role.value, key_id=key.key_id,
                         verification_method=str(proof["verificationMethod"]),
                         created=str(proof["created"]))


def _created(role: ProofRole, value: object) -> datetime:
    try:
        return datetime.strptime(str(value), _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidCredentialError(f"the {role.value}'s proof: created {value!r} is not "
                                     "a UTC time like 2022-07-10T08:00:00Z") from None


def _summary(document: Mapping[str, Any], certificate_id: UUID,
             proofs: tuple[VerifiedProof, ...], trust: KeyTrust,
             revocation: str) -> VerifiedCredential:
    try:
        subject = document["credentialSubject"]
        achievement = subject["achievement"]
        return VerifiedCredential(
            certificate_id=certificate_id, course_code=str(achievement.get("humanCode", "")),
            course_name=str(achievement["name"]), school=str(subject["source"]["name"]),
            alliance=str(document["issuer"]["name"]),
            credits=Decimal(repr(subject["creditsEarned"])).quantize(Decimal("0.01")),
            hours=int(achievement.get("creditledger:hours", 0)),
            score=str(subject["result"][0]["value"]), term=str(subject.get("term", "")),
            identity_hash=str(subject["identifier"][0]["identityHash"]), proofs=proofs,
            keys=trust.description, anchored=trust.anchored, revocation=revocation)
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as e:
        raise InvalidCredentialError(f"signed, but not a readable course certificate ({e!r})"
                                     ) from None
