"""Replaying an aggregate's events rebuilds exactly the same aggregate."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
from hypothesis import given, settings
from hypothesis import strategies as st

from creditledger.errors import CreditLedgerError

from .builders import make_account
from .scenario import every_event_scenario


def replay(aggregate: Aggregate) -> Aggregate | None:
    events = aggregate.collect_events()
    rebuilt: Aggregate | None = None
    for domain_event in events:
        rebuilt = domain_event.mutate(rebuilt)
    return rebuilt


def test_every_aggregate_is_rebuilt_from_its_events() -> None:
    for aggregate in every_event_scenario():
        rebuilt = replay(aggregate)
        assert rebuilt == aggregate, type(aggregate).__name__
        assert rebuilt is not None and rebuilt.version == aggregate.version


POOL = [uuid5(UUID(int=2), str(n)) for n in range(4)]
steps = st.lists(
    st.tuples(
        st.sampled_from(["credit", "reverse"]),
        st.sampled_from(POOL),
        st.sampled_from(["major_core", "公共基础", "bogus"]),
        st.integers(-100, 7000).map(lambda n: Decimal(n) / 100),
    ),
    max_size=20,
)


@settings(max_examples=50, deadline=None)
@given(steps)
def test_learner_account_is_rebuilt_from_its_events(
    script: list[tuple[str, UUID, str, Decimal]],
) -> None:
    account = make_account()
    for action, achievement_id, category, amount in script:
        try:
            if action == "credit":
                account.credit(achievement_id, category, amount)
            else:
                account.reverse(achievement_id, "error", "replay test")
        except CreditLedgerError:
            pass
    balances = account.balances()
    rebuilt = replay(account)
    assert rebuilt == account
    assert isinstance(rebuilt, type(account))
    assert rebuilt.balances() == balances
