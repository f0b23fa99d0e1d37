"""The invariants of the transfer engine, as properties over random rules, sources and histories
(pure ledger; the facade is exercised in test_facade_properties.py).

1. no double counting   2. caps   3. conservation   4. reversal   5. determinism
6. traceability (here against the ledger; against the signed chain in the facade test)
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder
from hypothesis import given, target
from hypothesis import strategies as st

from creditledger.domain import ConversionRule, CreditTransfers, SourceFacts
from creditledger.store.mapper import LedgerMapper

from .model import Run, check_invariants, fingerprint
from .strategies import (
    convert_op,
    histories,
    order_free_rules,
    post_op,
    rule_sets,
    source_lists,
    sources,
)


@given(rules=rule_sets(), world=source_lists(), history=histories)
def test_invariants_1_2_3_6_hold_after_every_command(
    rules: list[ConversionRule], world: list[SourceFacts], history: list[tuple[Any, ...]]
) -> None:
    run = Run(rules, world)
    for op in history:
        run.apply(op)
        check_invariants(run)
    target(float(len(run.accepted)), label="accepted conversions")  # steer towards busy ledgers


@given(rules=rule_sets(), world=source_lists(), history=histories,
       extra=sources("revoked-later"),
       later=st.lists(st.one_of(convert_op, post_op), min_size=1, max_size=5))
def test_4_recognise_convert_revoke_is_as_if_never_recognised(
    rules: list[ConversionRule], world: list[SourceFacts], history: list[tuple[Any, ...]],
    extra: SourceFacts, later: list[tuple[Any, ...]],
) -> None:
    without = Run(rules, world)
    with_it = Run(rules, world)
    for op in history:
        without.apply(op)
        with_it.apply(op)
    with_it.sources[extra.achievement_id] = extra
    with_it.order.append(extra.achievement_id)
    n = len(with_it.order) - 1
    used = 0
    for op in later:  # every later conversion uses the extra source, and every post or void
        if op[0] == "convert":  # touches only those: the history shared with `without` stays as is
            op = (*op[:4], True, n)
        used += with_it.apply(op, resting_on=extra.achievement_id) and op[0] == "convert"
    events = len(with_it.book.transfers)
    with_it.apply(("revoke", n))
    check_invariants(with_it)
    assert fingerprint(with_it.book) == fingerprint(without.book)
    for sid, source in without.sources.items():
        assert with_it.book.available(source) == without.book.available(source), sid
    assert len(with_it.book.transfers) >= events  # history only grows
    if used:
        assert len(with_it.book.transfers) > len(without.book.transfers)


@given(rules=rule_sets(), world=source_lists(), history=histories)
def test_5_replaying_the_stored_events_gives_the_same_ledger(
    rules: list[ConversionRule], world: list[SourceFacts], history: list[tuple[Any, ...]]
) -> None:
    run = Run(rules, world)
    for op in history:
        run.apply(op)
    mapper = LedgerMapper(transcoder=JSONTranscoder())
    replayed: CreditTransfers | None = None
    for event in run.book.collect_events():
        stored = mapper.to_stored_event(event)
        replayed = mapper.to_domain_event(stored).mutate(replayed)
    assert replayed is not None
    assert replayed.transfers == run.book.transfers
    assert fingerprint(replayed) == fingerprint(run.book)
    assert {k: s.status for k, s in replayed.conversions.items()} == {
        k: s.status for k, s in run.book.conversions.items()}


@given(rules=order_free_rules, world=source_lists(2, 6), data=st.data())
def test_5_with_order_free_rules_arrival_order_does_not_change_the_balances(
    rules: list[ConversionRule], world: list[SourceFacts], data: st.DataObject
) -> None:
    picks = [(i, data.draw(st.integers(0, len(rules) - 1))) for i in range(len(world))]
    shuffled = data.draw(st.permutations(picks))
    results = []
    for order in (picks, shuffled):
        run = Run(rules, world)
        for i, r in order:
            run.apply(("convert", r, [i], 0, False))
        check_invariants(run)
        results.append((fingerprint(run.book), sorted(map(str, run.accepted))))
    assert results[0] == results[1]
