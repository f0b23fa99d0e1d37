"""Each kind of cap (转换上限), on the pure ledger; every refusal records nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditledger.domain import AchievementKind, Cap, CapScope, CreditTransfers, SourceSelector
from creditledger.errors import CapExceededError

from .builders import (
    category_rule,
    facts,
    ledger,
    module_rule,
    request,
    training_facts,
)


def cap(scope: CapScope, limit: str) -> tuple[Cap, ...]:
    return (Cap(scope=scope, limit=Decimal(limit)),)


def refuse(book: CreditTransfers, *args: object, **kw: object) -> CapExceededError:
    before = len(book.pending_events)
    with pytest.raises(CapExceededError) as e:
        book.convert(request(*args, **kw))  # type: ignore[arg-type]
    assert len(book.pending_events) == before
    return e.value


def test_per_programme_cap_bounds_the_rules_total() -> None:
    rule = category_rule(credits="3.00", caps=cap(CapScope.PROGRAMME, "5.00"))
    book = ledger()
    book.convert(request(rule, facts("a")))
    e = refuse(book, rule, facts("b"))
    assert str(e).startswith("cap per-programme GZCC/530302 (5.00 credits) would be exceeded "
                             "by 1.00")


def test_per_year_cap_counts_each_calendar_year_apart() -> None:
    rule = category_rule(credits="3.00", caps=cap(CapScope.YEAR, "3.00"))
    book = ledger()
    book.convert(request(rule, facts("a"), on=date(2022, 9, 1)))
    assert refuse(book, rule, facts("b"), on=date(2022, 12, 31)).key == "2022"
    book.convert(request(rule, facts("b"), on=date(2023, 1, 1)))


def test_per_source_kind_cap_counts_each_kind_of_source() -> None:
    rule = module_rule(caps=cap(CapScope.SOURCE_KIND, "3.00"))  # the certificate gives 4.00
    e = refuse(ledger(), rule, facts("c"), training_facts("t"), target_credits="6.00")
    assert (e.key, e.current, e.requested, e.excess) == (
        "x_certificate", Decimal(0), Decimal("4.00"), Decimal("1.00"))


def test_per_source_institution_cap_counts_each_certifying_institution() -> None:
    rule = category_rule(credits="2.00", kind=AchievementKind.TRAINING_RECORD,
                         caps=cap(CapScope.SOURCE_INSTITUTION, "4.00"))
    book = ledger()
    for name in ("t1", "t2"):
        book.convert(request(rule, training_facts(name)))
    assert refuse(book, rule, training_facts("t3")).key == "VTC"
    other = training_facts("t4", certified_by="OTHER-VTC", institution="OTHER-VTC")
    book.convert(request(rule, other))


def test_certificate_count_cap_bounds_how_many_certificates_are_used() -> None:
    rule = category_rule(credits="1.00", caps=cap(CapScope.CERTIFICATE_COUNT, "2"))
    book = ledger()
    book.convert(request(rule, facts("a")))
    book.convert(request(rule, facts("b")))
    e = refuse(book, rule, facts("c"))
    assert str(e).startswith("cap certificate-count (2 certificates) would be exceeded by 1")


def test_a_cap_counts_only_its_own_rule() -> None:
    capped = category_rule("capped", credits="3.00", caps=cap(CapScope.PROGRAMME, "3.00"))
    free = category_rule("free", credits="3.00")
    book = ledger()
    book.convert(request(free, facts("a")))
    book.convert(request(capped, facts("b")))
    refuse(book, capped, facts("c"))


def test_a_reversed_conversion_no_longer_counts_against_a_cap() -> None:
    rule = category_rule(credits="3.00", caps=cap(CapScope.PROGRAMME, "3.00"))
    book, first = ledger(), facts("a")
    book.convert(request(rule, first))
    refuse(book, rule, facts("b"))
    book.reverse_source(first.achievement_id, reason="revoked", on=date(2022, 9, 2))
    book.convert(request(rule, facts("b")))


def test_a_module_rule_names_one_selector_per_source() -> None:
    rule = module_rule(sources=(SourceSelector(kind=AchievementKind.X_CERTIFICATE),
                                SourceSelector(kind=AchievementKind.X_CERTIFICATE)))
    book = ledger()
    done = book.convert(request(rule, facts("a", credits=Decimal(2)),
                                facts("b", credits=Decimal(5)), target_credits="6.00"))
    assert [t.amount for t in done.transfers] == [Decimal(2), Decimal(4)]
