"""A learner's whole record (成绩单) as a 1EdTech Comprehensive Learner Record 2.0
``ClrCredential``, signed by the learner's home school: built from values, no database.

- The **issuer** of the CLR and of every credential in it is the home school, by the
  ``did:key`` of the key that signs them (as a course certificate's issuer is), written the
  same everywhere.
- ``credentialSubject`` is a ``ClrSubject``: the learner as a hashed ``IdentityObject`` (salted
  once per export) and one Open Badges 3.0 ``OpenBadgeCredential`` (an AchievementCredential)
  per achievement in force, each signed on its own (``eddsa-rdfc-2022``) and complete without
  the CLR: its own contexts, schemas and proof (a list of one, as 1EdTech's Open Badges 3.0
  JSON Schema requires; the CLR's own proof is written the same).
- Each credential's ``ledgerRecord`` says where its record is in the ledger: the ledger, the
  aggregate (the achievement, or the learner's transfer ledger), and the position and hash of
  the event that recorded it (``Recognised``, ``Converted``).
- Converted credits (学分转换) and exemptions (免修) are credentials of their own, with the
  extended achievement types ``ext:CreditTransfer`` and ``ext:Exemption`` (Open Badges allows
  ``ext:`` values beside its enumeration), and their ``lineage``: the conversion, the rule and
  its version, the agreement, the source achievements (by the ids of their achievements in the
  CLR), the exempted codes and the ledger record of the conversion.
- Credits are ``creditsAvailable`` (the achievement) and ``creditsEarned`` (the subject); the
  category (课程类别) is a ``tag``; a score is a ``result`` described by a ``resultDescription``.

The CLR's own contexts are 1EdTech's three, in the order CLR 2.0 requires (credentials v2, CLR,
Open Badges), without creditledger's: every creditledger term is inside a credential, which
names creditledger's context itself. (Naming it on the CLR too breaks JSON-LD processing: the
credentials' Open Badges context would be processed again under the ``xsd`` prefix
creditledger's context defines, which changes Open Badges' protected ``awardedDate``, typed
``xsd:dateTime`` with no ``xsd`` of its own, and JSON-LD refuses a changed protected term.)
So the CLR carries no ``ledgerRecord`` of its own, no ``institutionCode`` on its issuer, and no
``ClrSubject.achievement`` list (optional in CLR 2.0: the achievements are in the credentials,
and could not be written there the same without creditledger's terms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from creditledger.audit.vc.certificate import identity_hash, number, schema_entries, urn
from creditledger.audit.vc.contexts import (
    CLR_SCHEMA,
    CLR_V2,
    EXTENSION,
    EXTENSION_SCHEMA,
    OB_SCHEMA,
    OB_V3,
    VC_V2,
)
from creditledger.audit.vc.integrity import RDFC, TIME_FORMAT, create_proof
from creditledger.crypto.did import did_key
from creditledger.crypto.keys import SigningKey
from creditledger.domain.achievement_record import AchievementRecord
from creditledger.domain.ids import institution_id, natural_key_id
from creditledger.domain.transfers.conversion import Conversion
from creditledger.domain.values import AchievementKind, Category

CONTEXT = [VC_V2, CLR_V2, OB_V3]
"""The CLR's contexts: 1EdTech's, in the order CLR 2.0 requires (see the module's note)."""
CREDENTIAL_CONTEXT = [VC_V2, OB_V3, EXTENSION]
TYPE = ["VerifiableCredential", "ClrCredential"]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
SCHEMAS = [CLR_SCHEMA]
CREDENTIAL_SCHEMAS = [OB_SCHEMA, EXTENSION_SCHEMA]

ACHIEVEMENT_TYPES = {
    AchievementKind.COURSE_RESULT: "Course",
    AchievementKind.X_CERTIFICATE: "Certificate",
    AchievementKind.QUALIFICATION_CERTIFICATE: "Certification",
    AchievementKind.DIPLOMA: "Diploma",
    AchievementKind.TRAINING_RECORD: "LearningProgram",
    AchievementKind.ONLINE_COURSE: "LearningProgram",
}
"""Open Badges ``achievementType`` of each kind of achievement."""
CREDIT_TRANSFER = "ext:CreditTransfer"
EXEMPTION = "ext:Exemption"
"""Extended achievement types (Open Badges: ``ext:`` and letters, digits, ``.-_``)."""


class Institution(msgspec.Struct, frozen=True):
    """An institution as the CLR names it: its code and name."""

    code: str
    name: str


class LedgerPlace(msgspec.Struct, frozen=True, kw_only=True):
    """Where a record is in the ledger: the aggregate, and the position and hash of the event
    that recorded it."""

    aggregate_id: UUID
    position: int | None = None
    event_hash: str | None = None


class RecordedAchievement(msgspec.Struct, frozen=True, kw_only=True):
    """An achievement in force, as the CLR shows it. ``certifier`` is the institution that
    certified it; ``hours`` and ``course_type`` come from the course (for a course result)."""

    achievement_id: UUID
    record: AchievementRecord
    certifier: Institution
    recorded: LedgerPlace
    hours: int | None = None
    course_type: str | None = None


class RecordedConversion(msgspec.Struct, frozen=True, kw_only=True):
    """A posted conversion: the school whose programme it credits, its target's name (course,
    module or category) and category (if it has one), where the conversion was recorded (the
    learner's transfer ledger), and when an exemption it waited for was granted."""

    conversion: Conversion
    target_school: Institution
    target_name: str
    category: Category | None
    recorded: LedgerPlace
    granted_on: date | None = None


class Transcript(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a CLR says: the learner, the home school, the ledger, what is in force.
    ``transcript_id`` names the CLR (its credentials' ids are derived from it); ``salt``
    salts the learner's hashed identifier."""

    transcript_id: UUID
    ledger_id: str
    learner_id: str
    learner_name: str
    school: Institution
    achievements: tuple[RecordedAchievement, ...]
    conversions: tuple[RecordedConversion, ...]
    salt: str
    valid_from: datetime


# -- signing ------------------------------------------------------------------------------


def issue(transcript: Transcript, key: SigningKey, *, created: datetime) -> dict[str, Any]:
    """The CLR signed by ``key`` (the home school's) at ``created``: every credential in it,
    then the CLR."""
    issuer = issuer_profile(transcript, key)
    credentials = [signed(c, key, created) for c in achievement_credentials(transcript, issuer)]
    return signed(clr_document(transcript, issuer, credentials), key, created)


def signed(document: Mapping[str, Any], key: SigningKey, created: datetime) -> dict[str, Any]:
    """``document`` with an ``eddsa-rdfc-2022`` proof by ``key``, written as a list of one:
    1EdTech's Open Badges 3.0 JSON Schema requires ``proof`` to be an array (a single proof
    object, which VC 2.0 allows, fails it; CLRs exported before this did so)."""
    return {**document,
            "proof": [create_proof(document, key, created=created, cryptosuite=RDFC)]}


def issuer_profile(transcript: Transcript, key: SigningKey) -> dict[str, Any]:
    """The home school as a ``Profile`` whose id is the did:key of its signing key (Open
    Badges terms only: the CLR's issuer and its credentials' are one profile, written the
    same)."""
    return {"id": did_key(key.public_key), "type": ["Profile"], "name": transcript.school.name}


# -- the CLR ------------------------------------------------------------------------------


def clr_document(transcript: Transcript, issuer: Mapping[str, Any],
                 credentials: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The unsigned ``ClrCredential`` holding ``credentials`` (signed AchievementCredentials)."""
    subject = {"type": ["ClrSubject"], "identifier": [identity(transcript)],
               "verifiableCredential": [dict(c) for c in credentials]}
    return {
        "@context": list(CONTEXT), "id": urn(transcript.transcript_id), "type": list(TYPE),
        "name": f"学分银行成绩单：{transcript.learner_name}",
        "issuer": dict(issuer), "validFrom": timestamp(transcript.valid_from),
        "credentialSubject": subject, "credentialSchema": schema_entries(SCHEMAS),
    }


def achievement_credentials(transcript: Transcript, issuer: Mapping[str, Any]
                            ) -> list[dict[str, Any]]:
    """The unsigned credentials: one per achievement, then one per conversion."""
    out = [credential(transcript, issuer, a.achievement_id, subject(transcript, a),
                      a.recorded, f"{a.record.kind.zh}：{a.record.title}")
           for a in transcript.achievements]
    out += [credential(transcript, issuer, c.conversion.id, transfer_subject(transcript, c),
                       c.recorded, transfer_title(c))
            for c in transcript.conversions]
    return out


def credential(transcript: Transcript, issuer: Mapping[str, Any], record_id: UUID,
               achievement_subject: dict[str, Any], recorded: LedgerPlace, name: str
               ) -> dict[str, Any]:
    """One unsigned AchievementCredential of the CLR (its id derived from the CLR's)."""
    return {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": urn(natural_key_id("clr-credential", str(transcript.transcript_id),
                                 str(record_id))),
        "type": list(CREDENTIAL_TYPE), "name": name, "issuer": dict(issuer),
        "validFrom": timestamp(transcript.valid_from),
        "credentialSubject": achievement_subject,
        "ledgerRecord": ledger_record(transcript.ledger_id, recorded),
        "credentialSchema": schema_entries(CREDENTIAL_SCHEMAS),
    }


def identity(transcript: Transcript) -> dict[str, Any]:
    """The learner as Open Badges' hashed ``IdentityObject``."""
    return {"type": "IdentityObject", "hashed": True, "identityType": "identifier",
            "identityHash": identity_hash(transcript.learner_id, transcript.salt),
            "salt": transcript.salt}


def ledger_record(ledger_id: str, place: LedgerPlace) -> dict[str, Any]:
    record: dict[str, Any] = {"type": ["LedgerRecord"], "ledger": urn(ledger_id),
                              "aggregate": urn(place.aggregate_id)}
    if place.position is not None:
        record["position"] = place.position
    if place.event_hash is not None:
        record["eventHash"] = place.event_hash
    return record


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def day(on: date) -> str:
    """A day the ledger records (a certificate's issue, a training's completion, a
    conversion) as ``activityEndDate``: a date-time, which the Open Badges 3.0 model
    (``DateTime``) and 1EdTech's schema (``format: date-time``) require, written as the start of
    that day in UTC; the ledger records days, so the time says nothing. (CLRs exported before
    the schema was shipped wrote the bare date, which the schema refuses.)"""
    return f"{on.isoformat()}T00:00:00Z"


# -- an achievement -----------------------------------------------------------------------


def subject(transcript: Transcript, recorded: RecordedAchievement) -> dict[str, Any]:
    """The ``AchievementSubject`` of an achievement: credits, term, number, date, score."""
    r = recorded.record
    out: dict[str, Any] = {"type": ["AchievementSubject"], "identifier": [identity(transcript)],
                           "achievement": achievement(recorded),
                           "creditsEarned": number(r.credits)}
    if r.course is not None:
        out["term"] = r.course.term
    if r.certificate is not None:
        out["licenseNumber"] = r.certificate.number
        out["activityEndDate"] = day(r.certificate.issued_on)
    if r.learning_record is not None:
        out["activityEndDate"] = day(r.learning_record.completed_on)
    scored = score(recorded)
    if scored is not None:
        out["result"] = [{"type": ["Result"], "resultDescription": result_id(recorded),
                          "value": str(scored[0]), "status": "Completed"}]
    return out


def achievement(recorded: RecordedAchievement) -> dict[str, Any]:
    """The ``Achievement`` (its id the achievement's in the ledger)."""
    r = recorded.record
    out: dict[str, Any] = {
        "id": urn(recorded.achievement_id), "type": ["Achievement"],
        "achievementType": ACHIEVEMENT_TYPES[r.kind], "name": r.title,
        "description": f"{r.kind.zh}：{r.title}（{recorded.certifier.name}）",
        "criteria": {"narrative": f"经{r.method.zh}认定的{r.kind.zh}，计 {r.credits} 学分"
                                  f"（{r.category.zh}）。"},
        "creditsAvailable": number(r.credits), "tag": [r.category.zh],
        "creator": creator(recorded.certifier), **details(recorded),
    }
    scored = score(recorded)
    if scored is not None:
        out["resultDescription"] = [{
            "id": result_id(recorded), "type": ["ResultDescription"], "name": "成绩",
            "resultType": "RawScore", "valueMin": "0", "valueMax": str(scored[1])}]
    return out


def details(recorded: RecordedAchievement) -> dict[str, Any]:
    """The code of a course or catalog certificate, hours, and a course's type and method."""
    r = recorded.record
    out: dict[str, Any] = {}
    if r.course is not None:
        out = {"humanCode": r.course.course_code, "assessmentMethod": r.method.value}
        if recorded.course_type is not None:
            out["courseType"] = recorded.course_type
    elif r.certificate is not None and r.kind is AchievementKind.X_CERTIFICATE:
        out = {"humanCode": r.certificate.certificate_code}  # the catalog's code
    hours = recorded.hours if r.learning_record is None else r.learning_record.hours
    if hours is not None:
        out["courseHours"] = hours
    return out


def score(recorded: RecordedAchievement) -> tuple[Decimal, Decimal] | None:
    """The score and the top of its scale, for an achievement that has one."""
    r = recorded.record
    if r.course is not None and r.course.score is not None:
        return r.course.score, r.course.score_scale
    if r.learning_record is not None and r.learning_record.score is not None:
        return r.learning_record.score, Decimal(100)
    return None


def result_id(recorded: RecordedAchievement) -> str:
    return urn(natural_key_id("result_description", str(recorded.achievement_id)))


def creator(institution: Institution) -> dict[str, Any]:
    """Who certified an achievement (or converted credits), as a ``Profile`` named by the id of
    the institution in the ledger; the home school too (its did:key names the issuer, the key
    that signs, which a profile made elsewhere in the document must not repeat differently)."""
    return {"id": urn(institution_id(institution.code)), "type": ["Profile"],
            "name": institution.name, "institutionCode": institution.code}


# -- a conversion -------------------------------------------------------------------------


def transfer_title(recorded: RecordedConversion) -> str:
    c = recorded.conversion
    if c.exemption is not None:
        return f"免修：{recorded.target_name}（{c.target.code}）"
    return f"学分转换：{recorded.target_name}"


def transfer_subject(transcript: Transcript, recorded: RecordedConversion) -> dict[str, Any]:
    """The subject of a conversion's credential: the converted credits and their lineage."""
    c = recorded.conversion
    on = recorded.granted_on or c.on
    return {"type": ["AchievementSubject"], "identifier": [identity(transcript)],
            "achievement": transfer_achievement(transcript, recorded),
            "creditsEarned": number(c.amount), "activityEndDate": day(on)}


def transfer_achievement(transcript: Transcript, recorded: RecordedConversion
                         ) -> dict[str, Any]:
    c = recorded.conversion
    agreement = f"，依据协议 {c.agreement.code}（第 {c.agreement.version} 版）" \
        if c.agreement is not None else ""
    what = "免修" if c.exemption is not None else "转换学分"
    out: dict[str, Any] = {
        "id": urn(c.id), "type": ["Achievement"],
        "achievementType": EXEMPTION if c.exemption is not None else CREDIT_TRANSFER,
        "name": transfer_title(recorded),
        "description": f"{what}：{recorded.target_school.name} {c.target.programme_code} 专业的"
                       f"{c.target.kind.zh}「{recorded.target_name}」，计 {c.amount} 学分",
        "criteria": {"narrative": f"按转换规则 {c.rule.rule_id}（第 {c.rule.version} 版）"
                                  f"{agreement}，由 {len(c.sources)} 项已认定的学习成果转换。"},
        "creditsAvailable": number(c.amount), "creator": creator(recorded.target_school),
        "lineage": [lineage_step(transcript, recorded)],
    }
    if c.exemption is not None:
        out["humanCode"] = c.target.code
    if recorded.category is not None:
        out["tag"] = [recorded.category.zh]
    return out


def lineage_step(transcript: Transcript, recorded: RecordedConversion) -> dict[str, Any]:
    """The ``LineageStep`` of a conversion: rule, agreement, sources, exemption, record."""
    c = recorded.conversion
    step: dict[str, Any] = {"type": ["LineageStep"], "conversion": urn(c.id),
                            "ruleId": c.rule.rule_id, "ruleVersion": c.rule.version}
    if c.agreement is not None:
        step["agreementCode"] = c.agreement.code
    step["sources"] = [urn(s) for s in c.source_ids]
    if c.exemption is not None:
        step["exempts"] = [c.exemption.target.code]
    step["ledgerRecord"] = ledger_record(transcript.ledger_id, recorded.recorded)
    return step
