"""A PostgreSQL writer goes on from the commits other writers made since its own last one.

The recorder reads, in the lock's round trip, the events written after its own last commit and
the Merkle nodes they completed, and moves its chain tips and its in-memory tree over them
instead of reading predecessors and reopening the tree (several round trips under the lock).
These tests hold that the ledger comes out the same: every link, signature and stored node
checks, whether the catch-up applies, is too long, or finds nodes another writer left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

import creditledger.store.chain
import creditledger.store.postgres
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.merkle_tree import LevelNodeStore, MerkleTree
from creditledger.store.ledger import Ledger
from creditledger.store.postgres import ChainedPostgresApplicationRecorder
from tests.store.ledgers import Account
from tests.store.pg_ledgers import connect


@pytest.fixture()
def two_writers(pg_url: str) -> Iterator[tuple[Any, Any, SigningKey, SigningKey]]:
    """Two ledger objects (two recorders, two connection pools) on one PostgreSQL ledger."""
    root, a, b = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    first = Ledger.create(pg_url, root)
    first.register_key("school-a", a.public_key, root_key=root)
    first.register_key("school-b", b.public_key, root_key=root)
    first.close()
    one, two = Ledger.open(pg_url), Ledger.open(pg_url)
    try:
        yield one, two, a, b
    finally:
        one.close()
        two.close()


def assert_stored_tree_is_the_events_tree(url: str) -> None:
    """Every stored Merkle node is the node the events' hashes give, and none is missing."""
    with connect(url) as conn:
        leaves = [bytes(h) for (h,) in conn.execute(
            "SELECT hash FROM stored_events ORDER BY position")]
        stored = {(level, idx): bytes(h) for level, idx, h in conn.execute(
            "SELECT level, idx, hash FROM merkle_nodes")}
    store = LevelNodeStore()
    MerkleTree(store).extend_hashes(leaves)
    expected = {(level, idx): node for level, nodes in enumerate(store.levels)
                for idx, node in enumerate(nodes) if level >= 4}
    assert stored == expected


def count_predecessor_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    original = creditledger.store.chain._select_hashes_statement

    def counted(n: int) -> str:
        reads.append(n)
        return original(n)

    monkeypatch.setattr(creditledger.store.chain, "_select_hashes_statement", counted)
    return reads


def test_interleaved_writers_go_on_without_rereading_and_the_ledger_verifies(
    pg_url: str, two_writers: tuple[Any, Any, SigningKey, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one, two, a, b = two_writers
    shared = Account("shared learner")
    one.save(shared, signer=a)
    own = {id(one): Account("learner one"), id(two): Account("learner two")}
    two.save(own[id(two)], signer=b)
    one.save(own[id(one)], signer=a)
    tree = one.recorder._tree
    reads = count_predecessor_reads(monkeypatch)
    for n in range(24):  # crosses Merkle blocks of 16 written by either writer
        for ledger, key in ((one, a), (two, b)):
            account = own[id(ledger)]
            account.credit(Decimal(n) + Decimal("0.5"), note=f"round {n}")
            if n % 3 == 0:  # a commit of several events
                account.credit(Decimal(1), note="extra")
            ledger.save(account, signer=key)
            if n % 4 == 0:  # the same aggregate, by both writers in turn
                copy = ledger.repository.get(shared.id)
                copy.credit(Decimal(n), note="shared")
                ledger.save(copy, signer=key)
    assert reads == [], "a writer read predecessors it had caught up with"
    assert one.recorder._tree is tree, "the writer reopened its Merkle tree"
    report = verify_ledger(pg_url)
    assert report.events == 3 + 3 + 2 * 24 + 2 * 8 + 2 * 6
    assert_stored_tree_is_the_events_tree(pg_url)


def test_a_writer_far_behind_reads_afresh_and_the_ledger_verifies(
    pg_url: str, two_writers: tuple[Any, Any, SigningKey, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(creditledger.store.postgres, "CATCH_UP_LIMIT", 3)
    one, two, a, b = two_writers
    mine, theirs = Account("mine"), Account("theirs")
    one.save(mine, signer=a)
    tree = one.recorder._tree
    for n in range(20):
        theirs.credit(Decimal(n))
        two.save(theirs, signer=b)
    mine.credit(Decimal(1))
    one.save(mine, signer=a)
    assert one.recorder._tree is not tree  # 21 events behind, more than 3: reopened
    assert verify_ledger(pg_url).events == 3 + 1 + 21 + 1
    assert_stored_tree_is_the_events_tree(pg_url)


def test_nodes_a_writer_without_the_tree_left_out_are_written_by_the_next_merkle_writer(
    pg_url: str, two_writers: tuple[Any, Any, SigningKey, SigningKey],
) -> None:
    one, _, a, b = two_writers
    chained_only = Ledger.open(pg_url, env={
        "APPLICATION_RECORDER_TOPIC": get_topic(ChainedPostgresApplicationRecorder)})
    try:
        mine, theirs = Account("mine"), Account("theirs")
        one.save(mine, signer=a)
        chained_only.save(theirs, signer=b)
        for n in range(20):  # completes a block of 16 leaves without storing its node
            theirs.credit(Decimal(n))
            chained_only.save(theirs, signer=b)
        with connect(pg_url) as conn:
            assert conn.execute("SELECT count(*) FROM merkle_nodes").fetchone() == (0,)
        mine.credit(Decimal(1))
        one.save(mine, signer=a)
    finally:
        chained_only.close()
    assert verify_ledger(pg_url).events == 3 + 1 + 21 + 1
    assert_stored_tree_is_the_events_tree(pg_url)


def test_a_failed_commit_leaves_nothing_and_the_next_one_links_to_the_real_head(
    pg_url: str, two_writers: tuple[Any, Any, SigningKey, SigningKey],
) -> None:
    one, two, a, b = two_writers
    account = Account("contested")
    one.save(account, signer=a)
    stale = two.repository.get(account.id)
    account.credit(Decimal(1))
    one.save(account, signer=a)  # version 2
    stale.credit(Decimal(2))
    with pytest.raises(IntegrityError):  # eventsourcing's concurrency error, not psycopg's
        two.save(stale, signer=b)  # version 2 again: refused by the database at COMMIT
    for n in range(3):
        fresh = two.repository.get(account.id)
        fresh.credit(Decimal(n))
        two.save(fresh, signer=b)
        other = Account(f"other {n}")
        one.save(other, signer=a)
    assert verify_ledger(pg_url).events == 3 + 2 + 3 * 2
    assert_stored_tree_is_the_events_tree(pg_url)
