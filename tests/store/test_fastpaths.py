"""The store's and the verifier's fast paths give exactly what the plain paths give.

* ``link_hash`` (hash a link tuple) is ``EventLink(...).hash()``;
* the recorder's remembered aggregate tips never link a commit to a stale predecessor, whoever
  else wrote in between and whatever failed;
* signatures checked on worker processes give the same report as on threads;
* the verifier's pass-1 aggregate check gives the same report as the pass-2 walk.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from creditledger.audit import walker as verify_module
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.errors import TamperedLedgerError
from creditledger.store.format import EventLink, link_hash
from creditledger.store.ledger import Ledger

from .ledgers import Account, Tamper, build_ledger, checkpoint

ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)


@given(ints, ints, st.text(), ints, st.text(), st.binary(), st.binary(), st.binary())
def test_link_hash_is_the_event_link_hash(
    position: int, seq: int, oid: str, version: int, topic: str, state: bytes, prev: bytes,
    prev_agg: bytes,
) -> None:
    link = (position, seq, oid, version, topic, state, prev, prev_agg)
    assert link_hash(link) == EventLink(*link).hash()


def _verified(path: Path) -> dict[str, Any]:
    return verify_ledger(path).to_dict()


def test_a_stale_save_fails_and_the_next_save_still_links(tmp_path: Path) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "stale.ledger"
    ledger = Ledger.create(path, root)
    ledger.register_key("school", school.public_key, root_key=root)
    account = Account("learner")
    ledger.save(account, signer=school)
    stale = ledger.repository.get(account.id)
    account.credit(Decimal("1.5"))
    ledger.save(account, signer=school)
    stale.credit(Decimal("9"))
    with pytest.raises(IntegrityError):
        ledger.save(stale, signer=school)  # version 2 again: refused, nothing written
    account.credit(Decimal("2.5"))
    ledger.save(account, signer=school)
    ledger.close()
    assert _verified(path)["events"] == 5


def test_two_writers_on_one_file_never_link_to_a_stale_tip(tmp_path: Path) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "two.ledger"
    first = Ledger.create(path, root)
    first.register_key("school", school.public_key, root_key=root)
    second = Ledger.open(path)
    accounts = [Account(f"learner-{i}") for i in range(3)]
    first.save(*accounts, signer=school)
    for round_ in range(6):
        writer = first if round_ % 2 else second
        for account in accounts:
            fresh = writer.repository.get(account.id)
            fresh.credit(Decimal(round_))
            writer.save(fresh, signer=school)
        both = [writer.repository.get(a.id) for a in accounts]
        for account in both:
            account.credit(Decimal("0.5"))
        writer.save(*both, signer=school)
    first.close()
    second.close()
    report = _verified(path)
    assert report["aggregates"] == 4
    assert report["events"] == 2 + 3 + 6 * 6


class _SpyProcessPool(concurrent.futures.ProcessPoolExecutor):
    used = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _SpyProcessPool.used += 1
        super().__init__(*args, **kwargs)


def _report(path: Path, *, processes: bool) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(verify_module, "PROCESS_MIN_COMMITS", 1 if processes else 10**9)
        mp.setattr(verify_module, "ProcessPoolExecutor", _SpyProcessPool)
        before = _SpyProcessPool.used
        try:
            report = verify_ledger(path, workers=2).to_dict()
        except TamperedLedgerError as e:
            report = e.report.to_dict()
        if processes and threading.active_count() == 1:
            assert _SpyProcessPool.used == before + 1
        return report


def _tamper_signature(t: Tamper) -> None:
    commit = t.commit(9)
    signature = bytearray(commit["signature"])
    signature[0] ^= 1
    t.set("ledger_commits", "seq", 9, "signature", bytes(signature))


def _tamper_aggregate_link(t: Tamper) -> None:
    t.set("stored_events", "position", 12, "prev_aggregate_hash", bytes(32))


@pytest.mark.parametrize("tamper", [None, _tamper_signature, _tamper_aggregate_link])
def test_processes_threads_and_both_aggregate_checks_agree(tmp_path: Path, tamper: Any) -> None:
    built = build_ledger(tmp_path / "school.ledger", credits_each=4)
    if tamper is not None:
        with Tamper(built.path) as t:
            tamper(t)
        checkpoint(built.path)
    reports = [_report(built.path, processes=p) for p in (False, True)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(verify_module, "AGGREGATE_TIPS_MAX", 0)  # always walk pass 2
        reports += [_report(built.path, processes=p) for p in (False, True)]
    assert all(r == reports[0] for r in reports), reports
    assert reports[0]["intact"] is (tamper is None)


def test_reading_predecessors_uses_the_index_not_a_table_scan(tmp_path: Path) -> None:
    from creditledger.store.chain import SELECT_HASHES_CHUNK, _select_hashes_statement

    built = build_ledger(tmp_path / "plan.ledger")
    conn = sqlite3.connect(built.path)
    try:
        for n in (1, 2, SELECT_HASHES_CHUNK):
            plan = conn.execute(
                "EXPLAIN QUERY PLAN " + _select_hashes_statement(n), ["x", 1] * n
            ).fetchall()
            assert not any("SCAN" in str(step[-1]) for step in plan), plan
    finally:
        conn.close()
