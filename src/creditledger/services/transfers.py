"""Credit transfer commands (学分转换) of the credit bank, R6–R8, R13, R21.

:class:`TransferCommands` is the part of :class:`~creditledger.CreditBank` that publishes
conversion rules, signs bilateral agreements, converts recognised achievements into credits and
exemptions (免修) of a learner's programme, posts or voids conversions waiting for a makeup
(补考), and explains where every converted credit came from. Like every command of the bank, each
checks who is asking, lets the pure domain decide, and writes one signed commit or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from creditledger.crypto.keys import SigningKey
from creditledger.domain.achievement import Achievement
from creditledger.domain.base import snapshot
from creditledger.domain.transfers.agreement import Agreement, AgreementVersion, agreement_id
from creditledger.domain.transfers.conversion import Conversion, ConversionRequest, source_facts
from creditledger.domain.transfers.ledger import CreditTransfers, credit_transfers_id
from creditledger.domain.transfers.lineage import (
    EventPosition,
    Lineage,
    SourceLineage,
    trace_account,
    trace_exemption,
)
from creditledger.domain.transfers.rules import ConversionRule, RuleSetVersion
from creditledger.domain.transfers.ruleset import ConversionRuleSet, rule_set_id
from creditledger.domain.transfers.values import (
    AgreementRef,
    ConversionTarget,
    Exemption,
    RuleVersionRef,
    SourceFacts,
    TargetKind,
    parse_account,
)
from creditledger.domain.values import InstitutionKind
from creditledger.errors import (
    ConflictError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)
from creditledger.services.accounts import AccountCommands
from creditledger.services.core import retrying

T = TypeVar("T")

#: How often a command is re-run when another writer changed the same learner's ledger.
CONFLICT_RETRIES = 3

_EVENTS_OF = (
    "SELECT e.position, e.originator_version, e.topic, e.commit_seq, c.key_id, e.hash "
    "FROM stored_events e JOIN ledger_commits c ON c.seq = e.commit_seq "
    "WHERE e.originator_id = ? ORDER BY e.originator_version"
)


class TransferCommands(AccountCommands):
    """Conversion rules, agreements, conversions, exemptions and lineage (mixed into the bank)."""

    # -- queries and loading ---------------------------------------------------------------

    def rule_set(self, institution: str) -> ConversionRuleSet:
        """The conversion rules ``institution`` has published (:class:`NotFoundError`)."""
        return snapshot(self._rule_set(institution))

    def agreement(self, code: str) -> Agreement:
        """The bilateral agreement ``code`` (:class:`NotFoundError` naming ``agreement_code``)."""
        return snapshot(self._agreement(code))

    def credit_transfers(self, learner_id: str) -> CreditTransfers:
        """A learner's transfer ledger (empty if nothing was ever converted)."""
        return snapshot(self._credit_transfers(learner_id))

    def _rule_set(self, institution: str) -> ConversionRuleSet:
        return self._get(ConversionRuleSet, rule_set_id(institution), "conversion rule set",
                         institution, "institution")

    def _agreement(self, code: str) -> Agreement:
        return self._get(Agreement, agreement_id(code), "agreement", code, "agreement_code")

    def _credit_transfers(self, learner_id: str) -> CreditTransfers:
        self._account(learner_id)
        found = self._optional(CreditTransfers, credit_transfers_id(learner_id))
        return found if found is not None else CreditTransfers.open(learner_id)

    # -- rules and agreements ----------------------------------------------------------------

    def publish_rules(
        self, *, rules: Iterable[ConversionRule], effective_from: date, signer: SigningKey,
        today: date | None = None,
    ) -> RuleSetVersion:
        """A school publishes the next version of its conversion rules (转换规则)."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        rule_set = self._optional(ConversionRuleSet, rule_set_id(school))
        rule_set = rule_set or ConversionRuleSet.create(school)
        version = rule_set.publish(rules, effective_from=effective_from,
                                   today=today or self._today())
        self._check_targets(version.rules)
        self._save(rule_set, signer=signer)
        return version

    def propose_agreement(
        self, *, code: str, partner: str, valid_from: date, valid_until: date,
        rules: Iterable[ConversionRule], signer: SigningKey, today: date | None = None,
    ) -> AgreementVersion:
        """A school proposes (the next version of) a bilateral agreement (学分互认协议)."""
        school = self._principal(signer)
        self._require_kind(school, InstitutionKind.SCHOOL)
        self._require_kind(partner, InstitutionKind.SCHOOL)
        existing = self._optional(Agreement, agreement_id(code))
        agreement = existing or Agreement.draft(code=code, parties=(school, partner))
        if set(agreement.parties) != {school, partner}:
            raise ConflictError(f"agreement {code} binds {' and '.join(agreement.parties)}")
        version = agreement.propose(by=school, valid_from=valid_from, valid_until=valid_until,
                                    rules=rules, today=today or self._today())
        self._check_targets(version.rules)
        self._save(agreement, signer=signer)
        return version

    def countersign_agreement(
        self, *, code: str, version: int, signer: SigningKey, today: date | None = None
    ) -> AgreementVersion:
        """The other school countersigns a proposed version: it binds both from now on."""
        school = self._principal(signer)
        agreement = self._agreement(code)
        signed = agreement.countersign(version, by=school, today=today or self._today())
        self._save(agreement, signer=signer)
        return signed

    # -- converting ------------------------------------------------------------------------

    def convert(
        self, *, learner_id: str, source_achievement_ids: Iterable[UUID], rule_id: str,
        signer: SigningKey, agreement_code: str | None = None, today: date | None = None,
    ) -> Conversion:
        """The target school converts a learner's achievements under one of its rules (or of
        an agreement it is party to) into its programme: balanced transfers, and an exemption
        (免修) for a course or module target. Retrying returns the conversion already made.
        """
        ids = tuple(source_achievement_ids)
        day = today or self._today()
        conversion, ledger = retrying_untyped(
            lambda: self._convert(learner_id, ids, rule_id, signer, agreement_code, day))
        self._settle_revoked(ledger, conversion, signer, day)
        return conversion

    def _convert(
        self, learner_id: str, ids: tuple[UUID, ...], rule_id: str, signer: SigningKey,
        agreement_code: str | None, day: date,
    ) -> tuple[Conversion, CreditTransfers]:
        school = self._principal(signer)
        rule, rule_ref, agreement = self._rule_for(school, rule_id, agreement_code, day)
        if rule.target.institution != school:
            raise NotAuthorisedError(f"{school} may not convert into {rule.target.label()}; "
                                     f"{rule.target.institution} does")
        self._check_enrolled(learner_id, rule.target)
        ledger = self._credit_transfers(learner_id)
        request = ConversionRequest(
            rule=rule, rule_ref=rule_ref, agreement=agreement, on=day,
            sources=tuple(self._facts(a) for a in ids),
            target_credits=self._target_credits(rule.target))
        conversion = ledger.convert(request)
        if ledger.pending_events:
            self._save(ledger, signer=signer)
        return conversion, ledger

    def _rule_for(
        self, school: str, rule_id: str, agreement_code: str | None, day: date
    ) -> tuple[ConversionRule, RuleVersionRef, AgreementRef | None]:
        if agreement_code is None:
            rule_set = self._rule_set(school)
            version, rule = rule_set.rule_at(rule_id, day)
            return rule, RuleVersionRef(rule_set_id=rule_set.id, version=version.version,
                                        rule_id=rule.rule_id), None
        agreement = self._agreement(agreement_code)
        if school not in agreement.parties:
            raise NotAuthorisedError(f"{school} is not a party to agreement {agreement_code}")
        ref, rule = agreement.rule_at(rule_id, day)
        return rule, RuleVersionRef(rule_set_id=agreement.id, version=ref.version,
                                    rule_id=rule.rule_id), ref

    def _check_enrolled(self, learner_id: str, target: ConversionTarget) -> None:
        account = self._account(learner_id)
        if (account.home_institution, account.programme_code) != target.programme:
            raise ConflictError(f"learner {learner_id} is not enrolled in "
                                f"{'/'.join(target.programme)}; enrol them first")

    def _facts(self, achievement_id: object) -> SourceFacts:
        if not isinstance(achievement_id, UUID):
            raise ValidationError("source_achievement_ids", "must be achievement UUIDs")
        return source_facts(self._achievement(achievement_id))

    def _check_targets(self, rules: Iterable[ConversionRule]) -> None:
        """Every rule's target is a course, module or category of an existing programme."""
        for rule in rules:
            self._target_credits(rule.target, check_only=True)

    def _target_credits(self, target: ConversionTarget, check_only: bool = False) -> Decimal | None:
        """The credits of a course or module target (None for a category); checks it exists."""
        programme = self._programme(target.institution, target.programme_code)
        if target.kind is TargetKind.CATEGORY:
            return None
        if target.kind is TargetKind.COURSE:
            if target.code not in programme.courses:
                raise NotFoundError("course", f"{target.code} in {programme.code}", "target")
            return None if check_only else self._course(target.institution, target.code).credits
        if target.code not in programme.modules:
            raise NotFoundError("module", f"{target.code} in {programme.code}", "target")
        if check_only:
            return None
        courses = programme.module_courses(target.code)
        return sum((self._course(target.institution, c).credits for c in courses), Decimal("0"))

    def _settle_revoked(
        self, ledger: CreditTransfers, conversion: Conversion, signer: SigningKey, day: date
    ) -> None:
        """A source revoked while the conversion was being made is compensated at once."""
        for source_id in conversion.source_ids:
            achievement = self._achievement(source_id)
            if achievement.is_revoked:
                fresh = self._credit_transfers(ledger.learner_id)
                if fresh.reverse_source(source_id, reason="source revoked meanwhile", on=day):
                    self._save(fresh, signer=signer)

    # -- makeup (补考) -------------------------------------------------------------------------

    def post_pending(
        self, *, learner_id: str, conversion_id: UUID, makeup_score: Decimal,
        signer: SigningKey, today: date | None = None,
    ) -> Conversion:
        """The target school records a passed makeup (补考): the pending conversion posts."""
        day = today or self._today()

        def run() -> Conversion:
            ledger = self._pending_ledger(learner_id, conversion_id, signer)
            done = ledger.post_pending(conversion_id, makeup_score=makeup_score, on=day)
            self._save(ledger, signer=signer)
            return done

        return retrying_untyped(run)

    def void_pending(
        self, *, learner_id: str, conversion_id: UUID, reason: str, signer: SigningKey,
        today: date | None = None,
    ) -> Conversion:
        """The target school voids a pending conversion (makeup failed): credits are released."""
        day = today or self._today()

        def run() -> Conversion:
            ledger = self._pending_ledger(learner_id, conversion_id, signer)
            done = ledger.void_pending(conversion_id, reason=reason, on=day)
            self._save(ledger, signer=signer)
            return done

        return retrying_untyped(run)

    def _pending_ledger(
        self, learner_id: str, conversion_id: UUID, signer: SigningKey
    ) -> CreditTransfers:
        school = self._principal(signer)
        ledger = self._credit_transfers(learner_id)
        target = ledger.conversion(conversion_id).record.target
        if target.institution != school:
            raise NotAuthorisedError(f"only {target.institution} may settle this conversion")
        return ledger

    # -- queries ---------------------------------------------------------------------------

    def exemptions(self, learner_id: str) -> tuple[Exemption, ...]:
        """A learner's exemptions (免修) in force."""
        return self._credit_transfers(learner_id).live_exemptions()

    def requirement_balances(self, learner_id: str) -> dict[str, Decimal]:
        """Posted converted credits per requirement account of a learner."""
        return self._credit_transfers(learner_id).requirement_balances()

    def explain(
        self, learner_id: str, *, account: str | None = None, exemption: str | None = None
    ) -> Lineage:
        """The lineage (溯源) of an account's credits, or of the exemption of a course or module
        code: conversions, transfers, rule and agreement versions, and the source achievements
        with the chain positions of their signed events."""
        if (account is None) == (exemption is None):
            raise ValidationError("account", "give either an account or an exemption")
        ledger = self._credit_transfers(learner_id)
        events = self._chain_positions()
        sources = self._source_lineage(events)

        def recorded(versions: tuple[int, ...]) -> tuple[EventPosition, ...]:
            mine = events(ledger.id)
            return tuple(p for p in mine if p.aggregate_version in versions)

        if account is not None:
            return trace_account(ledger, parse_account(account), sources, recorded)
        return trace_exemption(ledger, str(exemption), sources, recorded)

    def _source_lineage(
        self, events: Callable[[UUID], tuple[EventPosition, ...]]
    ) -> Callable[[SourceFacts], SourceLineage]:
        def lineage(facts: SourceFacts) -> SourceLineage:
            found = self._optional(Achievement, facts.achievement_id)
            revoked = found.is_revoked if found is not None else False
            return SourceLineage(facts=facts, revoked=revoked,
                                 events=events(facts.achievement_id))

        return lineage

    def _chain_positions(self) -> Callable[[UUID], tuple[EventPosition, ...]]:
        """Look up an aggregate's signed events in the chain (read-only, cached per call)."""
        registry = self._registry
        signers = {k: (e.principal, "root" if k == registry.root.key_id
                       else e.role or "administrator", e.staff_id)
                   for k, e in registry.entries.items()}
        cache: dict[UUID, tuple[EventPosition, ...]] = {}

        def position(row: tuple[Any, ...]) -> EventPosition:
            principal, role, staff_id = signers.get(row[4], ("", "", ""))
            return EventPosition(position=row[0], aggregate_version=row[1], topic=row[2],
                                 commit_seq=row[3], key_id=row[4], hash=bytes(row[5]).hex(),
                                 signed_by=principal, role=role, staff_id=staff_id)

        def positions(aggregate_id: UUID) -> tuple[EventPosition, ...]:
            if aggregate_id not in cache:
                cache[aggregate_id] = tuple(
                    position(r) for r in self._query(_EVENTS_OF, (aggregate_id.hex,)))
            return cache[aggregate_id]

        return positions


def reversed_conversions(bank: TransferCommands, achievement: Achievement
                         ) -> CreditTransfers | None:
    """The learner's transfer ledger with every conversion resting on a revoked achievement
    reversed (to be saved in the revocation's commit), or None if nothing rests on it."""
    revocation = achievement.revocation
    ledger = bank._optional(CreditTransfers, credit_transfers_id(achievement.learner_id))
    if ledger is None or revocation is None:
        return None
    reason = f"source revoked ({revocation.reason.value}): {revocation.note}"[:2000]
    changed = ledger.reverse_source(achievement.id, reason=reason, on=revocation.revoked_on)
    return ledger if changed else None


def corrected_conversions(bank: TransferCommands, achievement: Achievement
                          ) -> CreditTransfers | None:
    """The learner's transfer ledger with every conversion resting on a corrected result
    reversed (to be saved in the correction's commit), or None if nothing rests on it."""
    correction = achievement.corrections[-1] if achievement.corrections else None
    ledger = bank._optional(CreditTransfers, credit_transfers_id(achievement.learner_id))
    if ledger is None or correction is None:
        return None
    reason = (f"source corrected (score {correction.previous_score} → {correction.score}): "
              f"{correction.reason}")[:2000]
    changed = ledger.reverse_source(achievement.id, reason=reason, on=correction.corrected_on)
    return ledger if changed else None


def retrying_untyped(command: Callable[[], T]) -> T:
    """Run ``command``, again on fresh state if another writer changed the same learner's
    ledger first (every check runs again); the last conflict is eventsourcing's own."""
    return retrying(command, CONFLICT_RETRIES, typed=False)
