"""A learner's whole record (成绩单) as one credential: a 1EdTech CLR 2.0 ``ClrCredential``
signed by the learner's home school (:mod:`creditledger.audit.vc.clr`).

It holds what is in force: every achievement recognised and not revoked (course results,
certificates, training and online records, diplomas), and every posted conversion (converted
credits, exemptions) with its lineage, each where the ledger recorded it. Exporting writes
nothing to the ledger.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from creditledger.audit.vc import clr
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement, Course, Institution, LearnerAccount
from creditledger.domain.ids import course_id, institution_id
from creditledger.domain.transfers.ledger import ConversionState, CreditTransfers
from creditledger.domain.transfers.lineage import EventPosition
from creditledger.domain.transfers.values import ConversionStatus, TargetKind
from creditledger.domain.values import Category
from creditledger.errors import NotAuthorisedError, ValidationError
from creditledger.services.privacy import PrivacyCommands
from creditledger.services.transfers import TransferCommands

Events = Callable[[UUID], tuple[EventPosition, ...]]


class TranscriptCommands(TransferCommands, PrivacyCommands):
    """The learner's record as a Comprehensive Learner Record (mixed into the bank)."""

    def export_clr(self, learner_id: str, *, signer: SigningKey,
                   valid_from: datetime | None = None,
                   include_personal_data: bool = False) -> dict[str, Any]:
        """The learner's record as a ``ClrCredential`` (a JSON object; write it with
        :func:`creditledger.audit.credential.dumps`), every credential in it and the CLR
        signed by ``signer``, which must be a key of the learner's home school
        (:class:`NotAuthorisedError` otherwise). ``valid_from`` defaults to now.

        The CLR names the learner by their pseudonymous learner id; their name only with
        ``include_personal_data=True`` (data minimisation, ``docs/privacy.md``), never once
        erased (:class:`~creditledger.errors.PersonalDataErasedError`)."""
        school = self._principal(signer)
        account = self.account(learner_id)
        if account.home_institution != school:
            home = account.home_institution or "no school (the learner is enrolled nowhere)"
            raise NotAuthorisedError(f"only the learner's home school may export their record: "
                                     f"{learner_id} belongs to {home}, not {school}")
        now = datetime.now(UTC).replace(microsecond=0)
        moment = (valid_from or now).astimezone(UTC).replace(microsecond=0)
        name = self.personal_data(learner_id).name if include_personal_data else learner_id
        return clr.issue(self._transcript(account, school, moment, name), signer, created=now)

    def _transcript(self, account: LearnerAccount, school: str, moment: datetime,
                    name: str) -> clr.Transcript:
        events = self._chain_positions()
        achievements = tuple(self._recorded(a, events) for a in self._in_force(account))
        ledger = self.credit_transfers(account.learner_id)
        conversions = tuple(self._converted(ledger, s, events) for s in ledger.conversions.values()
                            if s.status is ConversionStatus.POSTED)
        if not achievements and not conversions:
            raise ValidationError("learner_id", f"{account.learner_id} has nothing in force to "
                                  "export: a CLR holds at least one credential")
        return clr.Transcript(
            transcript_id=uuid4(), ledger_id=self._ledger.ledger_id, learner_id=account.learner_id,
            learner_name=name,
            school=self._named(school), achievements=achievements, conversions=conversions,
            salt=secrets.token_hex(16), valid_from=moment)

    def _in_force(self, account: LearnerAccount) -> list[Achievement]:
        """The learner's achievements in the order they were credited, the revoked left out."""
        found = [self.achievement(a) for a in account.entries if a not in account.reversals]
        return [a for a in found if not a.is_revoked]

    def _recorded(self, achievement: Achievement, events: Events) -> clr.RecordedAchievement:
        r = achievement.record
        course = None if r.course is None else self._optional(  # not in the catalog: an
            Course, course_id(r.course.institution, r.course.course_code))  # alliance course
        return clr.RecordedAchievement(
            achievement_id=achievement.id, record=r, certifier=self._named(r.certified_by),
            recorded=_place(achievement.id, events, 1),
            hours=course.theory_hours + course.practice_hours if course is not None else None,
            course_type=course.course_type if course is not None else None)

    def _converted(self, ledger: CreditTransfers, state: ConversionState, events: Events
                   ) -> clr.RecordedConversion:
        c = state.record
        granted = ledger.exemptions.get(c.target.account)
        name, category = self._target(c.target.institution, c.target.programme_code,
                                      c.target.kind, c.target.code)
        return clr.RecordedConversion(
            conversion=c, target_school=self._named(c.target.institution), target_name=name,
            category=category, recorded=_place(ledger.id, events, state.versions[0]),
            granted_on=granted.granted_on if granted and granted.conversion_id == c.id
            else None)

    def _target(self, school: str, programme: str, kind: TargetKind, code: str
                ) -> tuple[str, Category | None]:
        """The name of a conversion's target, and its category (a module has none)."""
        if kind is TargetKind.CATEGORY:
            category = Category.parse(code, "target")
            return category.zh, category
        if kind is TargetKind.COURSE:
            course = self.course(school, code)
            return course.name, course.category
        return self.programme(school, programme).modules[code].name, None

    def _named(self, code: str) -> clr.Institution:
        """An institution by its code and name (its code, if this ledger does not hold it)."""
        found = self._optional(Institution, institution_id(code))
        return clr.Institution(code, found.name if found is not None else code)


def _place(aggregate_id: UUID, events: Events, version: int) -> clr.LedgerPlace:
    """Where the event ``version`` of an aggregate is in the chain."""
    event = next(e for e in events(aggregate_id) if e.aggregate_version == version)
    return clr.LedgerPlace(aggregate_id=aggregate_id, position=event.position,
                           event_hash=event.hash)
