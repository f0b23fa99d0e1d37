"""One learner's credit transfer ledger (学分转换账): conversions, transfers and exemptions.

:class:`CreditTransfers` holds every transfer of one learner, so every invariant that spans
transfers — credits left on a source, caps, one exemption per source unless shareable, pending
reservations — is decided inside one aggregate; eventsourcing's optimistic concurrency
(``RecordConflictError`` on the same version) keeps them true under concurrent writers.

The aggregate is pure: the application hands it the facts (the sources as recognised, the rule
and its version, the agreement version, the target's credits). Nothing is ever edited: posting,
voiding and reversing are further transfers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import natural_key_id
from creditledger.domain.topics import stored_as
from creditledger.domain.transfers.caps import CapUse, check_caps
from creditledger.domain.transfers.conversion import Conversion, ConversionRequest
from creditledger.domain.transfers.policy import (
    Leg,
    check_conditions,
    check_standing,
    match_sources,
    plan_legs,
)
from creditledger.domain.transfers.rules import ConversionRule
from creditledger.domain.transfers.values import (
    REQUIREMENT_PREFIX,
    AccountBalance,
    ConversionStatus,
    ConversionTarget,
    Exemption,
    RuleVersionRef,
    SourceFacts,
    TargetKind,
    Transfer,
    TransferKind,
    achievement_account,
)
from creditledger.domain.validation import validate_date, validate_learner_id, validate_name
from creditledger.errors import (
    AlreadyExemptError,
    ConflictError,
    NotFoundError,
    NotPendingError,
    SourceAlreadyUsedError,
    ValidationError,
)

_ZERO = Decimal("0.00")
_LIVE = (ConversionStatus.PENDING, ConversionStatus.POSTED)


def credit_transfers_id(learner_id: str) -> UUID:
    """Id of a learner's transfer ledger."""
    return natural_key_id("credit-transfers", learner_id)


@dataclass
class ConversionState:
    """A recorded conversion and what happened to it since: status, all its transfers, and the
    versions of the ledger events that touched it (for ``explain``)."""

    record: Conversion
    status: ConversionStatus
    transfers: list[Transfer]
    versions: list[int] = field(default_factory=list)

    @property
    def is_live(self) -> bool:
        return self.status in _LIVE


@stored_as("creditledger.domain.transfer_ledger")
class CreditTransfers(BankAggregate):
    """A learner's conversions (学分转换) and exemptions (免修), as balanced transfers.

    Create with :meth:`open`. Events: ``Opened``, ``Converted``, ``PendingPosted``,
    ``PendingVoided``, ``SourceReversed``.
    """

    @event("Opened")
    def __init__(self, learner_id: str) -> None:
        self.learner_id = learner_id
        self.transfers: list[Transfer] = []
        self.accounts: dict[str, AccountBalance] = {}
        self.conversions: dict[UUID, ConversionState] = {}
        self.limits: dict[UUID, Decimal] = {}
        self.exemptions: dict[str, Exemption] = {}

    @classmethod
    def create_id(cls, learner_id: str) -> UUID:
        return credit_transfers_id(learner_id)

    @classmethod
    def open(cls, learner_id: str) -> CreditTransfers:
        return cls(learner_id=validate_learner_id(learner_id))

    # Converting -------------------------------------------------------------------------------

    def convert(self, request: ConversionRequest) -> Conversion:
        """Convert sources under a rule: balanced transfers, and an exemption for a course or
        module target. A retry of a live conversion returns it and records nothing."""
        on = validate_date(request.on, "today")
        sources = match_sources(request.rule, request.sources)
        for source in sources:
            check_standing(source, self.learner_id, on)
            check_conditions(request.rule, source, on)
            self._check_limit(source)
        base = _key(self.learner_id, request.rule_ref, request.rule.target,
                    (s.achievement_id for s in sources))
        existing = self._live_with_key(base)
        if existing is not None:
            return existing.record
        cid = natural_key_id(*base, str(self._attempts(base)))
        self._check_exemption(request.rule, sources)
        available = {s.achievement_id: self.available(s) for s in sources}
        legs = plan_legs(request.rule, sources, request.target_credits, available)
        self._check_caps(request, sources, legs)
        conversion = self._record(cid, request, sources, legs)
        self._converted(conversion=conversion)
        return conversion

    def _check_limit(self, source: SourceFacts) -> None:
        known = self.limits.get(source.achievement_id)
        if known is not None and known != source.credits:
            raise ConflictError(f"achievement {source.achievement_id} was converted with "
                                f"{known} credits, now given as {source.credits}")

    def _check_exemption(self, rule: ConversionRule, sources: tuple[SourceFacts, ...]) -> None:
        if rule.target.kind is TargetKind.CATEGORY:
            return
        for state in self._live():
            granted = state.record.exemption
            if granted is None:
                continue
            if granted.target.account == rule.target.account:
                raise AlreadyExemptError(f"{rule.target.label()} is already exempt (or waits "
                                         f"for a makeup) by conversion {state.record.id}")
            shared = set(granted.source_achievement_ids) & {s.achievement_id for s in sources}
            if shared and not (rule.shareable and granted.shareable):
                raise SourceAlreadyUsedError(min(shared), granted.target.label())

    def _check_caps(
        self, request: ConversionRequest, sources: tuple[SourceFacts, ...], legs: list[Leg]
    ) -> None:
        ref, programme = request.rule_ref, request.rule.target.programme
        facts = {s.achievement_id: s for s in sources}
        live = [s.record for s in self._live() if s.record.target.programme == programme
                and (s.record.rule.rule_set_id, s.record.rule.rule_id)
                == (ref.rule_set_id, ref.rule_id)]
        existing = [use for c in live for use in _cap_uses(c)]
        asked = [CapUse(facts[leg.source], leg.amount, request.on.year)
                 for leg in legs if leg.credit_account == request.rule.target.account]
        used = {s.achievement_id for c in live for s in c.sources if s.is_certificate}
        wanted = {s.achievement_id for s in sources if s.is_certificate}
        check_caps(request.rule, existing, asked, (used, wanted))

    def _record(
        self, cid: UUID, request: ConversionRequest, sources: tuple[SourceFacts, ...],
        legs: list[Leg],
    ) -> Conversion:
        rule = request.rule
        pending = rule.conditions.makeup_pass_mark is not None
        kind = TransferKind.PENDING if pending else TransferKind.POSTED
        transfers = tuple(
            Transfer(id=_transfer_id(cid, i), debit_account=achievement_account(leg.source),
                     credit_account=leg.credit_account, amount=leg.amount, kind=kind,
                     conversion_id=cid, rule=request.rule_ref, agreement=request.agreement,
                     source_achievement_id=leg.source, on=request.on)
            for i, leg in enumerate(legs)
        )
        exemption = None
        if rule.target.kind is not TargetKind.CATEGORY:
            exemption = Exemption(
                target=rule.target, credits=sum((t.amount for t in transfers), _ZERO),
                conversion_id=cid, rule=request.rule_ref, shareable=rule.shareable,
                source_achievement_ids=tuple(s.achievement_id for s in sources),
                granted_on=request.on)
        return Conversion(
            id=cid, learner_id=self.learner_id, rule=request.rule_ref, rule_kind=rule.kind,
            agreement=request.agreement, target=rule.target, sources=sources,
            transfers=transfers, exemption=exemption, shareable=rule.shareable, on=request.on,
            makeup_pass_mark=rule.conditions.makeup_pass_mark)

    @event("Converted")
    def _converted(self, conversion: Conversion) -> None:
        pending = conversion.makeup_pass_mark is not None
        status = ConversionStatus.PENDING if pending else ConversionStatus.POSTED
        state = ConversionState(conversion, status, [], [self.version + 1])
        self.conversions[conversion.id] = state
        for source in conversion.sources:
            self.limits[source.achievement_id] = source.credits
        for transfer in conversion.transfers:
            self._apply(state, transfer)
        if conversion.exemption is not None and not pending:
            self.exemptions[conversion.exemption.target.account] = conversion.exemption

    # Makeup (补考): post or void a pending conversion --------------------------------------------

    def post_pending(self, conversion_id: UUID, *, makeup_score: Decimal, on: date) -> Conversion:
        """The makeup assessment passed: post the pending transfers and grant the exemption."""
        state = self._pending(conversion_id, on)
        mark = state.record.makeup_pass_mark
        if not isinstance(makeup_score, Decimal) or mark is None or makeup_score < mark:
            raise ValidationError("makeup_score", f"{makeup_score!r} does not reach the pass mark "
                                  f"{mark}; void the conversion instead")
        transfers = self._closing(state, TransferKind.POSTED_FROM_PENDING, on)
        exemption = state.record.exemption
        if exemption is not None:
            exemption = msgspec.structs.replace(exemption, granted_on=on)
        self._pending_posted(conversion_id=conversion_id, transfers=transfers,
                             exemption=exemption, makeup_score=makeup_score, on=on)
        return state.record

    @event("PendingPosted")
    def _pending_posted(
        self, conversion_id: UUID, transfers: tuple[Transfer, ...], exemption: Exemption | None,
        makeup_score: Decimal, on: date,
    ) -> None:
        self._touch(conversion_id, ConversionStatus.POSTED, transfers)
        if exemption is not None:
            self.exemptions[exemption.target.account] = exemption

    def void_pending(self, conversion_id: UUID, *, reason: str, on: date) -> Conversion:
        """The makeup failed or was withdrawn: void the pending transfers, releasing the credits."""
        state = self._pending(conversion_id, on)
        note = validate_name(reason, "reason", max_length=2000)
        transfers = self._closing(state, TransferKind.VOIDED, on)
        self._pending_voided(conversion_id=conversion_id, transfers=transfers, reason=note, on=on)
        return state.record

    @event("PendingVoided")
    def _pending_voided(
        self, conversion_id: UUID, transfers: tuple[Transfer, ...], reason: str, on: date
    ) -> None:
        self._touch(conversion_id, ConversionStatus.VOIDED, transfers)

    def _pending(self, conversion_id: UUID, on: date) -> ConversionState:
        state = self.conversion(conversion_id)
        if state.status is not ConversionStatus.PENDING:
            raise NotPendingError(f"conversion {conversion_id} is {state.status.value}, "
                                  "not pending")
        if validate_date(on, "today") < state.record.on:
            raise ValidationError("today", f"is before the conversion on {state.record.on}")
        return state

    # Revocation: compensate, never edit ---------------------------------------------------------

    def reverse_source(self, achievement_id: UUID, *, reason: str, on: date) -> bool:
        """Reverse every live conversion that rests on a revoked achievement, and the exemptions
        they granted: posted transfers get a ``reversal``, pending ones are ``voided``. Returns
        whether anything was reversed (if not, nothing is recorded)."""
        day = validate_date(on, "today")
        note = validate_name(reason, "reason", max_length=2000)
        hit = [s for s in self._live() if achievement_id in s.record.source_ids]
        if not hit:
            return False
        transfers: list[Transfer] = []
        for state in hit:
            kind = (TransferKind.VOIDED if state.status is ConversionStatus.PENDING
                    else TransferKind.REVERSAL)
            transfers.extend(self._closing(state, kind, day))
        self._source_reversed(achievement_id=achievement_id, reason=note, on=day,
                              conversion_ids=tuple(s.record.id for s in hit),
                              transfers=tuple(transfers))
        return True

    @event("SourceReversed")
    def _source_reversed(
        self, achievement_id: UUID, reason: str, on: date, conversion_ids: tuple[UUID, ...],
        transfers: tuple[Transfer, ...],
    ) -> None:
        for cid in conversion_ids:
            mine = tuple(t for t in transfers if t.conversion_id == cid)
            self._touch(cid, ConversionStatus.REVERSED, mine)

    # Applying transfers --------------------------------------------------------------------------

    def _closing(
        self, state: ConversionState, kind: TransferKind, on: date
    ) -> tuple[Transfer, ...]:
        """The transfers that close a conversion: post or void its pending transfers, or reverse
        its posted ones."""
        wanted = (TransferKind.PENDING,) if kind is not TransferKind.REVERSAL else (
            TransferKind.POSTED, TransferKind.POSTED_FROM_PENDING)
        originals = [t for t in state.transfers if t.kind in wanted]
        closing: list[Transfer] = []
        for i, t in enumerate(originals, start=len(state.transfers)):
            flip = kind is TransferKind.REVERSAL
            closing.append(Transfer(
                id=_transfer_id(t.conversion_id, i),
                debit_account=t.credit_account if flip else t.debit_account,
                credit_account=t.debit_account if flip else t.credit_account,
                amount=t.amount, kind=kind, conversion_id=t.conversion_id, rule=t.rule,
                agreement=t.agreement, source_achievement_id=t.source_achievement_id, on=on,
                pending_id=None if flip else t.id, reverses=t.id if flip else None))
        return tuple(closing)

    def _touch(
        self, conversion_id: UUID, status: ConversionStatus, transfers: tuple[Transfer, ...]
    ) -> ConversionState:
        state = self.conversions[conversion_id]
        state.status = status
        state.versions.append(self.version + 1)
        for transfer in transfers:
            self._apply(state, transfer)
        granted = state.record.exemption
        if status is not ConversionStatus.POSTED and granted is not None:
            live = self.exemptions.get(granted.target.account)
            if live is not None and live.conversion_id == conversion_id:
                del self.exemptions[granted.target.account]
        return state

    def _apply(self, state: ConversionState, t: Transfer) -> None:
        """Move the amount between the two accounts' columns (TigerBeetle's rules)."""
        debit = self.accounts.setdefault(t.debit_account, AccountBalance())
        credit = self.accounts.setdefault(t.credit_account, AccountBalance())
        if t.kind in (TransferKind.POSTED_FROM_PENDING, TransferKind.VOIDED):
            debit.debits_pending -= t.amount
            credit.credits_pending -= t.amount
        if t.kind is TransferKind.PENDING:
            debit.debits_pending += t.amount
            credit.credits_pending += t.amount
        elif t.kind is not TransferKind.VOIDED:
            debit.debits_posted += t.amount
            credit.credits_posted += t.amount
        state.transfers.append(t)
        self.transfers.append(t)

    # Queries ------------------------------------------------------------------------------------

    def conversion(self, conversion_id: UUID) -> ConversionState:
        """A recorded conversion (:class:`NotFoundError` naming ``conversion_id``)."""
        try:
            return self.conversions[conversion_id]
        except KeyError:
            raise NotFoundError("conversion", str(conversion_id), "conversion_id") from None

    def balance(self, account: str) -> AccountBalance:
        """The four columns of ``account`` (all zero if it was never used)."""
        return self.accounts.get(account, AccountBalance()).copy()

    def available(self, source: SourceFacts) -> Decimal:
        """Credits of a source not yet drawn, nor reserved by a pending conversion."""
        drawn = self.accounts.get(achievement_account(source.achievement_id), AccountBalance())
        return source.credits - drawn.drawn

    def requirement_balances(self) -> dict[str, Decimal]:
        """Posted credits of each requirement account (course, module, category) ever used."""
        return {a: b.posted for a, b in sorted(self.accounts.items())
                if a.startswith(REQUIREMENT_PREFIX)}

    def live_exemptions(self) -> tuple[Exemption, ...]:
        """The exemptions (免修) in force, by target."""
        return tuple(self.exemptions[k] for k in sorted(self.exemptions))

    def conversions_using(self, achievement_id: UUID) -> tuple[ConversionState, ...]:
        """Every conversion (live or closed) that drew on the achievement."""
        return tuple(s for s in self.conversions.values() if achievement_id in s.record.source_ids)

    def _live(self) -> Iterator[ConversionState]:
        return (s for s in self.conversions.values() if s.is_live)

    def _live_with_key(self, base: tuple[str, ...]) -> ConversionState | None:
        return next((s for s in self._live() if _key_of(s.record) == base), None)

    def _attempts(self, base: tuple[str, ...]) -> int:
        return sum(1 for s in self.conversions.values() if _key_of(s.record) == base)


def _key(
    learner_id: str, rule: RuleVersionRef, target: ConversionTarget, sources: Iterable[UUID]
) -> tuple[str, ...]:
    """The idempotency key of a conversion: learner, rule, target and sources (any order)."""
    ids = sorted(str(s) for s in sources)
    return ("conversion", learner_id, str(rule.rule_set_id), rule.rule_id, target.account, *ids)


def _key_of(c: Conversion) -> tuple[str, ...]:
    return _key(c.learner_id, c.rule, c.target, c.source_ids)


def _transfer_id(conversion_id: UUID, index: int) -> UUID:
    return natural_key_id("transfer", str(conversion_id), str(index))


def _cap_uses(c: Conversion) -> list[CapUse]:
    facts = {s.achievement_id: s for s in c.sources}
    return [CapUse(facts[t.source_achievement_id], t.amount, c.on.year)
            for t in c.transfers if t.credit_account == c.target.account]
