"""Exemptions (免修): one per course or module, one per source unless the rules say it may be
shared, and idempotent retries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from creditledger.domain import TargetKind
from creditledger.errors import AlreadyExemptError, SourceAlreadyUsedError

from .builders import certificate_rule, facts, ledger, request, target


def kj2104_rule(rule_id: str = "cert-2104", *, shareable: bool = False) -> object:
    return certificate_rule(rule_id, target=target(TargetKind.COURSE, "KJ2104"),
                            shareable=shareable)


def test_one_achievement_never_satisfies_two_exemptions_unless_both_rules_share() -> None:
    book, cert = ledger(), facts("a", credits=Decimal(8))
    book.convert(request(certificate_rule(), cert, target_credits="4.00"))
    with pytest.raises(SourceAlreadyUsedError, match="already backs the exemption of course"):
        book.convert(request(kj2104_rule(shareable=True), cert,  # type: ignore[arg-type]
                             target_credits="2.00"))
    shared = ledger()
    shared.convert(request(certificate_rule(shareable=True), cert, target_credits="4.00"))
    shared.convert(request(kj2104_rule(shareable=True), cert,  # type: ignore[arg-type]
                           target_credits="2.00"))
    assert len(shared.live_exemptions()) == 2
    assert shared.available(cert) == Decimal("2.00")  # still no double counting


def test_a_course_is_exempted_once() -> None:
    book = ledger()
    book.convert(request(certificate_rule(), facts("a"), target_credits="4.00"))
    with pytest.raises(AlreadyExemptError, match="already exempt"):
        book.convert(request(certificate_rule("other"), facts("b"), target_credits="4.00"))


def test_retrying_a_conversion_returns_it_and_records_nothing() -> None:
    book, cert = ledger(), facts("a")
    first = book.convert(request(certificate_rule(), cert, target_credits="4.00"))
    events = len(book.pending_events)
    again = book.convert(request(certificate_rule(), cert, target_credits="4.00"))
    assert again == first and len(book.pending_events) == events
