"""Drive the pure ledger with a random history, and check the invariants independently."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from creditledger.domain import (
    CapScope,
    ConversionRule,
    ConversionStatus,
    CreditTransfers,
    SourceFacts,
    SourceLineage,
    TargetKind,
    TransferKind,
)
from creditledger.domain.transfers.caps import CapUse, cap_key
from creditledger.domain.transfers.lineage import trace_account
from creditledger.domain.transfers.policy import selector_matches
from creditledger.errors import CreditLedgerError

from .builders import DAY, ledger, request
from .strategies import TARGET_CREDITS, conversion_day

ZERO = Decimal("0.00")


class Run:
    """A learner's ledger, the world's sources and rules, and the history applied so far."""

    def __init__(self, rules: list[ConversionRule], sources: list[SourceFacts]) -> None:
        self.book: CreditTransfers = ledger()
        self.rules = rules
        self.sources = {s.achievement_id: s for s in sources}
        self.order = [s.achievement_id for s in sources]
        self.revoked: set[UUID] = set()
        self.accepted: list[UUID] = []

    def facts(self, source_id: UUID) -> SourceFacts:
        return msgspec.structs.replace(self.sources[source_id],
                                       revoked=source_id in self.revoked)

    def apply(self, op: tuple[Any, ...], *, resting_on: UUID | None = None) -> bool:
        """Apply one command; a refused command must record nothing. With ``resting_on``, a
        post or void only picks among the conversions that draw on that source."""
        before = len(self.book.pending_events)
        try:
            self._apply(op, resting_on)
        except CreditLedgerError:
            assert len(self.book.pending_events) == before, f"refused {op} but recorded"
            return False
        return True

    def _apply(self, op: tuple[Any, ...], resting_on: UUID | None = None) -> None:
        if op[0] == "convert":
            rule = self.rules[op[1] % len(self.rules)]
            ids = self.pick(rule, op[2], op[4], op[5] if len(op) > 5 else None)
            credits = TARGET_CREDITS.get(rule.target.code)
            done = self.book.convert(request(rule, *(self.facts(i) for i in ids),
                                             target_credits=credits, on=conversion_day(op[3])))
            if done.id not in self.accepted:
                self.accepted.append(done.id)
        elif op[0] in ("post", "void") and (accepted := self.candidates(resting_on)):
            waiting = [c for c in accepted
                       if self.book.conversion(c).status is ConversionStatus.PENDING]
            choices = waiting or accepted  # mostly the pending ones
            cid = choices[op[1] % len(choices)]
            on = self.book.conversion(cid).record.on
            if op[0] == "post":
                self.book.post_pending(cid, makeup_score=op[2], on=on)
            else:
                self.book.void_pending(cid, reason="makeup failed", on=on)
        elif op[0] == "revoke":
            sid = self.order[op[1] % len(self.order)]
            self.revoked.add(sid)
            self.book.reverse_source(sid, reason="revoked", on=DAY + timedelta(days=500))

    def candidates(self, resting_on: UUID | None) -> list[UUID]:
        """The accepted conversions a post or void may pick: all, or those drawing on a source."""
        if resting_on is None:
            return self.accepted
        return [c for c in self.accepted
                if resting_on in self.book.conversion(c).record.source_ids]

    def pick(self, rule: ConversionRule, picks: list[int], matching: bool,
             forced: int | None) -> list[UUID]:
        """Sources for a conversion: blindly by index, or one matching source per selector
        (``forced``, an index into the sources, is always among them)."""
        if not matching:
            return list(dict.fromkeys(self.order[j % len(self.order)] for j in picks))
        must = None if forced is None else self.order[forced]
        chosen: list[UUID] = []
        for k, selector in enumerate(rule.sources):
            fits = [i for i in self.order
                    if i not in chosen and selector_matches(selector, self.sources[i])]
            if must in fits:
                chosen.append(must)
            elif fits:
                chosen.append(fits[picks[k % len(picks)] % len(fits)])
        if must is not None and must not in chosen:
            chosen.append(must)  # it fits no selector: the conversion will be refused
        return chosen or [self.order[picks[0] % len(self.order)]]


# Independent recomputation from the transfer list ----------------------------------------------


def columns(book: CreditTransfers) -> dict[str, tuple[Decimal, Decimal]]:
    """(posted, pending) net balance of every account, recomputed from the transfers alone."""
    posted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    pending: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for t in book.transfers:
        if t.kind is TransferKind.PENDING:
            pending[t.credit_account] += t.amount
            pending[t.debit_account] -= t.amount
            continue
        if t.kind in (TransferKind.POSTED_FROM_PENDING, TransferKind.VOIDED):
            pending[t.credit_account] -= t.amount
            pending[t.debit_account] += t.amount
        if t.kind is not TransferKind.VOIDED:
            posted[t.credit_account] += t.amount
            posted[t.debit_account] -= t.amount
    accounts = set(posted) | set(pending)
    return {a: (posted[a], pending[a]) for a in accounts}


def check_invariants(run: Run) -> None:
    book = run.book
    balances = columns(book)
    for account, (posted, pending) in balances.items():  # the aggregate agrees
        assert (book.balance(account).posted, book.balance(account).pending) == (posted, pending)
    check_no_double_counting(run, balances)
    check_caps(run)
    check_conservation(book, balances)
    check_traceability(book)


def check_no_double_counting(run: Run, balances: dict[str, tuple[Decimal, Decimal]]) -> None:
    """1. Drawn credits never exceed recognised credits; one exemption per source unless
    every exemption it backs is shareable."""
    backing: dict[UUID, list[bool]] = defaultdict(list)
    for exemption in run.book.live_exemptions():
        for sid in exemption.source_achievement_ids:
            backing[sid].append(exemption.shareable)
    for sid, source in run.sources.items():
        posted, pending = balances.get(f"achievement/{sid}", (ZERO, ZERO))
        assert ZERO <= -(posted + pending) <= source.credits
        shares = backing.get(sid, [])
        assert len(shares) <= 1 or all(shares), f"{sid} backs {len(shares)} exemptions"
    targets = [e.target.account for e in run.book.live_exemptions()]
    assert len(targets) == len(set(targets))


def check_caps(run: Run) -> None:
    """2. Whatever the order, what a learner receives through a rule stays within its caps."""
    for rule in run.rules:
        live = [s.record for s in run.book.conversions.values()
                if s.is_live and s.record.rule.rule_id == rule.rule_id]
        uses = [CapUse(next(x for x in c.sources if x.achievement_id == t.source_achievement_id),
                       t.amount, c.on.year)
                for c in live for t in c.transfers if t.credit_account == c.target.account]
        for cap in rule.caps:
            if cap.scope is CapScope.CERTIFICATE_COUNT:
                used = {s.achievement_id for c in live for s in c.sources if s.is_certificate}
                assert len(used) <= cap.limit
                continue
            totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for use in uses:
                totals[cap_key(cap.scope, use, rule.target)] += use.amount
            assert all(v <= cap.limit for v in totals.values()), (cap, dict(totals))


def check_conservation(book: CreditTransfers, balances: dict[str, tuple[Decimal, Decimal]]) -> None:
    """3. Every transfer balances, so all accounts sum to zero; rounding never creates credit."""
    assert sum(p for p, _ in balances.values()) == ZERO
    assert sum(q for _, q in balances.values()) == ZERO
    for t in book.transfers:
        assert t.amount > 0 and t.amount == t.amount.quantize(Decimal("0.01"))
        assert t.debit_account != t.credit_account
    for state in book.conversions.values():
        c = state.record
        given = sum((t.amount for t in c.transfers if t.credit_account == c.target.account), ZERO)
        drawn = sum((t.amount for t in c.transfers), ZERO)
        assert given <= drawn
        if c.target.kind is not TargetKind.CATEGORY:
            assert given == Decimal(TARGET_CREDITS[c.target.code])


def check_traceability(book: CreditTransfers) -> None:
    """6. Every requirement balance is the sum of the conversions that explain it, and each
    reaches its sources."""
    for account, balance in book.requirement_balances().items():
        lineage = trace_account(book, account, lambda f: SourceLineage(facts=f, revoked=False,
                                                                       events=()), lambda v: ())
        assert lineage.balance == balance
        assert sum((c.amount for c in lineage.conversions), ZERO) == balance
        for c in lineage.conversions:
            sources = {s.facts.achievement_id for s in c.sources}
            assert all(t.source_achievement_id in sources for t in c.transfers)
            assert sources


def fingerprint(book: CreditTransfers) -> tuple[Any, ...]:
    """What a replay or a reordering must reproduce: balances and exemptions."""
    balances = {a: (b.posted, b.pending) for a, b in book.accounts.items()
                if b.posted or b.pending}
    return balances, book.live_exemptions()
