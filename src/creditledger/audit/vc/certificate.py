"""The electronic course certificate (电子课程合格证书) as an Open Badges 3.0 credential that
standard verifiers accept (document version 2).

- The **issuer** is the offering school, by the ``did:key`` of the registered ledger key that
  signed the certificate: a verifier binds issuer and key by the proof alone.
- The **proofs** are a proof set of two ``eddsa-rdfc-2022`` Data Integrity proofs over the same
  document: the issuer's, and the alliance secretariat's seal (联盟公章) by the secretariat's
  key. Each stands alone (no ``previousProof`` chain, which common verifiers do not implement):
  a standard verifier accepts the certificate on the issuer's proof, and checks the seal as one
  more Data Integrity proof; creditledger requires both, each by the key of its role.
- Everything beyond Open Badges (course hours, type and assessment method, the makeup flag, the
  alliance, the ledger the certificate was issued on) is in creditledger's context and schema,
  named by URL and ``credentialSchema`` beside 1EdTech's own schema.
- ``credentialStatus`` is the certificate's entry in its issuer's revocation list
  (:mod:`.status`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from creditledger.audit.vc import status
from creditledger.audit.vc.contexts import (
    EXTENSION,
    EXTENSION_SCHEMA,
    OB_SCHEMA,
    OB_V3,
    SCHEMA_TYPE,
    VC_V2,
)
from creditledger.domain.alliance.values import CertificateFacts
from creditledger.domain.ids import natural_key_id

CONTEXT = [VC_V2, OB_V3, EXTENSION]
SCHEMAS = [OB_SCHEMA, EXTENSION_SCHEMA]
TYPE = ["VerifiableCredential", "OpenBadgeCredential"]


def urn(value: UUID | str) -> str:
    return f"urn:uuid:{value}"


def number(amount: Decimal) -> int | float:
    """Credits as a JSON number: 3 or 2.5 (two decimal places at most, so floats are exact
    enough to come back as the same two-place Decimal)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def identity_hash(learner_id: str, salt: str) -> str:
    """Open Badges' hashed identifier: ``sha256$`` + hex SHA-256 of the id and the salt."""
    return "sha256$" + hashlib.sha256((learner_id + salt).encode("utf-8")).hexdigest()


def profile(did: str, name: str, code: str) -> dict[str, Any]:
    """An institution as an Open Badges ``Profile``: its did:key, name and code."""
    return {"id": did, "type": ["Profile"], "name": name, "institutionCode": code}


def schema_entries(urls: list[str]) -> list[dict[str, str]]:
    return [{"id": url, "type": SCHEMA_TYPE} for url in urls]


def certificate_document(certificate_id: UUID, facts: CertificateFacts) -> dict[str, Any]:
    """The unsigned credential of a certificate of document version 2."""
    school = profile(facts.issuer, facts.school_name, facts.school)
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
        "courseHours": facts.hours, "courseType": facts.course_type,
        "assessmentMethod": facts.assessment_method.value,
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
        "byMakeup": facts.by_makeup,
    }
    document: dict[str, Any] = {
        "@context": list(CONTEXT), "id": urn(certificate_id), "type": list(TYPE),
        "name": f"电子课程合格证书：{facts.course_name}",
        "issuer": school,
        "validFrom": f"{facts.issued_on.isoformat()}T00:00:00Z",
        "credentialSubject": subject,
        "alliance": {"id": urn(facts.alliance_id), "type": ["Alliance"],
                     "name": facts.alliance_name, "allianceCode": facts.alliance},
        "ledgerRecord": {"type": ["LedgerRecord"], "ledger": urn(facts.ledger_id),
                         "aggregate": urn(certificate_id)},
        "credentialSchema": schema_entries(SCHEMAS),
    }
    if facts.status is not None:
        document["credentialStatus"] = status.entry(
            facts.status.key_id, facts.status.list_number, facts.status.index)
    return document


def is_version_2(document: Mapping[str, Any]) -> bool:
    """Whether a document is a certificate of this form (by its contexts)."""
    return document.get("@context") == CONTEXT
