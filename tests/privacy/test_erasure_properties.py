"""Hypothesis (issue 17): in any interleaving of opening accounts, correcting personal data,
erasing it, recording achievements and reopening the ledger, an erased learner's personal data
is never readable again, and everyone else's always reads as last written.

On SQLite each example runs on a fresh copy of a ledger file; on PostgreSQL (when
``CREDITLEDGER_TEST_POSTGRES`` is set) all examples share one schema, each with learners of its
own (their ids prefixed), beside those of the examples before it."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditledger import CreditBank, PersonalData, SigningKey
from creditledger.audit.verify import verify_ledger
from creditledger.domain import learner_account_id
from creditledger.errors import AlreadyExistsError, PersonalDataErasedError
from creditledger.services.core import ledger_of
from creditledger.store.personal import PersonalDataKeys
from tests.conftest import drop_schema, postgres_base_url
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, copy_ledger, make_world

LEARNERS = ("P0", "P1", "P2")
COURSES = ("GG1001", "KJ1101", "KJ2103")
ERASED = "erased"

Step = tuple[str, str, int]
steps = st.lists(st.tuples(st.sampled_from(["open", "correct", "erase", "achieve", "reopen"]),
                           st.sampled_from(LEARNERS), st.integers(0, 5)), max_size=10)


@dataclass
class Base:
    """A ledger with the schools and catalog (built once), GZCC's key, and whether the
    examples share it (PostgreSQL) or each run on a copy (SQLite)."""

    target: Path | str
    school: SigningKey
    shared: bool
    runs: Iterator[int] = field(default_factory=itertools.count)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def base(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Base]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("base") / "base.ledger"
        world = make_world(path)
        world.bank.close()
        yield Base(path, world.gzcc, shared=False)
        return
    server, schema = postgres_base_url(), f"t_{uuid.uuid4().hex[:16]}"
    world = make_world(f"{server}?schema={schema}")
    world.bank.close()
    try:
        yield Base(f"{server}?schema={schema}", world.gzcc, shared=True)
    finally:
        drop_schema(server, schema)


@contextmanager
def _ledger(base: Base) -> Iterator[tuple[Path | str, str]]:
    """Where one example runs, and the prefix of its learners' ids."""
    if base.shared:
        yield base.target, f"H{next(base.runs)}-"
        return
    with TemporaryDirectory() as tmp:
        assert isinstance(base.target, Path)
        yield copy_ledger(base.target, Path(tmp) / "run.ledger"), ""


def _person(learner: str, n: int) -> PersonalData:
    return PersonalData(name=f"学习者{learner}第{n}版", id_document_number=f"DOC{learner}N{n}",
                        contact=f"{learner.lower()}-{n}@example.invalid")


@given(script=steps)
def test_erased_personal_data_is_never_read_again_and_the_rest_always_is(
    base: Base, script: list[Step]
) -> None:
    with _ledger(base) as (target, prefix):
        model: dict[str, PersonalData | str] = {}
        bank = CreditBank.open(target, kek=KEK)
        try:
            for action, learner, n in script:
                bank = _apply(bank, target, model, (action, prefix + learner, n), base.school)
                _check(bank, model)
        finally:
            bank.close()
        with CreditBank.open(target, kek=KEK, read_only=True) as reader:
            _check(reader, model)
        assert verify_ledger(target).fault is None


def _apply(bank: CreditBank, path: Path | str, model: dict[str, PersonalData | str],
           step: Step, school: SigningKey) -> CreditBank:
    action, learner, n = step
    if action == "reopen":
        bank.close()
        return CreditBank.open(path, kek=KEK)
    if action == "open":
        if learner in model:
            with pytest.raises(AlreadyExistsError, match="already recorded"):
                bank.open_account(learner_id=learner, learner_type="student",
                                  personal_data=_person(learner, n), programme_code="530302",
                                  signer=school)
        else:
            bank.open_account(learner_id=learner, learner_type="student",
                              personal_data=_person(learner, n), programme_code="530302",
                              signer=school)
            model[learner] = _person(learner, n)
    elif learner not in model:
        return bank
    elif action == "correct":
        if model[learner] == ERASED:
            with pytest.raises(PersonalDataErasedError):
                bank.correct_personal_data(learner_id=learner,
                                           personal_data=_person(learner, n), signer=school)
        else:
            bank.correct_personal_data(learner_id=learner, personal_data=_person(learner, n),
                                       signer=school)
            model[learner] = _person(learner, n)
    elif action == "erase":
        bank.erase_personal_data(learner, reason="consent withdrawn", legal_basis="PIPL Art. 47",
                                 signer=school)
        model[learner] = ERASED
    else:
        _achieve(bank, learner, n, school)
    return bank


def _achieve(bank: CreditBank, learner: str, n: int, school: SigningKey) -> None:
    course, term = COURSES[n % 3], f"2021-2022-{1 + n // 3}"
    if any(a.course_code == course and a.term == term for a in _courses(bank, learner)):
        return
    bank.recognise_course_result(learner_id=learner, course_code=course, term=term,
                                 score=Decimal(75), evidence=EVIDENCE, signer=school,
                                 today=TODAY)


def _courses(bank: CreditBank, learner: str) -> list[Any]:
    account = bank.account(learner)
    return [bank.achievement(a).record.course for a in account.entries]


def _check(bank: CreditBank, model: dict[str, PersonalData | str]) -> None:
    for learner, expected in model.items():
        if expected == ERASED:
            assert bank.account(learner).personal_data is None
            with pytest.raises(PersonalDataErasedError):
                bank.personal_data(learner)
            assert keys_of(bank).data_key(learner_account_id(learner).hex) is None  # shredded
        else:
            assert bank.personal_data(learner) == expected



def keys_of(bank: CreditBank) -> PersonalDataKeys:
    keys = ledger_of(bank).personal
    assert keys is not None
    return keys
