"""Personal learning accounts (个人学习账号, R2, R21): opening them, entering a programme, and
the credits accumulated on them (学分积累)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from uuid import UUID

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Achievement,
    Category,
    LearnerAccount,
    LearnerType,
    PersonalData,
    learner_account_id,
)
from creditledger.domain.base import snapshot
from creditledger.projections import open_projector, queries
from creditledger.projections.queries import TranscriptLine
from creditledger.services.catalog import CatalogCommands


class AccountCommands(CatalogCommands):
    """Learner accounts: open, enrol, their balances and achievements."""

    def account(self, learner_id: str) -> LearnerAccount:
        """A learner's account (:class:`NotFoundError` naming ``learner_id``)."""
        return snapshot(self._account(learner_id))

    def balances(self, learner_id: str) -> dict[Category, Decimal]:
        """A learner's credits per category: recognised minus revoked."""
        return self._account(learner_id).balances()

    def transcript(self, learner_id: str, *, views: str | Path | None = None
                   ) -> list[TranscriptLine]:
        """The learner's transcript (成绩单): achievements, revocations, corrections,
        conversions and exemptions, in ledger order, each with its position in the chain —
        the same lines, in the same shape, as the read model's
        :func:`creditledger.projections.queries.transcript`, which it reads, caught up first
        (a views database beside a ledger file, or ``views``; required on PostgreSQL).
        :class:`NotFoundError` for an unknown learner."""
        self._account(learner_id)
        projector = open_projector(self._ledger, views)
        try:
            projector.catch_up()
            lines: list[TranscriptLine] = queries.transcript(projector.db, learner_id)
            return lines
        finally:
            projector.close()

    def achievement(self, achievement_id: UUID) -> Achievement:
        """An achievement (:class:`NotFoundError` naming ``achievement_id``)."""
        return snapshot(self._achievement(achievement_id))

    def _achievement(self, achievement_id: UUID) -> Achievement:
        return self._get(Achievement, achievement_id, "achievement", str(achievement_id),
                         "achievement_id")

    def _account(self, learner_id: str) -> LearnerAccount:
        return self._get(LearnerAccount, learner_account_id(learner_id), "learner", learner_id,
                         "learner_id")

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
            self._programme(school, programme_code)
        home = school if (programme_code is not None or kind is LearnerType.STUDENT) else None
        account = LearnerAccount.open(learner_id=learner_id, learner_type=kind,
                                      personal_data=personal_data, home_institution=home,
                                      programme_code=programme_code)
        self._refuse_existing(account.id, "learner account", learner_id, "learner_id")
        self._save(account, signer=signer)
        return snapshot(account)

    def enrol(self, *, learner_id: str, programme_code: str, signer: SigningKey) -> LearnerAccount:
        """A school admits a learner (e.g. a member of society, R21) into one of its programmes."""
        school = self._principal(signer)
        self._programme(school, programme_code)
        account = self._account(learner_id)
        account.enrol(institution=school, programme_code=programme_code)
        self._save(account, signer=signer)
        return snapshot(account)

    def correct_personal_data(self, *, learner_id: str, personal_data: PersonalData,
                              signer: SigningKey) -> LearnerAccount:
        """The learner's home school corrects their personal data (个人信息更正); the earlier
        data stays in the ledger's history."""
        account = self._account(learner_id)
        account.correct_personal_data(personal_data)
        self._save(account, signer=signer)
        return snapshot(account)
