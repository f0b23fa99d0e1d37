"""Electronic course certificates (电子课程合格证书, R14) and their recognition at home (学分互认).

The offering school issues and signs a certificate for each pass; the secretariat checks the
school's signature and adds the alliance seal; the certificate is exported as an Open Badges 3.0
credential. The learner's home school imports it once and recognises it as credits (a school
with a credit system, optionally converting it into its programme) or as a grade. Revoking a
certificate reverses that recognition in the same commit.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from creditledger.audit import credential
from creditledger.audit.credential import LedgerKeys, ProofRole
from creditledger.audit.vc import integrity, status
from creditledger.crypto import did
from creditledger.crypto.keys import SigningKey
from creditledger.domain.achievement import Achievement
from creditledger.domain.alliance import (
    CertificateFacts,
    CertificateRecognition,
    CertificateStatusEntry,
    CourseCertificate,
    CourseOffering,
    Enrolment,
    EnrolmentStatus,
    RecognisedGrade,
    course_certificate_id,
    recognition_id,
)
from creditledger.domain.base import snapshot
from creditledger.domain.credential_status import LIST_SIZE, StatusEntry, status_entry_id
from creditledger.domain.ids import natural_key_id
from creditledger.domain.values import (
    AchievementKind,
    Category,
    CertificationMethod,
    CourseResultDetails,
    Evidence,
    InstitutionKind,
    RevocationReason,
    RuleRef,
)
from creditledger.errors import (
    ConflictError,
    IllegalTransitionError,
    InvalidCredentialError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)
from creditledger.services.alliance import CONFLICT_RETRIES, AllianceCommands
from creditledger.services.core import retrying
from creditledger.services.transfers import reversed_conversions

STATUS_DRAWS = 16
"""Random draws of a status entry in one list before moving on to the next list."""
ALLOCATED_TOPIC = get_topic(StatusEntry.Allocated)  # type: ignore[attr-defined]


class CertificateCommands(AllianceCommands):
    """Issue, seal, export, check and revoke course certificates; import them at home."""

    # -- queries ---------------------------------------------------------------------------

    def course_certificate(self, certificate_id: UUID) -> CourseCertificate:
        """An electronic course certificate (:class:`NotFoundError` naming ``certificate_id``)."""
        return snapshot(self._course_certificate(certificate_id))

    def certificate_recognition(self, certificate_id: UUID) -> CertificateRecognition:
        """How the home school recognised a certificate (:class:`NotFoundError`)."""
        return snapshot(self._certificate_recognition(certificate_id))

    def _course_certificate(self, certificate_id: UUID) -> CourseCertificate:
        return self._get(CourseCertificate, certificate_id, "course certificate",
                         str(certificate_id), "certificate_id")

    def _certificate_recognition(self, certificate_id: UUID) -> CertificateRecognition:
        return self._get(CertificateRecognition, recognition_id(certificate_id),
                         "recognition of certificate", str(certificate_id), "certificate_id")

    def issue_course_certificate(self, offering_id: UUID, *, learner_id: str,
                                 signer: SigningKey,
                                 today: date | None = None) -> CourseCertificate:
        """The offering school issues the certificate of a pass, signed with ``signer`` (its
        issuer is that key's did:key; the commit is signed by the same key), and claims its
        entry in the revocation list of that key. Retrying returns the certificate."""
        offering, enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)
        if enrolment.status is not EnrolmentStatus.PASSED:
            raise IllegalTransitionError(enrolment.label, enrolment.status.value,
                                         "a certificate is issued for a pass only (合格)")
        certificate_id = course_certificate_id(offering.id, learner_id)
        if self._exists(certificate_id):
            return snapshot(self._course_certificate(certificate_id))
        day = today or self._today()
        if day < enrolment.last_on:
            raise ValidationError("today", f"is before the assessment on {enrolment.last_on}")

        def issue() -> CourseCertificate:
            entry = self._status_entry(signer.key_id, certificate_id)
            facts = self._certificate_facts(offering, enrolment, day, signer, entry)
            document = credential.credential_document(certificate_id, facts)
            proof = credential.sign_proof(document, signer,
                                          proof_id=_proof_id(certificate_id, 1), created=_now())
            certificate = CourseCertificate.issue(facts=facts, school_proof=proof)
            self._save(certificate, entry, signer=signer)
            return certificate

        return snapshot(retrying(issue, CONFLICT_RETRIES))

    def _status_entry(self, key_id: str, certificate_id: UUID) -> StatusEntry:
        """A free entry, drawn at random, in the first list of ``key_id`` with room (a list
        is left once random draws keep meeting taken entries: it is about half full)."""
        for list_number in itertools.count():
            for _ in range(STATUS_DRAWS):
                index = secrets.randbelow(LIST_SIZE)
                if not self._exists(status_entry_id(key_id, list_number, index)):
                    return StatusEntry(key_id=key_id, list_number=list_number, index=index,
                                       certificate_id=certificate_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def status_lists(self, key: SigningKey, *, valid_from: datetime | None = None
                     ) -> list[dict[str, Any]]:
        """The revocation lists of the certificates ``key`` signed, each a
        ``BitstringStatusListCredential`` signed by ``key``, with the bits of revoked
        certificates set (publish them where the certificates' ``statusListCredential`` says;
        regenerate after a revocation)."""
        revoked: dict[int, list[int]] = {}
        for entry in self._status_entries(key.key_id):
            bits = revoked.setdefault(entry.list_number, [])
            if self._course_certificate(entry.certificate_id).is_revoked:
                bits.append(entry.index)
        moment = (valid_from or _now()).astimezone(UTC).replace(microsecond=0)
        return [status.list_credential(key, number, sorted(bits), valid_from=moment)
                for number, bits in sorted(revoked.items())]

    def _status_entries(self, key_id: str) -> list[StatusEntry]:
        rows = self._query("SELECT originator_id FROM stored_events WHERE topic=? "
                           "AND originator_version=1", (ALLOCATED_TOPIC,))
        entries = [self._load(UUID(str(oid))) for (oid,) in rows]
        return [e for e in entries if e.key_id == key_id]

    def countersign_course_certificate(self, certificate_id: UUID, *, signer: SigningKey,
                                       today: date | None = None) -> CourseCertificate:
        """The secretariat checks the school's signature and adds its own: the alliance seal
        (加盖联盟公章), a second proof of the same document (chained to the school's, for a
        certificate of document version 1). Retrying returns the certificate."""
        certificate = self._course_certificate(certificate_id)
        alliance = self._as_secretariat(certificate.facts.alliance, signer)
        if certificate.seal is not None:
            return snapshot(certificate)
        document = credential.credential_document(certificate.id, certificate.facts)
        trust = LedgerKeys(self._registry, school=certificate.facts.school,
                           secretariat=alliance.secretariat)
        school_proof = credential.proof_json(certificate.school_proof)
        key = integrity.verify_proof(document, school_proof,
                                     legacy=certificate.facts.document_version == 1)
        trust.check(ProofRole.OFFERING_SCHOOL, key, integrity.created_at(school_proof))
        seal = credential.sign_proof(document, signer, proof_id=_proof_id(certificate.id, 2),
                                     created=_now(), previous=(certificate.school_proof,))
        certificate.countersign(seal, today or self._today())
        self._save(certificate, signer=signer)
        return snapshot(certificate)

    def export_course_certificate(self, certificate_id: UUID) -> dict[str, Any]:
        """The sealed certificate as an Open Badges 3.0 credential (a JSON object; write it
        with :func:`creditledger.audit.credential.dumps`). Refused before the seal and after a
        revocation."""
        certificate = self._course_certificate(certificate_id)
        certificate.check_not_revoked()
        if certificate.seal is None:
            raise IllegalTransitionError(f"certificate {certificate.id}", "issued",
                                         "the secretariat has not sealed it yet (联盟公章)")
        return _document(certificate)

    def check_course_certificate(self, document: Mapping[str, Any] | bytes | str
                                 ) -> credential.VerifiedCredential:
        """Verify a certificate against this ledger: both proofs, by the keys registered to
        the offering school and the secretariat; the very certificate recorded here; not
        revoked. Raises :class:`~creditledger.audit.credential.InvalidCredentialError` otherwise."""
        doc = _parsed(document)
        try:
            certificate = self._course_certificate(credential.credential_id(doc))
        except NotFoundError:
            raise InvalidCredentialError("no such certificate is recorded in this ledger"
                                         ) from None
        alliance = self._alliance(certificate.facts.alliance)
        trust = LedgerKeys(self._registry, school=certificate.facts.school,
                           secretariat=alliance.secretariat)

        def revoked(_: UUID) -> str | None:
            if not certificate.is_revoked:
                return None
            return f"by {certificate.facts.school} on {certificate.revoked_on} " \
                   f"({certificate.revocation_note})"

        verified = credential.verify_credential(doc, trust=trust, revoked=revoked)
        if certificate.seal is None or credential.digest(doc) != credential.digest(
                _document(certificate)):
            raise InvalidCredentialError("the signatures hold, but the document is not the "
                                         "certificate recorded in the ledger")
        return verified

    def revoke_course_certificate(self, certificate_id: UUID, *, reason: RevocationReason | str,
                                  note: str, signer: SigningKey,
                                  today: date | None = None) -> CourseCertificate:
        """The offering school revokes a certificate. In the same commit the home school's
        recognition is reversed: the achievement is revoked, its credits reversed, and every
        conversion resting on it compensated (as :meth:`CreditBank.revoke` does)."""
        day = today or self._today()

        def revoke() -> CourseCertificate:
            school = self._principal(signer)
            certificate = self._course_certificate(certificate_id)
            if certificate.facts.school != school:
                raise NotAuthorisedError(f"only {certificate.facts.school}, which issued "
                                         "the certificate, may revoke it")
            certificate.revoke(reason=reason, note=note, today=day)
            changed = [certificate, *self._reverse_recognition(certificate, day)]
            self._save(*changed, signer=signer)
            return certificate

        return snapshot(retrying(revoke, CONFLICT_RETRIES))

    # -- recognition at home (学分互认) --------------------------------------------------------

    def import_course_certificate(
        self, document: Mapping[str, Any] | bytes | str, *, signer: SigningKey,
        category: Category | str = Category.MAJOR_ELECTIVE, rule_id: str | None = None,
        agreement_code: str | None = None, today: date | None = None,
    ) -> CertificateRecognition:
        """The learner's home school archives a certificate (存档) and recognises it (R14).

        The document must verify against this ledger (:meth:`check_course_certificate`). A
        school with a credit system recognises it as a course result certified by the
        offering school, credited in ``category`` (default 专业选修: seed 002 Annex 1 counts
        selected courses as electives or minors); with ``rule_id`` (and ``agreement_code``,
        for the two schools' bilateral agreement) it is converted into the learner's
        programme in the same commit. A school without one records a grade, without credits.
        A certificate is imported once: the same document again returns the recognition, a
        different one is a :class:`ConflictError`. All of it is one commit, or nothing.
        """
        home = self._principal(signer)
        institution = self._require_kind(home, InstitutionKind.SCHOOL)
        doc = _parsed(document)
        certificate = self._course_certificate(credential.credential_id(doc))
        certificate.check_not_revoked()
        self.check_course_certificate(doc)
        self._check_home(certificate.facts.learner_id, home)
        if not institution.has_credit_system and (rule_id or agreement_code):
            raise ValidationError("rule_id", f"{home} has no credit system: it records a grade "
                                  "and converts nothing")
        day, parsed = today or self._today(), Category.parse(category, "category")
        return snapshot(self._in_one_commit(signer, lambda: self._recognise(
            certificate.id, doc, institution.has_credit_system, parsed, rule_id,
            agreement_code, signer, day), CONFLICT_RETRIES))

    def _recognise(self, certificate_id: UUID, doc: Mapping[str, Any], credits: bool,
                   category: Category, rule_id: str | None, agreement_code: str | None,
                   signer: SigningKey, day: date) -> CertificateRecognition:
        sha = credential.digest(doc)
        found = self._optional(CertificateRecognition, recognition_id(certificate_id))
        if found is not None:  # imported before: a retry, or another document
            if found.document_sha256 == sha:
                return found
            raise ConflictError(f"certificate {certificate_id} was already imported from "
                                "another document")
        certificate = self._course_certificate(certificate_id)
        certificate.check_not_revoked()
        facts = certificate.facts
        if not credits:
            grade = RecognisedGrade(course_name=facts.course_name, offering_school=facts.school,
                                    term=facts.term, score=facts.score,
                                    score_scale=facts.score_scale, hours=facts.hours)
            recognition = CertificateRecognition.record(
                certificate_id=certificate.id, home_school=self._principal(signer),
                learner_id=facts.learner_id, document_sha256=sha, grade=grade, today=day)
        else:
            achievement = self._course_result(certificate, category, sha, day)
            account = self._account(facts.learner_id)
            account.credit_achievement(achievement)
            self._save(achievement, account, signer=signer)
            conversion = None if rule_id is None else self.convert(
                learner_id=facts.learner_id, source_achievement_ids=[achievement.id],
                rule_id=rule_id, agreement_code=agreement_code, signer=signer, today=day)
            recognition = CertificateRecognition.record(
                certificate_id=certificate.id, home_school=self._principal(signer),
                learner_id=facts.learner_id, document_sha256=sha,
                achievement_id=achievement.id,
                conversion_id=None if conversion is None else conversion.id, today=day)
        certificate.note_recognised(home_school=recognition.home_school, today=day)
        self._save(recognition, certificate, signer=signer)
        return recognition

    def _course_result(self, certificate: CourseCertificate, category: Category, sha: str,
                       day: date) -> Achievement:
        """The certificate as a course result certified by the offering school (R3: its exam
        or assessment), with the certificate as evidence."""
        f = certificate.facts
        achievement = Achievement.recognise(
            kind=AchievementKind.COURSE_RESULT, learner_id=f.learner_id, title=f.course_name,
            certified_by=f.school,
            method=CertificationMethod.parse(f.assessment_method.value, "method"),
            evidence=Evidence(description=f"电子课程合格证书 of {f.school_name}, sealed by "
                              f"{f.alliance_name}", reference=credential.urn(certificate.id),
                              sha256=sha),
            rule=RuleRef(rule_id=f"alliance/{f.alliance}/course-certificate", version=1),
            credits=f.credits, category=category, today=day,
            course=CourseResultDetails(institution=f.school, course_code=f.course_code,
                                       term=f.term, score=f.score, score_scale=f.score_scale))
        if self._exists(achievement.id):
            raise ConflictError(f"{f.learner_id}'s result in {f.school}/{f.course_code}/{f.term} "
                                f"is already recognised (achievement {achievement.id})")
        return achievement

    def _reverse_recognition(self, certificate: CourseCertificate,
                             day: date) -> list[Aggregate | None]:
        recognition = self._optional(CertificateRecognition, recognition_id(certificate.id))
        if recognition is None or recognition.reversed:
            return []
        changed: list[Aggregate | None] = []
        if recognition.achievement_id is not None:
            achievement = self._achievement(recognition.achievement_id)
            if not achievement.is_revoked:
                when = max(day, achievement.record.recognised_on)
                note = f"course certificate revoked: {certificate.revocation_note}"
                achievement.revoke(reason=certificate.revocation_reason, note=note, today=when)
                account = self._account(achievement.learner_id)
                account.reverse_achievement(achievement)
                changed += [achievement, account, reversed_conversions(self, achievement)]
        recognition.reverse(note=f"certificate revoked by {certificate.facts.school}: "
                                 f"{certificate.revocation_note}", today=day)
        return [*changed, recognition]

    def _certificate_facts(self, offering: CourseOffering, enrolment: Enrolment,
                           day: date, signer: SigningKey, entry: StatusEntry
                           ) -> CertificateFacts:
        alliance = self._alliance(offering.alliance)
        school = self._require_kind(offering.school, InstitutionKind.SCHOOL)
        course = offering.course
        assert enrolment.score is not None  # PASSED
        return CertificateFacts(
            alliance=alliance.code, alliance_name=alliance.name, alliance_id=alliance.id,
            offering_id=offering.id, school=school.code, school_name=school.name,
            course_code=course.course_code, course_name=course.name,
            course_type=course.course_type, introduction=course.introduction,
            hours=course.hours, credits=course.credits, assessment_method=course.assessment_method,
            score=enrolment.score, score_scale=Decimal(100), pass_mark=course.pass_mark,
            by_makeup=enrolment.by_makeup, term=offering.semester,
            learner_id=enrolment.learner_id, identity_salt=secrets.token_hex(16), issued_on=day,
            issuer=did.did_key(signer.public_key), ledger_id=self._ledger.ledger_id,
            status=CertificateStatusEntry(key_id=entry.key_id, list_number=entry.list_number,
                                          index=entry.index))


def _document(certificate: CourseCertificate) -> dict[str, Any]:
    return credential.assemble(credential.credential_document(certificate.id, certificate.facts),
                               certificate.proofs)


def _parsed(document: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    if isinstance(document, bytes | str):
        return credential.parse_credential(document)
    return dict(document)


def _proof_id(certificate_id: UUID, n: int) -> str:
    return credential.urn(natural_key_id("certificate_proof", str(certificate_id), str(n)))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
