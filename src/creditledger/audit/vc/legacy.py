"""Course certificates of document version 1 (issued before status lists), still checked.

The alliance was the issuer (by ``urn:uuid``), the offering school the achievement's creator;
extension terms were written under an inline ``creditledger:`` prefix; the two proofs were
``eddsa-jcs-2022`` proofs without ``@context``, whose configuration took the document's (see
:data:`creditledger.audit.vc.integrity.LEGACY_JCS`), the secretariat's seal chained to the
school's with ``previousProof`` and signing it too. Standard verifiers do not accept these
documents; creditledger keeps checking them, and seals one issued before but sealed since in
the same form, so its signatures stay exactly as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from creditledger.audit.vc.certificate import identity_hash, number, urn
from creditledger.audit.vc.contexts import OB_V3, VC_V2
from creditledger.audit.vc.integrity import (
    ASSERTION,
    JCS,
    PROOF_TYPE,
    hash_data,
    verify_proof,
)
from creditledger.crypto import did
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain.alliance.values import CertificateFacts, CertificateProof
from creditledger.domain.ids import institution_id, natural_key_id
from creditledger.errors import InvalidCredentialError

EXTENSION_NS = "https://creditledger.invalid/ns/alliance/v1#"
CONTEXT: list[Any] = [VC_V2, OB_V3, {"creditledger": EXTENSION_NS}]


def is_version_1(document: Mapping[str, Any]) -> bool:
    """Whether a document is a certificate of this form (by its contexts)."""
    return document.get("@context") == CONTEXT


def certificate_document(certificate_id: UUID, facts: CertificateFacts) -> dict[str, Any]:
    """The unsigned credential of a certificate of document version 1."""
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


def sign_seal(document: Mapping[str, Any], key: SigningKey, *, proof_id: str,
              created: str, school_proof: Mapping[str, Any]) -> CertificateProof:
    """The secretariat's seal of a version 1 certificate: chained to the school's proof and
    signing it too, as version 1 seals were."""
    options = {"id": proof_id, "type": PROOF_TYPE, "cryptosuite": JCS, "created": created,
               "verificationMethod": did.verification_method(key.public_key),
               "proofPurpose": ASSERTION, "previousProof": school_proof["id"]}
    unsecured = {**document, "proof": [dict(school_proof)]}
    config = {**options, "@context": unsecured.get("@context")}
    value = "z" + did.b58encode(key.sign(hash_data(unsecured, config, JCS)))
    return CertificateProof(id=proof_id, created=created,
                            verification_method=options["verificationMethod"],
                            proof_value=value, previous_proof=school_proof["id"],
                            cryptosuite=JCS)


def proofs(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The school's proof and the seal chained to it."""
    found = document.get("proof")
    if found is None:
        raise InvalidCredentialError("no proof: the certificate is not signed")
    if not isinstance(found, list) or not all(isinstance(p, dict) for p in found):
        raise InvalidCredentialError("proof must be a list of proofs")
    if len(found) != 2:
        raise InvalidCredentialError(f"{len(found)} proof(s): expected two, the offering "
                                     "school's and the alliance secretariat's seal")
    firsts = [p for p in found if "previousProof" not in p]
    if len(firsts) != 1:
        raise InvalidCredentialError("expected one proof without previousProof (the school's)")
    school = firsts[0]
    seal = found[1] if found[0] is school else found[0]
    if not isinstance(school.get("id"), str) or seal.get("previousProof") != school["id"]:
        raise InvalidCredentialError("the seal's previousProof does not name the school's proof")
    return school, seal


def verify(document: Mapping[str, Any]) -> tuple[PublicKey, PublicKey]:
    """The keys of the school's proof and of the seal (each checked)."""
    school, seal = proofs(document)
    for proof in (school, seal):
        if proof.get("cryptosuite") != JCS or "@context" in proof:
            raise InvalidCredentialError("a version 1 certificate's proofs are eddsa-jcs-2022 "
                                         "proofs without @context")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    school_key = verify_proof(unsecured, school, legacy=True)
    seal_key = verify_proof({**unsecured, "proof": [school]}, seal, legacy=True)
    return school_key, seal_key


def legacy_facts(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the summary reads from a version 1 document: school name, alliance, hours."""
    subject = document["credentialSubject"]
    return {"school": str(subject["source"]["name"]), "alliance": str(document["issuer"]["name"]),
            "hours": int(subject["achievement"].get("creditledger:hours", 0))}
