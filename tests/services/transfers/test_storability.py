"""Every event of the transfer aggregates survives the store's codec (msgspec, typed by the
event class's annotations) exactly: Decimals keep their digits, Structs their types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import get_topic

from creditledger.domain import Agreement, Conditions, ConversionRuleSet
from creditledger.store.mapper import decode_state, encode_state

from .builders import DAY, certificate_rule, facts, ledger, request
from .world import inter_school_rule


def every_transfer_event() -> list[Aggregate]:
    rules = ConversionRuleSet.create("GZCC")
    rules.publish([certificate_rule()], effective_from=date(2022, 1, 1), today=DAY)
    agreement = Agreement.draft(code="A-1", parties=("GZCC", "LNPC"))
    agreement.propose(by="GZCC", valid_from=DAY, valid_until=DAY, rules=[inter_school_rule()],
                      today=DAY)
    agreement.countersign(1, by="LNPC", today=DAY)
    book = ledger()
    makeup = certificate_rule(conditions=Conditions(makeup_pass_mark=Decimal(60)))
    voided = book.convert(request(makeup, facts("b", credits=Decimal(8)), target_credits="4",
                                  rule_set=agreement.id))
    book.void_pending(voided.id, reason="failed", on=DAY)
    posted = book.convert(request(makeup, facts("a"), target_credits="4.00"))
    book.post_pending(posted.id, makeup_score=Decimal("72.5"), on=DAY)
    book.reverse_source(facts("a").achievement_id, reason="revoked", on=DAY)
    return [rules, agreement, book]


def declared(cls: type[Aggregate]) -> set[type]:
    return {v for n, v in vars(cls).items() if isinstance(v, type)
            and issubclass(v, CanMutateAggregate) and n not in ("Event", "Created", "Snapshot")}


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (so Decimal("4.00") != Decimal("4"))."""
    return msgspec.json.encode(left) == msgspec.json.encode(right) and repr(left) == repr(right)


def test_every_transfer_event_class_is_emitted_and_round_trips_exactly() -> None:
    aggregates = every_transfer_event()
    seen: set[type] = set()
    for aggregate in aggregates:
        for domain_event in aggregate.collect_events():
            seen.add(type(domain_event))
            state = {k: v for k, v in vars(domain_event).items()
                     if k not in ("originator_id", "originator_version")}
            back = decode_state(get_topic(type(domain_event)), encode_state(state))
            assert same(state, {k: back[k] for k in state}), type(domain_event).__qualname__
    assert seen == {c for a in aggregates for c in declared(type(a))} and len(seen) == 10
