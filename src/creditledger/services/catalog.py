"""The catalog commands of the credit bank: institutions, programmes (专业), courses (课程库,
R1), modules (课程模块) and 1+X certificates (R18) with their integration into programmes
(课证融合, R19).

Who may do what: the root registers institutions (and their keys); a school defines its own
programmes, courses and modules and maps certificates onto them; a training & evaluation
organisation registers its own certificates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain import (
    AssessmentMethod,
    Category,
    Certificate,
    CertificateLevel,
    Course,
    CreditFormula,
    Institution,
    InstitutionKind,
    Programme,
    certificate_id,
    course_id,
    institution_id,
    programme_id,
)
from creditledger.domain.base import snapshot
from creditledger.errors import AlreadyExistsError
from creditledger.services.core import BankCore


class CatalogCommands(BankCore):
    """Institutions, programmes, courses, modules and certificates."""

    # -- queries ---------------------------------------------------------------------------

    def institution(self, code: str) -> Institution:
        """The institution with this code (:class:`NotFoundError` naming ``institution``)."""
        return snapshot(self._institution(code))

    def programme(self, institution: str, code: str) -> Programme:
        """A programme of an institution (:class:`NotFoundError` naming ``programme_code``)."""
        return snapshot(self._programme(institution, code))

    def course(self, owner: str, code: str) -> Course:
        """A course of the catalog (:class:`NotFoundError` naming ``course_code``)."""
        return snapshot(self._course(owner, code))

    def certificate(self, issuer: str, code: str) -> Certificate:
        """A 1+X certificate (:class:`NotFoundError` naming ``certificate_code``)."""
        return snapshot(self._certificate(issuer, code))

    def _programme(self, institution: str, code: str) -> Programme:
        return self._get(Programme, programme_id(institution, code), "programme",
                         f"{institution}/{code}", "programme_code")

    def _course(self, owner: str, code: str) -> Course:
        return self._get(Course, course_id(owner, code), "course", f"{owner}/{code}",
                         "course_code")

    def _certificate(self, issuer: str, code: str) -> Certificate:
        return self._get(Certificate, certificate_id(issuer, code), "certificate",
                         f"{issuer}/{code}", "certificate_code")

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
            raise AlreadyExistsError("institution", code, "code")
        inst = Institution.register(code=code, name=name, kind=kind,
                                    has_credit_system=has_credit_system)
        registry = self._registry
        registry.register(inst.code, public_key, datetime.now(UTC))
        self._save(registry, inst, signer=root_key)
        return snapshot(inst)

    def declare_credit_system(self, *, has_credit_system: bool, signer: SigningKey) -> Institution:
        """A school states whether it runs a credit system (学分制): it decides whether imported
        certificates become credits or grades (R14)."""
        school = self._principal(signer)
        institution = self._require_kind(school, InstitutionKind.SCHOOL)
        institution.set_credit_system(has_credit_system)
        if institution.pending_events:
            self._save(institution, signer=signer)
        return snapshot(institution)

    # -- programmes, courses, modules ------------------------------------------------------

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
        self._save(programme, signer=signer)
        return snapshot(programme)

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
            programme = self._programme(school, programme_code)
            programme.add_course(course)
            changed.append(programme)
        self._save(*changed, signer=signer)
        return snapshot(course)

    def define_module(
        self, *, programme_code: str, code: str, name: str, course_codes: Iterable[str],
        signer: SigningKey,
    ) -> Programme:
        """A school groups courses of a programme into a module (课程模块)."""
        school = self._principal(signer)
        programme = self._programme(school, programme_code)
        programme.define_module(code=code, name=name, course_codes=course_codes)
        self._save(programme, signer=signer)
        return snapshot(programme)

    # -- certificates ----------------------------------------------------------------------

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
        self._save(certificate, signer=signer)
        return snapshot(certificate)

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
        programme = self._programme(school, programme_code)
        certificate = self._certificate(issuer, certificate_code)
        certificate.integrate(level=level, programme=programme, course_codes=course_codes,
                              module_codes=module_codes)
        self._save(certificate, signer=signer)
        return snapshot(certificate)

    def _refuse_existing(self, aggregate_id: UUID, kind: str, key: str, field: str) -> None:
        if self._exists(aggregate_id):
            raise AlreadyExistsError(kind, key, field)
