"""Vocational skill level certificates (职业技能等级证书, the "X" of 1+X), R18 and R19."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import certificate_id
from creditledger.domain.programme import Programme
from creditledger.domain.validation import validate_code, validate_name
from creditledger.domain.values import CertificateLevel, CourseIntegration
from creditledger.errors import AlreadyExistsError, NotFoundError, ValidationError


class Certificate(BankAggregate):
    """A 1+X certificate of the certificate catalog.

    It is issued by a training & evaluation organisation (培训评价组织, ``issuer``), offered at
    some of the levels 初级/中级/高级, piloted in some majors, and for each level mapped onto
    courses or modules of a programme (课证融合, course–certificate integration).

    Create with :meth:`register`. Events: ``Registered``, ``LevelAdded``, ``MajorMapped``,
    ``IntegratedWithProgramme``.
    """

    @event("Registered")
    def __init__(
        self,
        issuer: str,
        code: str,
        name: str,
        name_en: str,
        levels: tuple[CertificateLevel, ...],
        majors: tuple[str, ...],
    ) -> None:
        self.issuer = issuer
        self.code = code
        self.name = name
        self.name_en = name_en
        self.levels = levels
        self.majors = majors
        self.integrations: dict[tuple[CertificateLevel, str, str], CourseIntegration] = {}

    @classmethod
    def create_id(cls, issuer: str, code: str) -> UUID:
        """The certificate's id, derived from its issuer's code and its own code."""
        return certificate_id(issuer, code)

    @classmethod
    def register(
        cls,
        *,
        issuer: str,
        code: str,
        name: str,
        levels: Iterable[CertificateLevel | str],
        name_en: str = "",
        majors: Iterable[str] = (),
    ) -> Certificate:
        """Register a certificate with the levels it is offered at and the majors it maps to."""
        parsed = {CertificateLevel.parse(level, "levels") for level in levels}
        if not parsed:
            raise ValidationError("levels", "a certificate needs at least one level")
        return cls(
            issuer=validate_code(issuer, "issuer"),
            code=validate_code(code, "code"),
            name=validate_name(name, "name"),
            name_en="" if name_en == "" else validate_name(name_en, "name_en"),
            levels=tuple(level for level in CertificateLevel if level in parsed),
            majors=tuple(dict.fromkeys(validate_name(m, "majors") for m in majors)),
        )

    def offers(self, level: CertificateLevel | str) -> bool:
        """Whether the certificate is offered at ``level``."""
        return CertificateLevel.parse(level, "level") in self.levels

    def check_level(self, level: CertificateLevel | str, field: str = "level") -> CertificateLevel:
        """Return ``level`` if offered, else raise :class:`ValidationError` naming ``field``."""
        parsed = CertificateLevel.parse(level, field)
        if parsed not in self.levels:
            offered = ", ".join(lv.zh for lv in self.levels)
            raise ValidationError(field, f"{self.name} is not offered at {parsed.zh} ({offered})")
        return parsed

    def add_level(self, level: CertificateLevel | str) -> None:
        """Offer the certificate at one more level."""
        parsed = CertificateLevel.parse(level, "level")
        if parsed in self.levels:
            raise AlreadyExistsError("level", f"{parsed.zh} of {self.name}", "level")
        self._level_added(level=parsed)

    @event("LevelAdded")
    def _level_added(self, level: CertificateLevel) -> None:
        self.levels = tuple(lv for lv in CertificateLevel if lv in {*self.levels, level})

    def map_major(self, major: str) -> None:
        """Record one more major (专业) the certificate is piloted in."""
        name = validate_name(major, "major")
        if name in self.majors:
            raise AlreadyExistsError("major mapping", f"{self.name} → {name}", "major")
        self._major_mapped(major=name)

    @event("MajorMapped")
    def _major_mapped(self, major: str) -> None:
        self.majors = (*self.majors, major)

    def integrate(
        self,
        *,
        level: CertificateLevel | str,
        programme: Programme,
        course_codes: Iterable[str] = (),
        module_codes: Iterable[str] = (),
    ) -> None:
        """Map ``level`` onto courses and modules of ``programme`` (课证融合), R19.

        A later mapping for the same level and programme replaces the earlier one.
        """
        parsed = self.check_level(level)
        courses = _known(course_codes, programme.courses, "course", "course_codes")
        modules = _known(module_codes, programme.modules, "module", "module_codes")
        if not courses and not modules:
            raise ValidationError("course_codes", "name at least one course or module")
        covered = {*courses, *(c for m in modules for c in programme.module_courses(m))}
        self._integrated(
            integration=CourseIntegration(
                level=parsed,
                institution=programme.institution,
                programme_code=programme.code,
                course_codes=courses,
                module_codes=modules,
                covered_course_codes=tuple(sorted(covered)),
            )
        )

    @event("IntegratedWithProgramme")
    def _integrated(self, integration: CourseIntegration) -> None:
        key = (integration.level, integration.institution, integration.programme_code)
        self.integrations[key] = integration

    def covers(self, level: CertificateLevel | str, institution: str, course_code: str) -> bool:
        """Whether ``level`` is integrated with course ``course_code`` of ``institution``."""
        parsed = CertificateLevel.parse(level, "level")
        return any(
            course_code in i.covered_course_codes
            for (lv, inst, _), i in self.integrations.items()
            if lv is parsed and inst == institution
        )

    def covered_courses(
        self, level: CertificateLevel | str, institution: str, programme_code: str
    ) -> tuple[str, ...]:
        """Courses of one programme that ``level`` covers (empty if not integrated)."""
        key = (CertificateLevel.parse(level, "level"), institution, programme_code)
        integration = self.integrations.get(key)
        return () if integration is None else integration.covered_course_codes


def _known(codes: Iterable[str], known: Iterable[str], kind: str, field: str) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(validate_code(c, field) for c in codes))
    known_codes = set(known)
    for code in checked:
        if code not in known_codes:
            raise NotFoundError(kind, code, field)
    return checked
