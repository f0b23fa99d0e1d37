"""A conversion as recorded, and the request the application hands to the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec

from creditledger.domain.achievement import Achievement
from creditledger.domain.transfers.rules import ConversionRule, RuleKind
from creditledger.domain.transfers.values import (
    AgreementRef,
    ConversionTarget,
    Exemption,
    RuleVersionRef,
    SourceFacts,
    Transfer,
)


class Conversion(msgspec.Struct, frozen=True, kw_only=True):
    """One conversion as recorded: the rule, the sources, the transfers and the exemption.

    ``exemption`` is granted when the transfers post (at once, or after a makeup assessment).
    ``makeup_pass_mark`` is set when the conversion waits for a makeup (补考).
    """

    id: UUID
    learner_id: str
    rule: RuleVersionRef
    rule_kind: RuleKind
    agreement: AgreementRef | None
    target: ConversionTarget
    sources: tuple[SourceFacts, ...]
    transfers: tuple[Transfer, ...]
    exemption: Exemption | None
    shareable: bool
    on: date
    makeup_pass_mark: Decimal | None = None

    @property
    def amount(self) -> Decimal:
        """Credits this conversion gives its target (before any later reversal)."""
        account = self.target.account
        return sum((t.amount for t in self.transfers if t.credit_account == account), Decimal(0))

    @property
    def source_ids(self) -> tuple[UUID, ...]:
        return tuple(s.achievement_id for s in self.sources)



class ConversionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the pure ledger needs to decide a conversion; the application gathers it.

    ``target_credits`` are the target course's or module's credits (for an exemption);
    ``on`` is the conversion date, by which rules, agreements, validity and age are judged.
    """

    rule: ConversionRule
    rule_ref: RuleVersionRef
    agreement: AgreementRef | None
    sources: tuple[SourceFacts, ...]
    target_credits: Decimal | None
    on: date


def source_facts(achievement: Achievement, *, hours: int | None = None) -> SourceFacts:
    """The facts of a recognised achievement that conversion rules look at.

    ``hours`` (学时) come from a training record or online course itself; for a course result
    the application passes the course's hours.
    """
    r = achievement.record
    institution, code, level, score, expires = r.certified_by, None, None, None, None
    achieved_on = r.recognised_on
    if r.course is not None:
        institution, code, score = r.course.institution, r.course.course_code, r.course.score
    if r.certificate is not None:
        c = r.certificate
        institution, code, level, expires = c.issuer, c.certificate_code, c.level, c.expires_on
        achieved_on = c.issued_on
    if r.learning_record is not None:
        lr = r.learning_record
        score, achieved_on = lr.score, lr.completed_on
        hours = lr.hours if hours is None else hours
    return SourceFacts(
        achievement_id=achievement.id, learner_id=r.learner_id, kind=r.kind, title=r.title,
        certified_by=r.certified_by, credits=r.credits, category=r.category,
        recognised_on=r.recognised_on, achieved_on=achieved_on, revoked=achievement.is_revoked,
        institution=institution, code=code, level=level, score=score, expires_on=expires,
        hours=hours,
    )
