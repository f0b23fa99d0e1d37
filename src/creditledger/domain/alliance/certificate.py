"""Electronic course certificates (电子课程合格证书) and their recognition at home, R14.

On a pass the offering school issues a :class:`CourseCertificate`, signed with its key; the
secretariat countersigns it (the alliance seal, 加盖联盟公章). Both signatures are Data Integrity
proofs over the exported Open Badges 3.0 document (:mod:`creditledger.audit.credential`); the
aggregate keeps the facts and the proofs, so the document can be exported again at any time,
byte for byte. The learner's home school imports it once, as a :class:`CertificateRecognition`:
credits for a school with a credit system, a grade for one without. Revoking the certificate
reverses the recognition.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.alliance.values import (
    CertificateFacts,
    CertificateProof,
    CertificateStatus,
    RecognisedGrade,
    RecognitionMode,
    course_certificate_id,
    recognition_id,
)
from creditledger.domain.base import BankAggregate
from creditledger.domain.validation import validate_date, validate_name, validate_sha256
from creditledger.domain.values import RevocationReason
from creditledger.errors import (
    AlreadyRevokedError,
    CertificateRevokedError,
    IllegalTransitionError,
    ValidationError,
)


class CourseCertificate(BankAggregate):
    """The certificate of one learner's pass in one offering.

    Create with :meth:`issue`. Events: ``Issued``, ``Sealed``, ``RecognisedAtHome``,
    ``Revoked``. Recording the home school's recognition here too makes an import and a
    revocation racing each other conflict, so neither misses the other.
    """

    @event("Issued")
    def __init__(self, facts: CertificateFacts, school_proof: CertificateProof) -> None:
        self.facts = facts
        self.school_proof = school_proof
        self.seal: CertificateProof | None = None
        self.status = CertificateStatus.ISSUED
        self.revoked_on: date | None = None
        self.revocation_reason = RevocationReason.ERROR
        self.revocation_note = ""
        self.recognised_by: str | None = None

    @classmethod
    def create_id(cls, facts: CertificateFacts, school_proof: CertificateProof) -> UUID:
        return course_certificate_id(facts.offering_id, facts.learner_id)

    @classmethod
    def issue(cls, *, facts: CertificateFacts, school_proof: CertificateProof) -> CourseCertificate:
        """Record a certificate the offering school has signed (a pass only)."""
        if facts.score < facts.pass_mark:
            raise ValidationError("score", f"{facts.score} is below the pass mark "
                                  f"{facts.pass_mark}: a certificate is issued for a pass only")
        return cls(facts=facts, school_proof=school_proof)

    @property
    def proofs(self) -> tuple[CertificateProof, ...]:
        """The offering school's proof, then the secretariat's (once sealed)."""
        return (self.school_proof,) if self.seal is None else (self.school_proof, self.seal)

    @property
    def is_revoked(self) -> bool:
        return self.status is CertificateStatus.REVOKED

    def countersign(self, proof: CertificateProof, today: date) -> None:
        """The secretariat's proof: beside the school's in a proof set, or (a certificate of
        document version 1) chained to it with ``previous_proof``."""
        self.check_not_revoked()
        if self.seal is not None:
            raise IllegalTransitionError(f"certificate {self.id}", "sealed",
                                         "it was already countersigned")
        chained = self.facts.document_version == 1
        if proof.previous_proof != (self.school_proof.id if chained else None):
            raise ValidationError("proof", "the seal must chain to the offering school's proof"
                                  if chained else "the seal is a proof of its own, chained to "
                                  "no other (a proof set)")
        self._sealed(proof=proof, on=self._day(today))

    @event("Sealed")
    def _sealed(self, proof: CertificateProof, on: date) -> None:
        self.seal = proof
        self.status = CertificateStatus.SEALED

    def revoke(self, *, reason: RevocationReason | str, note: str, today: date) -> None:
        """The offering school revokes the certificate (fraud, error, upheld appeal)."""
        if self.is_revoked:
            raise AlreadyRevokedError(f"certificate {self.id} was already revoked")
        self._revoked(reason=RevocationReason.parse(reason, "reason"),
                      note=validate_name(note, "note", max_length=2000), on=self._day(today))

    @event("Revoked")
    def _revoked(self, reason: RevocationReason, note: str, on: date) -> None:
        self.status = CertificateStatus.REVOKED
        self.revoked_on = on
        self.revocation_reason = reason
        self.revocation_note = f"{reason.value}: {note}"

    def note_recognised(self, *, home_school: str, today: date) -> None:
        """Record that the learner's home school archived and recognised the certificate."""
        self.check_not_revoked()
        if self.seal is None:
            raise IllegalTransitionError(f"certificate {self.id}", self.status.value,
                                         "only a sealed certificate is recognised")
        if self.recognised_by is not None:
            raise IllegalTransitionError(f"certificate {self.id}", "recognised",
                                         f"{self.recognised_by} already recognised it")
        self._recognised_at_home(home_school=home_school, on=validate_date(today, "today"))

    @event("RecognisedAtHome")
    def _recognised_at_home(self, home_school: str, on: date) -> None:
        self.recognised_by = home_school

    def check_not_revoked(self) -> None:
        if self.is_revoked:
            raise CertificateRevokedError(
                f"certificate {self.id} was revoked on {self.revoked_on} "
                f"({self.revocation_note})")

    def _day(self, today: date) -> date:
        day = validate_date(today, "today")
        if day < self.facts.issued_on:
            raise ValidationError("today", f"is before the issue on {self.facts.issued_on}")
        return day


class CertificateRecognition(BankAggregate):
    """The home school's recognition of one certificate (学分互认): imported once.

    ``document_sha256`` is the SHA-256 of the canonical (JCS) document imported, proofs
    included: re-importing the same document is a retry, a different one a conflict. Create
    with :meth:`record`. Events: ``Recognised``, ``Reversed``.
    """

    @event("Recognised")
    def __init__(self, certificate_id: UUID, home_school: str, learner_id: str,
                 mode: RecognitionMode, document_sha256: str, achievement_id: UUID | None,
                 conversion_id: UUID | None, grade: RecognisedGrade | None, on: date) -> None:
        self.certificate_id = certificate_id
        self.home_school = home_school
        self.learner_id = learner_id
        self.mode = mode
        self.document_sha256 = document_sha256
        self.achievement_id = achievement_id
        self.conversion_id = conversion_id
        self.grade = grade
        self.recognised_on = on
        self.reversed = False

    @classmethod
    def create_id(cls, certificate_id: UUID, home_school: str, learner_id: str,
                  mode: RecognitionMode, document_sha256: str, achievement_id: UUID | None,
                  conversion_id: UUID | None, grade: RecognisedGrade | None, on: date) -> UUID:
        return recognition_id(certificate_id)

    @classmethod
    def record(cls, *, certificate_id: UUID, home_school: str, learner_id: str,
               document_sha256: str, achievement_id: UUID | None = None,
               conversion_id: UUID | None = None, grade: RecognisedGrade | None = None,
               today: date) -> CertificateRecognition:
        """Record a recognition as credits (an achievement) or as a grade: exactly one."""
        if (achievement_id is None) == (grade is None):
            raise ValidationError("grade", "a recognition is either credits or a grade")
        mode = RecognitionMode.GRADE if grade is not None else RecognitionMode.CREDITS
        return cls(certificate_id=certificate_id, home_school=home_school,
                   learner_id=learner_id, mode=mode,
                   document_sha256=validate_sha256(document_sha256, "document"),
                   achievement_id=achievement_id, conversion_id=conversion_id, grade=grade,
                   on=validate_date(today, "today"))

    def reverse(self, *, note: str, today: date) -> None:
        """Reverse the recognition after the certificate was revoked (credits or grade)."""
        if self.reversed:
            raise AlreadyRevokedError(f"recognition of certificate {self.certificate_id} "
                                      "was already reversed")
        day = validate_date(today, "today")
        self._reversed(note=validate_name(note, "note", max_length=2000),
                       on=max(day, self.recognised_on))

    @event("Reversed")
    def _reversed(self, note: str, on: date) -> None:
        self.reversed = True
