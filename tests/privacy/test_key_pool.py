"""The pool of data keys (issue 17, second half): keys are reserved in batches, each given to
one learner by the event that names it, never to two (not even by two processes at once, nor
after a crash); a sealed value opens only for its account and field."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from creditledger import CreditBank, PersonalData
from creditledger.crypto.keys import SigningKey
from creditledger.domain import learner_account_id
from creditledger.errors import PersonalDataErasedError, UnusableLedgerError
from creditledger.services.core import ledger_of
from creditledger.store.personal import PersonalDataKeys
from tests.privacy.canary import live_key_ids
from tests.services.bank.fixtures import KEK, World, make_world

WORKERS, EACH, POOL = 2, 12, 5
ERASE = {"reason": "consent withdrawn", "legal_basis": "PIPL Art. 47"}


def _keys(bank: CreditBank) -> PersonalDataKeys:
    keys = ledger_of(bank).personal
    assert keys is not None
    return keys


def _sealed(bank: CreditBank, learner: str) -> str:
    (value,) = ledger_of(bank).sealed_values_of(learner_account_id(learner).hex)
    return value


def _person(learner: str) -> PersonalData:
    return PersonalData(name=f"学员{learner}", id_document_number=f"DOC-{learner}")


def test_a_sealed_value_opens_only_for_its_own_account_and_field(tmp_path: Path) -> None:
    world = make_world(tmp_path / "bind.ledger")
    try:
        keys = _keys(world.bank)
        s1, s2 = learner_account_id("S1").hex, learner_account_id("S2").hex
        value = _sealed(world.bank, "S1")
        assert keys.unseal(s1, "personal_data", value) is not None
        for account, field in ((s2, "personal_data"), (s1, "contact")):  # copied elsewhere
            with pytest.raises(UnusableLedgerError, match="does not open"):
                keys.unseal(account, field, value)
        s2_key = _sealed(world.bank, "S2").split(":")[2]
        renamed = value.replace(value.split(":")[2], s2_key)  # S1's data, naming S2's key
        with pytest.raises(UnusableLedgerError, match="does not open"):
            keys.unseal(s1, "personal_data", renamed)
        # a value that did not open names no key for the account it was tried on
        own = keys.data_key(s2)
        keys.forget(s2)
        with pytest.raises(UnusableLedgerError, match="does not open"):
            keys.unseal(s2, "personal_data", value)
        assert keys.data_key(s2) == own
    finally:
        world.bank.close()


def test_no_code_can_look_like_sealed_data_so_erasure_reads_only_personal_fields(
        tmp_path: Path) -> None:
    """A learner id shaped like a sealed value naming another learner's key must never make
    that learner's erasure destroy the other's key: such ids are refused, and erasure reads key
    ids from the fields typed to hold personal data only."""
    from creditledger.errors import ValidationError

    world = make_world(tmp_path / "mark.ledger")
    try:
        victim_key = _sealed(world.bank, "S1").split(":")[2]
        with pytest.raises(ValidationError, match="must not start with 'sealed:'"):
            world.bank.open_account(learner_id=f"sealed:v2:{victim_key}:x",
                                    learner_type="student", programme_code="530302",
                                    personal_data=_person("X"), signer=world.gzcc)
        account = learner_account_id("S2").hex
        ledger = ledger_of(world.bank)
        assert ledger.sealed_values_of(account) == [_sealed(world.bank, "S2")]
        world.bank.erase_personal_data("S2", signer=world.gzcc, **ERASE)
        assert world.bank.personal_data("S1").name  # the other learner's data still opens
    finally:
        world.bank.close()


def test_keys_are_reserved_in_batches_and_the_unused_released_on_close(tmp_path: Path) -> None:
    world = make_world(tmp_path / "pool.ledger")
    world.bank.close()
    path = tmp_path / "pool.ledger"
    assert len(live_key_ids(path)) == 3  # S1, S2, M1: the pool's other keys released
    with CreditBank.open(path, kek=KEK) as bank:
        keys = _keys(bank)
        assert keys.reserved == []  # nothing is made before it is needed
        for n in range(keys.pool_size + 1):
            bank.open_account(learner_id=f"B{n}", learner_type="society_member",
                              personal_data=_person(f"B{n}"), signer=world.gzcc)
        assert len(live_key_ids(path)) == 3 + 2 * keys.pool_size  # two batches, no more
        assert len(keys.reserved) == keys.pool_size - 1
        keys.reserve(keys.pool_size + 10)  # a cohort ahead: what is missing, in one batch
        assert len(keys.reserved) == keys.pool_size + 10
    assert len(live_key_ids(path)) == 3 + keys.pool_size + 1  # only keys some event names


def _open_accounts(target: str, pem: bytes, worker: int, go: Any, done: Any) -> None:
    """A writer process: open EACH accounts from a small pool (so that both processes reserve
    batches again and again, interleaved); the last worker then dies without closing."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = SigningKey(load_pem_private_key(pem, password=b"pw"))  # type: ignore[arg-type]
    bank = CreditBank.open(target, kek=KEK)
    _keys(bank).pool_size = POOL
    go.wait(30)
    try:
        for n in range(EACH):
            learner = f"W{worker}-{n:02d}"
            bank.open_account(learner_id=learner, learner_type="society_member",
                              personal_data=_person(learner), signer=key)
        done.put((worker, _keys(bank).reserved))
    except Exception as e:  # reported, so that the test shows it
        done.put((worker, f"{type(e).__name__}: {e}"))
    if worker == WORKERS - 1:
        done.close()
        done.join_thread()  # what was put is sent before the process dies
        os._exit(0)  # a crash: the pool's unassigned keys stay in the store, wasted
    bank.close()


def _run_workers(world: World, target: str) -> dict[int, list[str]]:
    ctx = multiprocessing.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    pem = world.gzcc.to_pem(b"pw")
    workers = [ctx.Process(target=_open_accounts, args=(target, pem, w, go, done))
               for w in range(WORKERS)]
    for w in workers:
        w.start()
    go.set()
    left = dict(done.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    assert all(isinstance(v, list) for v in left.values()), left
    return left


def test_two_processes_opening_accounts_at_once_never_give_one_key_to_two_learners(
    ledger_target: str | Path,
) -> None:
    world = make_world(ledger_target)
    world.bank.close()
    target = str(ledger_target)
    left = _run_workers(world, target)
    learners = [f"W{w}-{n:02d}" for w in range(WORKERS) for n in range(EACH)]
    with CreditBank.open(ledger_target, kek=KEK) as bank:
        keys = _keys(bank)
        named = {learner: keys.key_ids(learner_account_id(learner).hex) for learner in learners}
        assert all(len(ids) == 1 for ids in named.values()), named
        given = [ids[0] for ids in named.values()]
        assert len(set(given)) == len(learners)  # one key, one learner
        crashed = set(left[WORKERS - 1])
        assert crashed and not crashed & set(given)  # wasted, given to no one
        live = set(live_key_ids(ledger_target))
        assert set(given) | crashed <= live and not set(left[0]) & live  # released on close
        for learner in learners:
            assert bank.personal_data(learner) == _person(learner)
        bank.erase_personal_data(learners[0], **ERASE, signer=world.gzcc)
        with pytest.raises(PersonalDataErasedError):
            bank.personal_data(learners[0])
        assert set(live_key_ids(ledger_target)) == live - {given[0]}
        for learner in learners[1:]:
            assert bank.personal_data(learner) == _person(learner)
