"""Inter-school course selection and credit recognition (课程互选、学分互认), seed 002, R10–R17.

:class:`AllianceCommands` is the part of :class:`~creditledger.bank.CreditBank` with which an
alliance secretariat (联盟秘书处) founds an alliance, admits member schools and keeps the shared
catalog (准入退出); member schools submit course offerings (Annex 2) by the deadline, check their
learners' eligibility (资格审查), admit other schools' learners while seats last, record
absences, assessments and makeups, and issue electronic course certificates (电子课程合格证书)
that the secretariat seals; the home school imports a certificate once and recognises it as
credits or as a grade; revoking it reverses that recognition. The alliance runs one ledger (the
secretariat builds the credit bank system, seed 002 §三(四)2), so every school reads the same
certificates, keys and revocations. Each command checks who is asking and writes one signed
commit or nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from uuid import UUID

import typer
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from creditledger import credential
from creditledger.credential import InvalidCredentialError, LedgerKeys, ProofRole
from creditledger.crypto.keys import SigningKey
from creditledger.domain.achievement import Achievement
from creditledger.domain.alliance import (
    Alliance,
    CertificateFacts,
    CertificateRecognition,
    CourseCertificate,
    CourseInfo,
    CourseOffering,
    Enrolment,
    EnrolmentStatus,
    IllegalTransitionError,
    RecognisedGrade,
    alliance_id,
    course_certificate_id,
    enrolment_id,
    recognition_id,
)
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
    CreditLedgerError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)
from creditledger.ledger import Ledger

if TYPE_CHECKING:
    from creditledger.domain import Conversion, CreditTransfers, Institution, LearnerAccount

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: How often a command is re-run when another writer changed one of its aggregates first (for
#: an admission: took or freed a seat). Every re-run reloads and checks everything again, so
#: the capacity holds however many writers there are; this only bounds the work.
CONFLICT_RETRIES = 12


class AllianceCommands(Ledger):
    """Alliances, the shared catalog, enrolments, certificates and recognition (mixed in)."""

    if TYPE_CHECKING:  # provided by CreditBank and TransferCommands

        def _principal(self, signer: SigningKey) -> str: ...
        def _require_kind(self, code: str, *kinds: InstitutionKind) -> Institution: ...
        def _get(self, cls: type[A], aggregate_id: UUID, kind: str, key: str, field: str) -> A: ...
        def _exists(self, aggregate_id: UUID) -> bool: ...
        def account(self, learner_id: str) -> LearnerAccount: ...
        def achievement(self, achievement_id: UUID) -> Achievement: ...
        def _reverse_conversions(self, achievement: Achievement) -> CreditTransfers | None: ...
        def convert(self, *, learner_id: str, source_achievement_ids: Any, rule_id: str,
                    signer: SigningKey, agreement_code: str | None = None,
                    today: date | None = None) -> Conversion: ...

    # -- queries ---------------------------------------------------------------------------

    def alliance(self, code: str) -> Alliance:
        """The alliance ``code`` (:class:`NotFoundError` naming ``alliance``)."""
        return self._get(Alliance, alliance_id(code), "alliance", code, "alliance")

    def course_offering(self, offering_id: UUID) -> CourseOffering:
        return self._get(CourseOffering, offering_id, "course offering", str(offering_id),
                         "offering_id")

    def alliance_enrolment(self, offering_id: UUID, learner_id: str) -> Enrolment:
        return self._get(Enrolment, enrolment_id(offering_id, learner_id), "enrolment",
                         f"{learner_id} in {offering_id}", "learner_id")

    def course_certificate(self, certificate_id: UUID) -> CourseCertificate:
        return self._get(CourseCertificate, certificate_id, "course certificate",
                         str(certificate_id), "certificate_id")

    def certificate_recognition(self, certificate_id: UUID) -> CertificateRecognition:
        return self._get(CertificateRecognition, recognition_id(certificate_id),
                         "recognition of certificate", str(certificate_id), "certificate_id")

    def satisfaction(self, offering_id: UUID) -> tuple[Decimal | None, int]:
        """Mean satisfaction (1–5, two places) of an offering's enrolled learners, and how many
        rated it (R10); ``(None, 0)`` before the first rating."""
        offering = self.course_offering(offering_id)
        ratings = [r for r in (self.alliance_enrolment(offering_id, learner).rating
                               for learner in offering.seats) if r is not None]
        if not ratings:
            return None, 0
        mean = (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"))
        return mean, len(ratings)

    # -- the alliance and its members ------------------------------------------------------

    def found_alliance(self, *, code: str, name: str, signer: SigningKey,
                       today: date | None = None) -> Alliance:
        """A secretariat founds an alliance (联盟) and coordinates it."""
        secretariat = self._principal(signer)
        self._require_kind(secretariat, InstitutionKind.ALLIANCE_SECRETARIAT)
        alliance = Alliance.found(code=code, name=name, secretariat=secretariat,
                                  today=today or _today())
        if self._exists(alliance.id):
            raise ConflictError(f"alliance {alliance.code} already exists")
        self.save(alliance, signer=signer)
        return alliance

    def admit_member(self, *, alliance: str, school: str, signer: SigningKey,
                     today: date | None = None) -> Alliance:
        """The secretariat admits a school as a member (retrying returns the alliance)."""
        found = self._as_secretariat(alliance, signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        if school not in found.members:
            found.admit(school, today or _today())
            self.save(found, signer=signer)
        return found

    def declare_credit_system(self, *, has_credit_system: bool, signer: SigningKey) -> Institution:
        """A school states whether it runs a credit system (学分制): it decides whether imported
        certificates become credits or grades (R14)."""
        school = self._principal(signer)
        institution = self._require_kind(school, InstitutionKind.SCHOOL)
        institution.set_credit_system(has_credit_system)
        if institution.pending_events:
            self.save(institution, signer=signer)
        return institution

    # -- the catalog (准入退出) ----------------------------------------------------------------

    def submit_offering(self, *, alliance: str, semester: str, course: CourseInfo,
                        signer: SigningKey, today: date | None = None) -> CourseOffering:
        """A member school submits a course for ``semester`` (its Annex 2 row), by 30 June
        (autumn semester) or 31 December (spring semester)."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        self.alliance(alliance).check_member(school, "signer")
        offering = CourseOffering.submit(alliance=alliance, school=school, semester=semester,
                                         course=course, today=today or _today())
        if self._exists(offering.id):
            existing = self.course_offering(offering.id)
            if existing.course == offering.course and existing.alliance == offering.alliance:
                return existing
            raise ConflictError(f"{offering.label} was already submitted with other details")
        self.save(offering, signer=signer)
        return offering

    def publish_offering(self, offering_id: UUID, *, signer: SigningKey,
                         today: date | None = None) -> CourseOffering:
        """The secretariat reviews and publishes a submitted offering (认定、下发)."""
        offering = self.course_offering(offering_id)
        self._as_secretariat(offering.alliance, signer)
        offering.publish(today or _today())
        self.save(offering, signer=signer)
        return offering

    def withdraw_offering(self, offering_id: UUID, *, reason: str, signer: SigningKey,
                          today: date | None = None) -> CourseOffering:
        """The secretariat takes an offering out of the catalog (退出), recording the
        satisfaction it cites (基于学生满意度的课程淘汰机制)."""
        offering = self.course_offering(offering_id)
        self._as_secretariat(offering.alliance, signer)
        mean, count = self.satisfaction(offering_id)
        offering.withdraw(reason=reason, satisfaction=mean, ratings=count,
                          today=today or _today())
        self.save(offering, signer=signer)
        return offering

    # -- enrolment (R12) ---------------------------------------------------------------------

    def request_enrolment(self, offering_id: UUID, *, learner_id: str, signer: SigningKey,
                          today: date | None = None) -> Enrolment:
        """The home school records its learner's request for a published course of another
        member school (learners hold no keys). Retrying returns the enrolment."""
        home = self._principal(signer)
        self._check_home(learner_id, home)
        offering = self.course_offering(offering_id)
        offering.check_open()
        self.alliance(offering.alliance).check_member(home, "signer")
        course = offering.course
        enrolment = Enrolment.request(
            offering_id=offering.id, alliance=offering.alliance, school=offering.school,
            course_code=course.course_code, semester=offering.semester, home_school=home,
            learner_id=learner_id, total_hours=course.total_hours, pass_mark=course.pass_mark,
            today=today or _today())
        if self._exists(enrolment.id):
            return self.alliance_enrolment(offering_id, learner_id)
        self.save(enrolment, signer=signer)
        return enrolment

    def approve_enrolment(self, offering_id: UUID, *, learner_id: str, signer: SigningKey,
                          today: date | None = None) -> Enrolment:
        """The home school finds its learner eligible (资格审查) and forwards the request."""
        enrolment = self._enrolment(offering_id, learner_id, signer, home=True)[1]
        if enrolment.status is not EnrolmentStatus.APPROVED:
            enrolment.approve(today or _today())
            self.save(enrolment, signer=signer)
        return enrolment

    def reject_enrolment(self, offering_id: UUID, *, learner_id: str, reason: str,
                         signer: SigningKey, today: date | None = None) -> Enrolment:
        """The home school finds its learner not eligible."""
        enrolment = self._enrolment(offering_id, learner_id, signer, home=True)[1]
        enrolment.reject(reason, today or _today())
        self.save(enrolment, signer=signer)
        return enrolment

    def admit_learner(self, offering_id: UUID, *, learner_id: str, signer: SigningKey,
                      platform_account: str | None = None,
                      today: date | None = None) -> Enrolment:
        """The offering school admits an approved learner while seats last and opens their
        platform account. The seat and the admission are one commit; if another writer took a
        seat first, the command reloads and checks the capacity again, so the capacity holds
        under any number of concurrent writers (:class:`CapacityError` when full)."""
        day = today or _today()

        def admit() -> Enrolment:
            offering, enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)
            if enrolment.status is EnrolmentStatus.ADMITTED:
                return enrolment  # a retry
            enrolment.admit(platform_account, day)
            offering.take_seat(learner_id, day)
            self.save(offering, enrolment, signer=signer)
            return enrolment

        return _retrying(admit, CONFLICT_RETRIES)

    def cancel_enrolment(self, offering_id: UUID, *, learner_id: str, reason: str,
                         signer: SigningKey, today: date | None = None) -> Enrolment:
        """The home or the offering school cancels an enrolment before assessment; an
        admitted learner's seat is freed in the same commit."""
        day = today or _today()

        def cancel() -> Enrolment:
            offering, enrolment = self._enrolment(offering_id, learner_id, signer, home=True,
                                                  offering=True)
            if enrolment.cancel(by=self._principal(signer), reason=reason, today=day):
                offering.release_seat(learner_id, day)
                self.save(offering, enrolment, signer=signer)
            else:
                self.save(enrolment, signer=signer)
            return enrolment

        return _retrying(cancel, CONFLICT_RETRIES)

    # -- attendance, assessment, makeup (R13), evaluation (R10) --------------------------------

    def record_absence(self, offering_id: UUID, *, learner_id: str, hours: int,
                       signer: SigningKey, today: date | None = None) -> Enrolment:
        """The offering school records absent hours; at a third of the total hours the learner
        is disqualified from assessment (取消考核资格)."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.record_absence(hours, today or _today())
        self.save(enrolment, signer=signer)
        return enrolment

    def assess(self, offering_id: UUID, *, learner_id: str, score: Decimal, signer: SigningKey,
               today: date | None = None) -> Enrolment:
        """The offering school records the assessment (考核); a pass earns the credits."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.assess(score, today or _today())
        self.save(enrolment, signer=signer)
        return enrolment

    def decide_makeup(self, offering_id: UUID, *, learner_id: str, allowed: bool,
                      signer: SigningKey, today: date | None = None) -> Enrolment:
        """After a fail, the offering school decides whether a makeup (补考) is allowed."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.decide_makeup(allowed, today or _today())
        self.save(enrolment, signer=signer)
        return enrolment

    def assess_makeup(self, offering_id: UUID, *, learner_id: str, score: Decimal,
                      signer: SigningKey, today: date | None = None) -> Enrolment:
        """The offering school records the makeup's result; it counts."""
        enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)[1]
        enrolment.assess_makeup(score, today or _today())
        self.save(enrolment, signer=signer)
        return enrolment

    def rate_course(self, offering_id: UUID, *, learner_id: str, rating: int,
                    signer: SigningKey, today: date | None = None) -> Enrolment:
        """Record an enrolled learner's satisfaction (1–5), through either school."""
        enrolment = self._enrolment(offering_id, learner_id, signer, home=True, offering=True)[1]
        enrolment.rate(rating, by=self._principal(signer), today=today or _today())
        self.save(enrolment, signer=signer)
        return enrolment

    # -- certificates (R14) ----------------------------------------------------------------

    def issue_course_certificate(self, offering_id: UUID, *, learner_id: str,
                                 signer: SigningKey,
                                 today: date | None = None) -> CourseCertificate:
        """The offering school issues the certificate of a pass and signs it with its key
        (the commit is signed by the same key). Retrying returns the certificate."""
        offering, enrolment = self._enrolment(offering_id, learner_id, signer, offering=True)
        if enrolment.status is not EnrolmentStatus.PASSED:
            raise IllegalTransitionError(enrolment.label, enrolment.status.value,
                                         "a certificate is issued for a pass only (合格)")
        certificate_id = course_certificate_id(offering.id, learner_id)
        if self._exists(certificate_id):
            return self.course_certificate(certificate_id)
        day = today or _today()
        if day < enrolment.last_on:
            raise ValidationError("today", f"is before the assessment on {enrolment.last_on}")
        facts = self._certificate_facts(offering, enrolment, day)
        document = credential.credential_document(certificate_id, facts)
        proof = credential.sign_proof(document, signer, proof_id=_proof_id(certificate_id, 1),
                                      created=_now())
        certificate = CourseCertificate.issue(facts=facts, school_proof=proof)
        self.save(certificate, signer=signer)
        return certificate

    def countersign_course_certificate(self, certificate_id: UUID, *, signer: SigningKey,
                                       today: date | None = None) -> CourseCertificate:
        """The secretariat checks the school's signature and adds its own, chained to it:
        the alliance seal (加盖联盟公章). Retrying returns the certificate."""
        certificate = self.course_certificate(certificate_id)
        alliance = self._as_secretariat(certificate.facts.alliance, signer)
        if certificate.seal is not None:
            return certificate
        document = credential.credential_document(certificate.id, certificate.facts)
        trust = LedgerKeys(self.registry, school=certificate.facts.school,
                           secretariat=alliance.secretariat)
        credential.verify_proof(ProofRole.OFFERING_SCHOOL,
                                credential.proof_json(certificate.school_proof), document, trust)
        seal = credential.sign_proof(document, signer, proof_id=_proof_id(certificate.id, 2),
                                     created=_now(), previous=(certificate.school_proof,))
        certificate.countersign(seal, today or _today())
        self.save(certificate, signer=signer)
        return certificate

    def export_course_certificate(self, certificate_id: UUID) -> dict[str, Any]:
        """The sealed certificate as an Open Badges 3.0 credential (a JSON object; write it
        with :func:`creditledger.credential.dumps`). Refused before the seal and after a
        revocation."""
        certificate = self.course_certificate(certificate_id)
        certificate.check_not_revoked()
        if certificate.seal is None:
            raise IllegalTransitionError(f"certificate {certificate.id}", "issued",
                                         "the secretariat has not sealed it yet (联盟公章)")
        return _document(certificate)

    def check_course_certificate(self, document: Mapping[str, Any] | bytes | str
                                 ) -> credential.VerifiedCredential:
        """Verify a certificate against this ledger: both proofs, by the keys registered to
        the offering school and the secretariat; the very certificate recorded here; not
        revoked. Raises :class:`~creditledger.credential.InvalidCredentialError` otherwise."""
        doc = _parsed(document)
        try:
            certificate = self.course_certificate(credential.credential_id(doc))
        except NotFoundError:
            raise InvalidCredentialError("no such certificate is recorded in this ledger"
                                         ) from None
        alliance = self.alliance(certificate.facts.alliance)
        trust = LedgerKeys(self.registry, school=certificate.facts.school,
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
        day = today or _today()

        def revoke() -> CourseCertificate:
            school = self._principal(signer)
            certificate = self.course_certificate(certificate_id)
            if certificate.facts.school != school:
                raise NotAuthorisedError(f"only {certificate.facts.school}, which issued "
                                         "the certificate, may revoke it")
            certificate.revoke(reason=reason, note=note, today=day)
            changed = [certificate, *self._reverse_recognition(certificate, day)]
            self.save(*changed, signer=signer)
            return certificate

        return _retrying(revoke, CONFLICT_RETRIES)

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
        certificate = self.course_certificate(credential.credential_id(doc))
        certificate.check_not_revoked()
        self.check_course_certificate(doc)
        self._check_home(certificate.facts.learner_id, home)
        if not institution.has_credit_system and (rule_id or agreement_code):
            raise ValidationError("rule_id", f"{home} has no credit system: it records a grade "
                                  "and converts nothing")
        day, parsed = today or _today(), Category.parse(category, "category")
        return self._in_one_commit(signer, lambda: self._recognise(
            certificate.id, doc, institution.has_credit_system, parsed, rule_id,
            agreement_code, signer, day))

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
        certificate = self.course_certificate(certificate_id)
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
            account = self.account(facts.learner_id)
            account.credit_achievement(achievement)
            self.save(achievement, account, signer=signer)
            conversion = None if rule_id is None else self.convert(
                learner_id=facts.learner_id, source_achievement_ids=[achievement.id],
                rule_id=rule_id, agreement_code=agreement_code, signer=signer, today=day)
            recognition = CertificateRecognition.record(
                certificate_id=certificate.id, home_school=self._principal(signer),
                learner_id=facts.learner_id, document_sha256=sha,
                achievement_id=achievement.id,
                conversion_id=None if conversion is None else conversion.id, today=day)
        certificate.note_recognised(home_school=recognition.home_school, today=day)
        self.save(recognition, certificate, signer=signer)
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
            achievement = self.achievement(recognition.achievement_id)
            if not achievement.is_revoked:
                when = max(day, achievement.record.recognised_on)
                note = f"course certificate revoked: {certificate.revocation_note}"
                achievement.revoke(reason=certificate.revocation_reason, note=note, today=when)
                account = self.account(achievement.learner_id)
                account.reverse_achievement(achievement)
                changed += [achievement, account, self._reverse_conversions(achievement)]
        recognition.reverse(note=f"certificate revoked by {certificate.facts.school}: "
                                 f"{certificate.revocation_note}", today=day)
        return [*changed, recognition]

    # -- helpers ---------------------------------------------------------------------------

    def _as_secretariat(self, code: str, signer: SigningKey) -> Alliance:
        principal = self._principal(signer)
        alliance = self.alliance(code)
        if principal != alliance.secretariat:
            raise NotAuthorisedError(f"only {alliance.secretariat}, the secretariat of "
                                     f"{alliance.code}, may do this (not {principal})")
        return alliance

    def _check_home(self, learner_id: str, school: str) -> None:
        home = self.account(learner_id).home_institution
        if home != school:
            raise NotAuthorisedError(f"only the learner's home school ({home}) may do this "
                                     f"for {learner_id}, not {school}")

    def _enrolment(self, offering_id: UUID, learner_id: str, signer: SigningKey, *,
                   home: bool = False, offering: bool = False
                   ) -> tuple[CourseOffering, Enrolment]:
        """The offering and the enrolment, once the signer is checked: the learner's home
        school (``home``) and/or the offering school (``offering``)."""
        principal = self._principal(signer)
        found = self.course_offering(offering_id)
        enrolment = self.alliance_enrolment(offering_id, learner_id)
        allowed = [s for s, ok in ((enrolment.home_school, home), (found.school, offering)) if ok]
        if principal not in allowed:
            raise NotAuthorisedError(f"only {' or '.join(allowed)} may do this for "
                                     f"{enrolment.label}, not {principal}")
        return found, enrolment

    def _certificate_facts(self, offering: CourseOffering, enrolment: Enrolment,
               day: date) -> CertificateFacts:
        alliance = self.alliance(offering.alliance)
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
            learner_id=enrolment.learner_id, identity_salt=secrets.token_hex(16), issued_on=day)

    def _optional(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            found: object = self.load(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None

    def _in_one_commit(self, signer: SigningKey, work: Callable[[], T]) -> T:
        """Run ``work`` (which loads and saves) so that everything it saves is one commit."""
        if self._unit is not None:  # already inside a caller's unit of work
            return work()

        def once() -> T:
            with self.unit_of_work(signer):
                result = work()
            return result

        return _retrying(once, CONFLICT_RETRIES)


def _retrying(command: Callable[[], T], attempts: int) -> T:
    """Run ``command``; if another writer changed the same aggregate first, run it again on
    fresh state (every check runs again). Still losing after ``attempts``: ConflictError."""
    for _ in range(attempts - 1):
        try:
            return command()
        except RecordConflictError:
            continue
    try:
        return command()
    except RecordConflictError as e:
        raise ConflictError(f"other writers changed the same records {attempts} times in a "
                            "row; nothing was written, try again") from e


def _document(certificate: CourseCertificate) -> dict[str, Any]:
    return credential.assemble(credential.credential_document(certificate.id, certificate.facts),
                               certificate.proofs)


def _parsed(document: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    if isinstance(document, bytes | str):
        return credential.parse_credential(document)
    return dict(document)


def _proof_id(certificate_id: UUID, n: int) -> str:
    return credential.urn(natural_key_id("certificate_proof", str(certificate_id), str(n)))


def _today() -> date:
    return datetime.now(UTC).date()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- command line ------------------------------------------------------------------------------


class Report(StrEnum):
    course = "course"
    school = "school"
    satisfaction = "satisfaction"


def register_cli(app: typer.Typer) -> None:
    """Add ``alliance-report``, ``verify-credential`` and ``export-credential`` to ``app``."""
    credential.register_cli(app)

    @app.command("alliance-report")
    def alliance_report(
        ledger: Annotated[str, typer.Argument(
            metavar="LEDGER", help="The alliance ledger: a file or a postgresql:// URL.")],
        month: Annotated[str | None, typer.Option(
            "--month", help="Only this month, e.g. 2022-09.")] = None,
        by: Annotated[Report, typer.Option(
            "--by", help="course, school (每月通报) or satisfaction (满意度).")] = Report.course,
        views: Annotated[Path | None, typer.Option(
            "--views", help="The views database (default: LEDGER.views.db beside a ledger "
            "file; required for a postgresql:// ledger).")] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    ) -> None:
        """Monthly enrolments and results per course or per school (R17), or satisfaction
        per course (R10), from the alliance read models."""
        from creditledger import cli
        from creditledger.projections import alliance as views_of

        try:
            shape = cli.Format(fmt)
        except ValueError:
            cli._fail(f"--format: {fmt!r} is not table, json or csv")
        try:
            db = cli._projector(ledger, views).db
            if by is Report.satisfaction:
                rows: list[Any] = views_of.satisfaction(db)
            elif by is Report.school:
                rows = views_of.monthly_by_school(db, month)
            else:
                rows = views_of.monthly_by_course(db, month)
        except CreditLedgerError as e:
            cli._fail(str(e))
        title = {Report.course: "enrolments and results per course and month",
                 Report.school: "每月通报: enrolments and results per school and month",
                 Report.satisfaction: "satisfaction per course (满意度)"}[by]
        cli._emit(cli._structs(rows), shape, title)
