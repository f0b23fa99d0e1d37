"""The one place every command of the bank is run again on a lost race (``BankCore``).

A command that lost the race for one of its records (eventsourcing's ``RecordConflictError``)
is run again, whole, on fresh state; after :data:`~creditledger.services.core.COMMAND_ATTEMPTS`
it raises :class:`ConcurrentWriteError`, a ``ConflictError``. Only the outermost call is run
again: not a command another command calls, nor one inside a unit of work (whose one commit
is where a conflict comes, and whose caller runs the whole unit again).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, RecordConflictError

from creditledger.domain import PersonalData
from creditledger.errors import ConcurrentWriteError, ConflictError
from creditledger.services import core
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import World, make_world


class RacingBank(CreditBank):
    """A bank with two commands of a test's own: one calls another."""

    calls: list[tuple[int, ...]]

    def take(self, numbers: Iterable[int], *, conflicts: int) -> tuple[int, ...]:
        """Record what it was given; lose the race ``conflicts`` times first."""
        seen = tuple(numbers)
        self.calls.append(seen)
        if len(self.calls) <= conflicts:
            raise IntegrityError("another writer changed the same record first")
        return seen

    def outer(self, *, conflicts: int) -> tuple[int, ...]:
        return self.take([1, 2], conflicts=conflicts)


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(core, "RETRY_PAUSE", 0.0)
    world = make_world(tmp_path / "bank.ledger")
    yield world
    world.bank.close()


@pytest.fixture()
def racing(world: World) -> Iterator[RacingBank]:
    world.bank.close()
    bank = RacingBank.open(world.path)
    bank.calls = []
    yield bank
    bank.close()


def losing_every_time(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every load of a learner's account lose the race; return the loads made."""
    loads: list[str] = []

    def account(learner_id: str) -> Any:
        loads.append(learner_id)
        raise IntegrityError("another writer changed the same record first")

    monkeypatch.setattr(world.bank, "_account", account)
    return loads


def test_a_command_that_keeps_losing_the_race_raises_concurrent_write_error_and_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = losing_every_time(world, monkeypatch)
    before = world.bank.last_position()
    with pytest.raises(ConcurrentWriteError, match="nothing was written") as e:
        world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
    assert isinstance(e.value, ConflictError)
    assert not isinstance(e.value, RecordConflictError)
    assert loads == ["M1"] * core.COMMAND_ATTEMPTS
    assert world.bank.last_position() == before


def test_a_command_that_lost_the_race_once_runs_again_on_fresh_state(
    racing: RacingBank
) -> None:
    assert racing.take(iter([3, 4]), conflicts=2) == (3, 4)
    assert racing.calls == [(3, 4)] * 3  # a one-shot iterator is read once, for every run


def test_a_command_called_by_another_is_run_again_only_as_part_of_the_outer_one(
    racing: RacingBank
) -> None:
    with pytest.raises(ConcurrentWriteError):
        racing.outer(conflicts=100)
    assert len(racing.calls) == core.COMMAND_ATTEMPTS  # not COMMAND_ATTEMPTS squared


def test_commands_inside_a_unit_of_work_are_not_run_again_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = losing_every_time(world, monkeypatch)
    with pytest.raises(RecordConflictError), world.bank._unit_of_work(world.gzcc):
        world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
    assert loads == ["M1"]  # the unit's owner decides whether to run the unit again


def test_a_real_command_that_lost_the_race_is_recorded_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = world.bank._save
    lost: list[int] = []

    def save(*aggregates: Any, signer: Any) -> Any:
        if not lost:  # another writer got there first, the first time only
            lost.append(1)
            raise IntegrityError("UNIQUE constraint failed")
        return real_save(*aggregates, signer=signer)

    monkeypatch.setattr(world.bank, "_save", save)
    account = world.bank.open_account(learner_id="S9", learner_type="student",
                                      personal_data=PersonalData(name="新生"),
                                      programme_code="530302", signer=world.gzcc)
    assert account.learner_id == "S9" and lost == [1]
    assert world.bank.account("S9").learner_id == "S9"


def test_every_public_method_of_the_bank_runs_as_a_command() -> None:
    methods = {name: value for name, value in inspect.getmembers(CreditBank)
               if not name.startswith("_") and inspect.isfunction(value)}
    assert len(methods) > 50
    assert [name for name, value in methods.items()
            if not getattr(value, "__bank_command__", False)] == []
    assert CreditBank.recognise_course_result.__doc__  # wrapped, documentation kept
