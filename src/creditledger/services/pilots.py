"""1+X pilot commands (R18, R20): quotas per pilot major, and exam sittings.

:class:`PilotCommands` is the part of :class:`~creditledger.CreditBank` with which a school
records an approved certificate pilot and its quota (指标), changes the quota once a year, and
records its students' exam sittings (考核) with their results. The counts that follow — candidates
who sat by 31 December as in-school students, pass rates, quota completion — are read models
(:mod:`creditledger.projections.pilot`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from creditledger.crypto.keys import SigningKey
from creditledger.domain.base import snapshot
from creditledger.domain.pilot import CertificatePilot, ExamSitting, pilot_id
from creditledger.domain.values import CertificateLevel, InstitutionKind, LearnerType
from creditledger.errors import AlreadyExistsError, ConflictError, NotFoundError
from creditledger.services.accounts import AccountCommands

if TYPE_CHECKING:
    pass


class PilotCommands(AccountCommands):
    """Certificate pilots, quotas and exam sittings (mixed into the bank)."""

    def approve_pilot(
        self, *, issuer: str, certificate_code: str, level: CertificateLevel | str, year: int,
        quotas: Mapping[str, int], signer: SigningKey,
    ) -> CertificatePilot:
        """A school records its approved pilot of a certificate level, with quotas per major."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        certificate = self._certificate(issuer, certificate_code)
        pilot = CertificatePilot.approve(school=school, issuer=issuer,
                                         certificate_code=certificate_code,
                                         level=certificate.check_level(level), year=year,
                                         quotas=quotas)
        if self._exists(pilot.id):
            raise AlreadyExistsError("certificate pilot", f"{school}/{certificate_code}/{year}")
        self._save(pilot, signer=signer)
        return snapshot(pilot)

    def change_pilot_quotas(
        self, *, issuer: str, certificate_code: str, level: CertificateLevel | str, year: int,
        quotas: Mapping[str, int], reason: str, signer: SigningKey,
    ) -> CertificatePilot:
        """Change a pilot's quotas: once a year per certificate, stating why (修改指标)."""
        school = self._principal(signer)
        parsed = CertificateLevel.parse(level, "level")
        pid = pilot_id(school, issuer, certificate_code, parsed.value, year)
        if not self._exists(pid):
            raise NotFoundError("pilot", f"{school}/{certificate_code}/{parsed.value}/{year}",
                                "certificate_code")
        pilot: CertificatePilot = self._load(pid)
        pilot.change_quotas(quotas, reason)
        self._save(pilot, signer=signer)
        return snapshot(pilot)

    def record_exam_sitting(
        self, *, learner_id: str, issuer: str, certificate_code: str,
        level: CertificateLevel | str, sat_on: date, passed: bool, signer: SigningKey,
        major: str | None = None, score: Decimal | None = None, today: date | None = None,
    ) -> ExamSitting:
        """The school records that a learner sat a certificate exam (考核) and the result.

        Whether the learner sat as an in-school student (在校生) is taken from the account.
        Recording the same sitting again with the same result is a no-op; otherwise a conflict.
        """
        school = self._principal(signer)
        self._certificate(issuer, certificate_code)
        account = self._account(learner_id)
        sitting = ExamSitting.record(
            learner_id=learner_id, in_school=account.learner_type is LearnerType.STUDENT,
            school=school, major=major, issuer=issuer, certificate_code=certificate_code,
            level=level, sat_on=sat_on, passed=passed, score=score,
            today=today or self._today())
        if self._exists(sitting.id):
            existing: ExamSitting = self._load(sitting.id)
            if (existing.passed, existing.score, existing.school) == (passed, sitting.score,
                                                                      school):
                return snapshot(existing)
            raise ConflictError("this sitting is already recorded with another result")
        self._save(sitting, signer=signer)
        return snapshot(sitting)
