"""Code may move; a ledger already written may not break.

``tests/data/ledger-0.1`` holds a ledger written by the code before the packages were split into
floors, and the topics (stored names) of every event class of that code. The layout of the code
is not part of the ledger format: every event keeps the topic it was stored under.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

import creditledger
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import PublicKey
from creditledger.projections import queries
from creditledger.services import CreditBank
from creditledger.services.core import ledger_of
from creditledger.store.readers import open_reader
from tests.services.bank.fixtures import KEK

OLD = Path(__file__).resolve().parents[1] / "data" / "ledger-0.1"


def _event_classes() -> set[type]:
    seen: set[type] = set()
    todo: list[type] = [Aggregate, CanMutateAggregate]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return {c for c in seen if c.__module__.startswith(creditledger.__name__)}


def test_every_event_class_keeps_the_topic_it_was_stored_under() -> None:
    stored = set((OLD / "topics.txt").read_text().split())
    topics = {get_topic(c) for c in _event_classes()}
    assert stored <= topics, f"topics no longer written: {sorted(stored - topics)}"


def test_every_stored_topic_resolves_to_the_class_that_writes_it() -> None:
    for topic in (OLD / "topics.txt").read_text().split():
        assert get_topic(resolve_topic(topic)) == topic


def test_a_ledger_written_before_the_move_still_verifies_loads_and_projects(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.ledger"
    shutil.copy(OLD / "demo.ledger", path)
    root = PublicKey.from_file(OLD / "root.pub.pem")
    report = verify_ledger(path, root_key=root)
    assert (report.events, report.commits) == (155, 98)
    with open_reader(path) as reader:
        ids = [r[0] for r in reader.execute("SELECT DISTINCT originator_id FROM stored_events")]
    with CreditBank.open(path, kek=KEK) as bank:
        ledger = ledger_of(bank)
        for oid in ids:  # every aggregate of the old ledger rebuilds from its events
            ledger.repository.get(UUID(oid))
        assert bank.balances("GZCC-2021-0001")[creditledger.Category.MAJOR_CORE] == 9
        views = bank.read_models(tmp_path / "views.db")
        assert views.catch_up() == 155
        lines = queries.transcript(views.db, "GZCC-2021-0002")  # one result revoked on appeal
        assert any(line.entry == "revoked" for line in lines)
    assert verify_ledger(path, root_key=root).last_hash == report.last_hash
