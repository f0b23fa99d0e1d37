"""1+X certificate pilots and their quotas (试点指标, R20), and exam sittings (考核).

A school pilots a certificate at one level in a year, with an approved quota (指标) per pilot
major. The quota counts the in-school students (在校生) who registered and actually sat the
exam by 31 December of that year; it may be changed once a year per certificate, stating the
reason. Exam sittings are recorded one per learner, certificate, level and date, with the
result, so that candidates, pass rates and quota completion can be counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import natural_key_id
from creditledger.domain.validation import (
    validate_code,
    validate_date,
    validate_name,
    validate_not_future,
    validate_score,
)
from creditledger.domain.values import CertificateLevel
from creditledger.errors import ConflictError, ValidationError

MAX_QUOTA = 100_000


class MajorQuota(msgspec.Struct, frozen=True, kw_only=True):
    """The quota (指标) of one pilot major: how many in-school candidates must sit the exam."""

    major: str
    quota: int


def pilot_id(school: str, issuer: str, certificate_code: str, level: str, year: int) -> UUID:
    return natural_key_id("pilot", school, issuer, certificate_code, level, str(year))


def _quotas(quotas: Mapping[str, int]) -> tuple[MajorQuota, ...]:
    if not quotas:
        raise ValidationError("quotas", "name at least one pilot major and its quota")
    checked = []
    for major, quota in sorted(quotas.items()):
        name = validate_name(major, "quotas")
        if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= MAX_QUOTA:
            raise ValidationError("quotas", f"quota of {name} must be a whole number 0–{MAX_QUOTA}")
        checked.append(MajorQuota(major=name, quota=quota))
    return tuple(checked)


class CertificatePilot(BankAggregate):
    """One school's pilot of a certificate at one level in one year (1+X 证书试点), R18/R20."""

    @event("Approved")
    def __init__(self, school: str, issuer: str, certificate_code: str, level: CertificateLevel,
                 year: int, quotas: tuple[MajorQuota, ...]) -> None:
        self.school = school
        self.issuer = issuer
        self.certificate_code = certificate_code
        self.level = level
        self.year = year
        self.quotas = {q.major: q.quota for q in quotas}
        self.changed = False

    @classmethod
    def create_id(cls, school: str, issuer: str, certificate_code: str, level: CertificateLevel,
                  year: int, quotas: tuple[MajorQuota, ...]) -> UUID:
        return pilot_id(school, issuer, certificate_code, level.value, year)

    @classmethod
    def approve(cls, *, school: str, issuer: str, certificate_code: str,
                level: CertificateLevel | str, year: int,
                quotas: Mapping[str, int]) -> CertificatePilot:
        """Record an approved pilot with its quota per major."""
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise ValidationError("year", "must be a year between 2000 and 2100")
        return cls(school=validate_code(school, "school"), issuer=validate_code(issuer, "issuer"),
                   certificate_code=validate_code(certificate_code, "certificate_code"),
                   level=CertificateLevel.parse(level, "level"), year=year,
                   quotas=_quotas(quotas))

    def change_quotas(self, quotas: Mapping[str, int], reason: str) -> None:
        """Change the quotas — once a year per certificate, with the reason (修改指标)."""
        if self.changed:
            raise ConflictError(f"the {self.year} quota of {self.certificate_code} "
                                "was already changed once this year")
        checked = _quotas(quotas)
        unknown = {q.major for q in checked} - set(self.quotas)
        if unknown:
            raise ValidationError("quotas", f"{sorted(unknown)} are not pilot majors")
        self._quotas_changed(quotas=checked, reason=validate_name(reason, "reason"))

    @event("QuotasChanged")
    def _quotas_changed(self, quotas: tuple[MajorQuota, ...], reason: str) -> None:
        self.quotas.update({q.major: q.quota for q in quotas})
        self.changed = True


def sitting_id(learner_id: str, issuer: str, certificate_code: str, level: str,
               sat_on: date) -> UUID:
    return natural_key_id("sitting", learner_id, issuer, certificate_code, level,
                          sat_on.isoformat())


class ExamSitting(BankAggregate):
    """One learner sitting one certificate exam (考核) on one day, and the result."""

    @event("Recorded")
    def __init__(self, learner_id: str, in_school: bool, school: str, major: str | None,
                 issuer: str, certificate_code: str, level: CertificateLevel, sat_on: date,
                 passed: bool, score: Decimal | None) -> None:
        self.learner_id = learner_id
        self.in_school = in_school
        self.school = school
        self.major = major
        self.issuer = issuer
        self.certificate_code = certificate_code
        self.level = level
        self.sat_on = sat_on
        self.passed = passed
        self.score = score

    @classmethod
    def create_id(cls, learner_id: str, in_school: bool, school: str, major: str | None,
                  issuer: str, certificate_code: str, level: CertificateLevel, sat_on: date,
                  passed: bool, score: Decimal | None) -> UUID:
        return sitting_id(learner_id, issuer, certificate_code, level.value, sat_on)

    @classmethod
    def record(cls, *, learner_id: str, in_school: bool, school: str, major: str | None,
               issuer: str, certificate_code: str, level: CertificateLevel | str, sat_on: date,
               passed: bool, score: Decimal | None, today: date) -> ExamSitting:
        """Record a sitting after validating every field (the date may not be in the future)."""
        if not isinstance(passed, bool):
            raise ValidationError("passed", "must be true or false")
        return cls(learner_id=validate_code(learner_id, "learner_id"), in_school=bool(in_school),
                   school=validate_code(school, "school"),
                   major=None if major is None else validate_name(major, "major"),
                   issuer=validate_code(issuer, "issuer"),
                   certificate_code=validate_code(certificate_code, "certificate_code"),
                   level=CertificateLevel.parse(level, "level"),
                   sat_on=validate_not_future(validate_date(sat_on, "sat_on"), today, "sat_on"),
                   passed=passed, score=None if score is None else validate_score(score))
