"""Lineage (溯源) of converted credits and exemptions: what ``explain`` returns.

For an account or an exemption, the lineage lists every conversion that moved credits through
it — with its transfers, the rule and agreement versions that applied, the ledger events that
recorded it, and its source achievements with the positions of their signed events in the
chain. The net amounts of the conversions sum to the account's balance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec

from creditledger.domain.transfers.ledger import ConversionState, CreditTransfers
from creditledger.domain.transfers.rules import RuleKind
from creditledger.domain.transfers.values import (
    AgreementRef,
    ConversionStatus,
    ConversionTarget,
    Exemption,
    RuleVersionRef,
    SourceFacts,
    Transfer,
    TransferKind,
)
from creditledger.errors import NotFoundError

_ZERO = Decimal("0.00")


class EventPosition(msgspec.Struct, frozen=True, kw_only=True):
    """Where a signed event sits in the chain: position, commit, signer and hash. ``signed_by``
    is the institution the key is registered to, ``role`` and ``staff_id`` the role it signs
    in and the staff member it belongs to (empty for an institution's own key)."""

    position: int
    aggregate_version: int
    topic: str
    commit_seq: int
    key_id: str
    signed_by: str
    hash: str
    role: str = ""
    staff_id: str = ""

    @property
    def signer(self) -> str:
        """Who signed it, as transcripts show it: ``GZCC (assessor T-0451)``."""
        staff = f" {self.staff_id}" if self.staff_id else ""
        return f"{self.signed_by} ({self.role}{staff})" if self.role else self.signed_by


class SourceLineage(msgspec.Struct, frozen=True, kw_only=True):
    """A source achievement as converted, and every signed event of it in the chain."""

    facts: SourceFacts
    revoked: bool
    events: tuple[EventPosition, ...]


class ConversionLineage(msgspec.Struct, frozen=True, kw_only=True):
    """One conversion through the explained account: ``amount`` is its net posted effect there."""

    conversion_id: UUID
    status: ConversionStatus
    on: date
    rule: RuleVersionRef
    rule_kind: RuleKind
    agreement: AgreementRef | None
    target: ConversionTarget
    amount: Decimal
    pending: Decimal
    transfers: tuple[Transfer, ...]
    sources: tuple[SourceLineage, ...]
    recorded_in: tuple[EventPosition, ...]


class Lineage(msgspec.Struct, frozen=True, kw_only=True):
    """The lineage of one account (or of the exemption held in it)."""

    learner_id: str
    account: str
    balance: Decimal
    pending: Decimal
    exemption: Exemption | None
    conversions: tuple[ConversionLineage, ...]


SourceLookup = Callable[[SourceFacts], SourceLineage]
EventLookup = Callable[[tuple[int, ...]], tuple[EventPosition, ...]]


def trace_account(
    ledger: CreditTransfers, account: str, sources: SourceLookup, recorded: EventLookup
) -> Lineage:
    """The lineage of ``account`` in ``ledger``."""
    touching = [s for s in ledger.conversions.values()
                if any(account in (t.debit_account, t.credit_account) for t in s.transfers)]
    balance = ledger.balance(account)
    held = next((e for e in ledger.live_exemptions() if e.target.account == account), None)
    return Lineage(
        learner_id=ledger.learner_id, account=account, balance=balance.posted,
        pending=balance.pending, exemption=held,
        conversions=tuple(_conversion(s, account, sources, recorded) for s in touching),
    )


def trace_exemption(
    ledger: CreditTransfers, code: str, sources: SourceLookup, recorded: EventLookup
) -> Lineage:
    """The lineage of the exemption of course or module ``code`` (in force, else the latest)."""
    live = [e for e in ledger.live_exemptions() if e.target.code == code]
    past = [s.record.exemption for s in ledger.conversions.values()
            if s.record.exemption is not None and s.record.exemption.target.code == code]
    found = live + past[-1:]
    if not found:
        raise NotFoundError("exemption", code, "exemption")
    return trace_account(ledger, found[0].target.account, sources, recorded)


def _conversion(
    state: ConversionState, account: str, sources: SourceLookup, recorded: EventLookup
) -> ConversionLineage:
    c = state.record
    posted = pending = _ZERO
    for t in state.transfers:
        sign = (t.credit_account == account) - (t.debit_account == account)
        if t.kind is TransferKind.PENDING:
            pending += sign * t.amount
        elif t.kind in (TransferKind.POSTED_FROM_PENDING, TransferKind.VOIDED):
            pending -= sign * t.amount
            if t.kind is TransferKind.POSTED_FROM_PENDING:
                posted += sign * t.amount
        else:
            posted += sign * t.amount
    return ConversionLineage(
        conversion_id=c.id, status=state.status, on=c.on, rule=c.rule, rule_kind=c.rule_kind,
        agreement=c.agreement, target=c.target, amount=posted, pending=pending,
        transfers=tuple(state.transfers), sources=tuple(sources(s) for s in c.sources),
        recorded_in=recorded(tuple(state.versions)),
    )
