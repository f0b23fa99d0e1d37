"""Caps (转换上限): limits on what one learner may receive through one rule.

A cap bounds the credits one learner receives through the rule that carries it (any version of
it), within the rule's target programme: in total (``programme``), per calendar year of the
conversion, per kind of source, per institution that certified the source — or the number of
certificates used. Every live conversion counts (posted, or pending and so reserving). Because a
conversion that would break a cap is refused, a cap holds whatever order achievements arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from creditledger.domain.transfers.rules import Cap, CapScope, ConversionRule
from creditledger.domain.transfers.values import ConversionTarget, SourceFacts
from creditledger.errors import CapExceededError

_ZERO = Decimal("0.00")


class CapUse(NamedTuple):
    """Credits one source gave (or would give) a target of the programme, in one year."""

    source: SourceFacts
    amount: Decimal
    year: int


def cap_key(scope: CapScope, use: CapUse, target: ConversionTarget) -> str:
    """What a cap of ``scope`` groups ``use`` by (empty for a whole-programme count)."""
    if scope is CapScope.SOURCE_KIND:
        return use.source.kind.value
    if scope is CapScope.SOURCE_INSTITUTION:
        return use.source.certified_by
    if scope is CapScope.YEAR:
        return str(use.year)
    return "/".join(target.programme)


def check_caps(
    rule: ConversionRule,
    existing: Iterable[CapUse],
    asked: list[CapUse],
    certificates: tuple[set[UUID], set[UUID]],
) -> None:
    """Refuse (:class:`CapExceededError`) if ``asked`` would break one of ``rule``'s caps.

    ``existing`` are the live uses through the same rule; ``certificates`` the certificate
    achievements those live conversions already rest on, and those the new one would use.
    """
    before = list(existing)
    used, wanted = certificates
    for cap in rule.caps:
        if cap.scope is CapScope.CERTIFICATE_COUNT:
            _check_count(rule, cap, wanted - used, used)
        else:
            _check_credits(rule, cap, before, asked)


def _check_credits(
    rule: ConversionRule, cap: Cap, before: list[CapUse], asked: list[CapUse]
) -> None:
    for key in dict.fromkeys(cap_key(cap.scope, u, rule.target) for u in asked):
        current = _sum(u for u in before if cap_key(cap.scope, u, rule.target) == key)
        requested = _sum(u for u in asked if cap_key(cap.scope, u, rule.target) == key)
        if current + requested > cap.limit:
            raise CapExceededError(rule_id=rule.rule_id, scope=cap.scope.label, key=key,
                                   limit=cap.limit, current=current, requested=requested)


def _check_count(rule: ConversionRule, cap: Cap, new: set[UUID], used: set[UUID]) -> None:
    if new and len(used) + len(new) > cap.limit:
        raise CapExceededError(rule_id=rule.rule_id, scope=cap.scope.label, key="",
                               limit=cap.limit, current=Decimal(len(used)),
                               requested=Decimal(len(new)), unit="certificates")


def _sum(uses: Iterable[CapUse]) -> Decimal:
    return sum((u.amount for u in uses), _ZERO)
