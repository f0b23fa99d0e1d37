"""``CreditBank``: the facade a school system embeds (学分银行).

Every command loads the aggregates it needs, checks who is asking (the principal the signing
key is registered to), lets the pure domain validate and decide, and saves everything the command
changed in **one** signed commit — all of it or nothing. Errors are typed and name the field.

Who may do what:

- the root registers institutions (and their keys);
- a school defines its own programmes, courses and modules and maps certificates onto them;
- a training & evaluation organisation registers its own certificates;
- a school opens accounts for its students, and for members of society it receives;
- only the institution that owns a course (or issued a certificate, training record...) may
  recognise an achievement for it, and only the certifying institution may revoke it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from creditledger.alliance import AllianceCommands
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain import (
    Achievement,
    AchievementKind,
    AssessmentMethod,
    Category,
    Certificate,
    CertificateDetails,
    CertificateLevel,
    CertificationMethod,
    Course,
    CreditFormula,
    Evidence,
    Institution,
    InstitutionKind,
    LearnerAccount,
    LearnerType,
    LearningRecordDetails,
    PersonalData,
    Programme,
    RevocationReason,
    RuleRef,
    certificate_id,
    check_may_recognise,
    check_retry,
    course_id,
    institution_id,
    learner_account_id,
    programme_id,
    recognise_joint_assessment,
)
from creditledger.errors import (
    ConflictError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)
from creditledger.ledger import Ledger
from creditledger.pilot import PilotCommands
from creditledger.transfers import TransferCommands

A = TypeVar("A", bound=Aggregate)

LEARNING_RECORD_KINDS = frozenset(
    {
        AchievementKind.QUALIFICATION_CERTIFICATE,
        AchievementKind.TRAINING_RECORD,
        AchievementKind.ONLINE_COURSE,
        AchievementKind.DIPLOMA,
    }
)


class CreditBank(AllianceCommands, TransferCommands, PilotCommands, Ledger):
    """The credit bank application: catalog, accounts, recognition and revocation, and (from
    :class:`~creditledger.transfers.TransferCommands`) credit transfers and exemptions; (from
    :class:`~creditledger.alliance.AllianceCommands`) inter-school course selection (课程互选)."""

    name = "CreditBank"

    # -- loading ---------------------------------------------------------------------------

    def _get(self, cls: type[A], aggregate_id: UUID, kind: str, key: str, field: str) -> A:
        try:
            found: Aggregate = self.load(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(kind, key, field) from None
        if not isinstance(found, cls):
            raise NotFoundError(kind, key, field)
        return found

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.load(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def institution(self, code: str) -> Institution:
        """The institution with this code (:class:`NotFoundError` naming ``institution``)."""
        return self._get(Institution, institution_id(code), "institution", code, "institution")

    def programme(self, institution: str, code: str) -> Programme:
        return self._get(Programme, programme_id(institution, code), "programme",
                         f"{institution}/{code}", "programme_code")

    def course(self, owner: str, code: str) -> Course:
        return self._get(Course, course_id(owner, code), "course", f"{owner}/{code}",
                         "course_code")

    def certificate(self, issuer: str, code: str) -> Certificate:
        return self._get(Certificate, certificate_id(issuer, code), "certificate",
                         f"{issuer}/{code}", "certificate_code")

    def account(self, learner_id: str) -> LearnerAccount:
        """A learner's account (:class:`NotFoundError` naming ``learner_id``)."""
        return self._get(LearnerAccount, learner_account_id(learner_id), "learner", learner_id,
                         "learner_id")

    def achievement(self, achievement_id: UUID) -> Achievement:
        return self._get(Achievement, achievement_id, "achievement", str(achievement_id),
                         "achievement_id")

    def balances(self, learner_id: str) -> dict[Category, Decimal]:
        """A learner's credits per category: recognised minus revoked."""
        return self.account(learner_id).balances()

    # -- who is asking ---------------------------------------------------------------------

    def _principal(self, signer: SigningKey) -> str:
        """The institution the signer's key is registered to; it must be registered."""
        code = self.principal_of(signer)
        self.institution(code)
        return code

    def _require_kind(self, code: str, *kinds: InstitutionKind) -> Institution:
        inst = self.institution(code)
        if inst.kind not in kinds:
            allowed = " or ".join(k.value for k in kinds)
            raise NotAuthorisedError(f"{code} is a {inst.kind.value}; only a {allowed} may do this")
        return inst

    # -- institutions ----------------------------------------------------------------------

    def register_institution(
        self,
        *,
        code: str,
        name: str,
        kind: InstitutionKind | str,
        public_key: PublicKey,
        root_key: SigningKey,
        has_credit_system: bool = False,
    ) -> Institution:
        """Register an institution and its signing key, in one commit signed by the root."""
        if self._exists(institution_id(code)):
            raise ConflictError(f"institution {code} is already registered")
        inst = Institution.register(code=code, name=name, kind=kind,
                                    has_credit_system=has_credit_system)
        registry = self.registry
        registry.register(inst.code, public_key, datetime.now(UTC))
        self.save(registry, inst, signer=root_key)
        return inst

    # -- catalog ---------------------------------------------------------------------------

    def define_programme(
        self,
        *,
        code: str,
        name: str,
        required_credits: Mapping[Category | str, Decimal] | None = None,
        signer: SigningKey,
    ) -> Programme:
        """A school defines one of its programmes (专业) and the credits it requires."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        programme = Programme.establish(institution=school, code=code, name=name,
                                        required_credits=required_credits)
        self._refuse_existing(programme.id, "programme", f"{school}/{code}", "code")
        self.save(programme, signer=signer)
        return programme

    def define_course(
        self,
        *,
        code: str,
        name: str,
        category: Category | str,
        nature: str,
        course_type: str,
        attribute: str,
        theory_hours: int,
        practice_hours: int,
        difficulty: Decimal,
        assessment_method: AssessmentMethod | str,
        pass_mark: Decimal = Decimal(60),
        formula: CreditFormula | None = None,
        programmes: Iterable[str] = (),
        signer: SigningKey,
    ) -> Course:
        """A school defines a course (R1) and, in the same commit, adds it to its programmes."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        course = Course.define(
            owner=school, code=code, name=name, category=category, nature=nature,
            course_type=course_type, attribute=attribute, theory_hours=theory_hours,
            practice_hours=practice_hours, difficulty=difficulty,
            assessment_method=assessment_method, pass_mark=pass_mark, formula=formula,
        )
        self._refuse_existing(course.id, "course", f"{school}/{code}", "code")
        changed: list[Aggregate] = [course]
        for programme_code in programmes:
            programme = self.programme(school, programme_code)
            programme.add_course(course)
            changed.append(programme)
        self.save(*changed, signer=signer)
        return course

    def define_module(
        self, *, programme_code: str, code: str, name: str, course_codes: Iterable[str],
        signer: SigningKey,
    ) -> Programme:
        """A school groups courses of a programme into a module (课程模块)."""
        school = self._principal(signer)
        programme = self.programme(school, programme_code)
        programme.define_module(code=code, name=name, course_codes=course_codes)
        self.save(programme, signer=signer)
        return programme

    def register_certificate(
        self,
        *,
        code: str,
        name: str,
        levels: Iterable[CertificateLevel | str],
        majors: Iterable[str] = (),
        name_en: str = "",
        signer: SigningKey,
    ) -> Certificate:
        """A training & evaluation organisation registers its 1+X certificate (R18)."""
        issuer = self._principal(signer)
        self._require_kind(issuer, InstitutionKind.TRAINING_ORGANISATION)
        certificate = Certificate.register(issuer=issuer, code=code, name=name, levels=levels,
                                           name_en=name_en, majors=majors)
        self._refuse_existing(certificate.id, "certificate", f"{issuer}/{code}", "code")
        self.save(certificate, signer=signer)
        return certificate

    def integrate_certificate(
        self,
        *,
        issuer: str,
        certificate_code: str,
        level: CertificateLevel | str,
        programme_code: str,
        course_codes: Iterable[str] = (),
        module_codes: Iterable[str] = (),
        signer: SigningKey,
    ) -> Certificate:
        """A school maps a certificate level onto courses/modules of its programme (课证融合)."""
        school = self._principal(signer)
        programme = self.programme(school, programme_code)
        certificate = self.certificate(issuer, certificate_code)
        certificate.integrate(level=level, programme=programme, course_codes=course_codes,
                              module_codes=module_codes)
        self.save(certificate, signer=signer)
        return certificate

    def _refuse_existing(self, aggregate_id: UUID, kind: str, key: str, field: str) -> None:
        if self._exists(aggregate_id):
            raise ValidationError(field, f"{kind} {key} is already defined")

    # -- learners --------------------------------------------------------------------------

    def open_account(
        self,
        *,
        learner_id: str,
        learner_type: LearnerType | str,
        personal_data: PersonalData,
        programme_code: str | None = None,
        signer: SigningKey,
    ) -> LearnerAccount:
        """Open a personal learning account (个人学习账号, R2) at the signer's school.

        A student needs a programme of that school; a member of society (社会成员) may have none
        yet and enrol later (R21). Opening the same learner twice is refused.
        """
        school = self._principal(signer)
        kind = LearnerType.parse(learner_type, "learner_type")
        if programme_code is not None:
            self.programme(school, programme_code)
        home = school if (programme_code is not None or kind is LearnerType.STUDENT) else None
        account = LearnerAccount.open(learner_id=learner_id, learner_type=kind,
                                      personal_data=personal_data, home_institution=home,
                                      programme_code=programme_code)
        self._refuse_existing(account.id, "learner account", learner_id, "learner_id")
        self.save(account, signer=signer)
        return account

    def enrol(self, *, learner_id: str, programme_code: str, signer: SigningKey) -> LearnerAccount:
        """A school admits a learner (e.g. a member of society, R21) into one of its programmes."""
        school = self._principal(signer)
        self.programme(school, programme_code)
        account = self.account(learner_id)
        account.enrol(institution=school, programme_code=programme_code)
        self.save(account, signer=signer)
        return account

    # -- recognition -----------------------------------------------------------------------

    def recognise_course_result(
        self,
        *,
        learner_id: str,
        course_code: str,
        term: str,
        score: Decimal | None,
        evidence: Evidence,
        signer: SigningKey,
        course_owner: str | None = None,
        today: date | None = None,
    ) -> Achievement:
        """The school that owns the course recognises a passed result (R3) and credits it.

        ``course_owner`` defaults to the signer's school; naming another school's course is
        refused with :class:`NotAuthorisedError` and nothing is written.
        """
        school = self._principal(signer)
        course = self.course(course_owner or school, course_code)
        check_may_recognise(school, course)
        account = self.account(learner_id)
        achievement = Achievement.recognise_course_result(
            learner_id=learner_id, course=course, term=term, score=score, evidence=evidence,
            today=today or _today(),
        )
        return self._keep(achievement, account, signer)

    def recognise_certificate(
        self,
        *,
        learner_id: str,
        certificate_code: str,
        number: str,
        level: CertificateLevel | str,
        issued_on: date,
        expires_on: date | None,
        credits: Decimal,
        category: Category | str,
        rule: RuleRef,
        evidence: Evidence,
        signer: SigningKey,
        issuer: str | None = None,
        method: CertificationMethod | str = CertificationMethod.MATCHING,
        today: date | None = None,
    ) -> Achievement:
        """The issuing organisation recognises a 1+X certificate (R5, R18) and credits it.

        ``issuer`` defaults to the signer's organisation; anyone else is refused.
        """
        principal = self._principal(signer)
        certificate = self.certificate(issuer or principal, certificate_code)
        check_may_recognise(principal, certificate)
        account = self.account(learner_id)
        achievement = Achievement.recognise_x_certificate(
            learner_id=learner_id, certificate=certificate, number=number, level=level,
            issued_on=issued_on, expires_on=expires_on, evidence=evidence, rule=rule,
            credits=credits, category=category, method=method, today=today or _today(),
        )
        return self._keep(achievement, account, signer)

    def recognise_learning_record(
        self,
        *,
        kind: AchievementKind | str,
        learner_id: str,
        title: str,
        reference: str,
        completed_on: date,
        method: CertificationMethod | str,
        credits: Decimal,
        category: Category | str,
        rule: RuleRef,
        evidence: Evidence,
        signer: SigningKey,
        hours: int | None = None,
        score: Decimal | None = None,
        today: date | None = None,
    ) -> Achievement:
        """The issuing institution recognises an out-of-school record (R4): a training record,
        online course, qualification certificate or diploma, certified by matching 对接,
        comparison 比对 or conversion 折算.
        """
        issuer = self._principal(signer)
        parsed = AchievementKind.parse(kind, "kind")
        if parsed not in LEARNING_RECORD_KINDS:
            raise ValidationError("kind", f"use the dedicated command for a {parsed.value}")
        account = self.account(learner_id)
        details: dict[str, Any] = {}
        if parsed in (AchievementKind.TRAINING_RECORD, AchievementKind.ONLINE_COURSE):
            details["learning_record"] = LearningRecordDetails(
                issuer=issuer, reference=reference, completed_on=completed_on, hours=hours,
                score=score)
        else:
            details["certificate"] = CertificateDetails(
                issuer=issuer, certificate_code=parsed.value, number=reference, level=None,
                issued_on=completed_on, expires_on=None)
        achievement = Achievement.recognise(
            kind=parsed, learner_id=learner_id, title=title, certified_by=issuer, method=method,
            evidence=evidence, rule=rule, credits=credits, category=category,
            today=today or _today(), **details,
        )
        return self._keep(achievement, account, signer)

    def recognise_joint_assessment(
        self,
        *,
        learner_id: str,
        course_code: str,
        term: str,
        score: Decimal,
        issuer: str,
        certificate_code: str,
        level: CertificateLevel | str,
        certificate_number: str,
        issued_on: date,
        expires_on: date | None,
        certificate_rule: RuleRef,
        evidence: Evidence,
        school_signer: SigningKey,
        issuer_signer: SigningKey,
        today: date | None = None,
    ) -> tuple[Achievement, Achievement]:
        """One assessment, two achievements (一考双证, R9), linked to each other.

        The school records the course result, the issuing organisation the certificate: two
        principals, so two signed commits (course result first). Each names the other's id,
        which is derived from its natural key, so the links hold before both exist; retrying
        after a failure between the two commits completes the pair idempotently.
        """
        school = self._principal(school_signer)
        course = self.course(school, course_code)
        check_may_recognise(school, course)
        certificate = self.certificate(issuer, certificate_code)
        check_may_recognise(self._principal(issuer_signer), certificate)
        account = self.account(learner_id)
        course_result, x_certificate = recognise_joint_assessment(
            learner_id=learner_id, course=course, term=term, score=score,
            certificate=certificate, level=level, certificate_number=certificate_number,
            issued_on=issued_on, expires_on=expires_on, evidence=evidence,
            certificate_rule=certificate_rule, today=today or _today(),
        )
        first = self._keep(course_result, account, school_signer)
        second = self._keep(x_certificate, self.account(learner_id), issuer_signer)
        return first, second

    def _keep(
        self, achievement: Achievement, account: LearnerAccount, signer: SigningKey
    ) -> Achievement:
        """Save a new achievement and its credit in one commit; a retry returns the original."""
        existing = self._existing_achievement(achievement)
        if existing is not None:
            return existing
        account.credit_achievement(achievement)
        try:
            self.save(achievement, account, signer=signer)
        except RecordConflictError:
            existing = self._existing_achievement(achievement)  # a concurrent twin won
            if existing is None:
                raise
            return existing
        return achievement

    def _existing_achievement(self, proposed: Achievement) -> Achievement | None:
        try:
            existing: Achievement = self.load(proposed.id)
        except AggregateNotFoundError:
            return None
        check_retry(existing, proposed)
        return existing

    # -- revocation ------------------------------------------------------------------------

    def revoke(
        self,
        achievement_id: UUID,
        *,
        reason: RevocationReason | str,
        note: str,
        signer: SigningKey,
        today: date | None = None,
    ) -> Achievement:
        """The certifying institution revokes an achievement (fraud, error, appeal upheld).

        The learner's credit is reversed by a compensating entry in the same commit, as is
        every conversion and exemption resting on it (compensating transfers); nothing recorded
        before is edited.
        """
        principal = self._principal(signer)
        achievement = self.achievement(achievement_id)
        if achievement.record.certified_by != principal:
            raise NotAuthorisedError(
                f"{principal} may not revoke an achievement certified by "
                f"{achievement.record.certified_by}"
            )
        account = self.account(achievement.learner_id)
        achievement.revoke(reason=reason, note=note, today=today or _today())
        account.reverse_achievement(achievement)
        transfers = self._reverse_conversions(achievement)  # conversions resting on it, if any
        self.save(achievement, account, transfers, signer=signer)
        return achievement


def _today() -> date:
    return datetime.now(UTC).date()
