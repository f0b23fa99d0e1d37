"""Capacity (人数限额) under concurrent writers: real OS processes, each with its own connection
to the ledger file, admit learners into one course; the seats live in one aggregate, so a
writer working from a stale copy conflicts, reloads, and checks the capacity again."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from creditledger import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.errors import CapacityError
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK

from .world import TERM_DAY, World, course_info, make_world

WORKERS, EACH, CAPACITY = 4, 4, 5


def _admit(path: str, pem: bytes, offering: str, learners: list[str], go: Any,
           results: Any) -> None:
    from uuid import UUID

    key = _key(pem)
    bank = CreditBank.open(path, kek=KEK)
    go.wait(30)
    for learner in learners:
        try:
            bank.admit_learner(UUID(offering), learner_id=learner, signer=key, today=TERM_DAY)
            results.put((learner, "admitted"))
        except CapacityError as e:
            results.put((learner, f"full: {e}"))
        except Exception as e:  # reported, so the test shows it
            results.put((learner, f"error: {type(e).__name__}: {e}"))
    bank.close()


def _key(pem: bytes) -> SigningKey:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return SigningKey(load_pem_private_key(pem, password=b"pw"))  # type: ignore[arg-type]


def test_many_processes_never_exceed_the_capacity(tmp_path: Path) -> None:
    world = make_world(tmp_path / "busy.ledger")
    offering = world.offer(course=course_info(capacity=CAPACITY))
    learners = world.approved_learners(offering.id, WORKERS * EACH)
    world.bank.close()
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    pem = world.key("CQAT").to_pem(b"pw")
    workers = [ctx.Process(target=_admit, args=(str(world.path), pem, str(offering.id),
                                                learners[w::WORKERS], go, results))
               for w in range(WORKERS)]
    for w in workers:
        w.start()
    go.set()
    outcomes = dict(results.get(timeout=60) for _ in learners)
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    admitted = [k for k, v in outcomes.items() if v == "admitted"]
    refused = [v for v in outcomes.values() if v != "admitted"]
    assert len(admitted) == CAPACITY, outcomes
    assert len(refused) == len(learners) - CAPACITY
    assert all(v.startswith("full:") and "all 5 seats" in v for v in refused), refused
    bank = CreditBank.open(world.path, kek=KEK)
    try:
        assert sorted(bank.course_offering(offering.id).seats) == sorted(admitted)
    finally:
        bank.close()
    assert verify_ledger(world.path).fault is None


def test_a_stale_seat_count_conflicts_and_the_retry_sees_the_course_full(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    offering = world.offer(course=course_info(capacity=1))
    for learner in ("HNAT-1", "HNAT-2"):
        world.approved(offering.id, world.learner(learner, "HNAT"), "HNAT")
    stale = world.bank._course_offering(offering.id)          # read before the seat is taken
    world.bank.admit_learner(offering.id, learner_id="HNAT-1", signer=world.key("CQAT"),
                             today=TERM_DAY)
    loads, real = [stale], CreditBank._course_offering
    monkeypatch.setattr(CreditBank, "_course_offering",
                        lambda bank, oid: loads.pop() if loads else real(bank, oid))
    size = world.size()
    with pytest.raises(CapacityError):                        # the retry saw the full course
        world.bank.admit_learner(offering.id, learner_id="HNAT-2", signer=world.key("CQAT"),
                                 today=TERM_DAY)
    assert not loads and world.size() == size
