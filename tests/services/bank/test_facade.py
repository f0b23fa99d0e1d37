"""``CreditBank`` is the one door: commands and queries of the credit bank, nothing of the event
store; what a query returns is a read-only snapshot, detached from the ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.application import Application

import creditledger
from creditledger import CreditBank, PersonalData, ReadOnlySnapshotError
from tests.services.bank.fixtures import KEK

from .fixtures import EVIDENCE, TODAY, make_world


def test_the_bank_exposes_no_event_store_attribute() -> None:
    public = {name for name in dir(CreditBank) if not name.startswith("_")}
    store = {name for name in dir(Application) if not name.startswith("_")}
    assert not public & (store - {"close"}), sorted(public & store)
    for name in ("save", "load", "repository", "take_snapshot", "recorder", "unit_of_work"):
        assert not hasattr(CreditBank, name)


def test_one_import_gives_an_embedding_school_the_public_surface() -> None:
    for name in creditledger.__all__:
        assert getattr(creditledger, name) is not None
    assert issubclass(creditledger.ReadOnlySnapshotError, creditledger.CreditLedgerError)
    assert creditledger.LedgerBusyError.__module__ == "creditledger.errors"


def test_create_and_open_work_as_context_managers_and_close_the_ledger(tmp_path: Path) -> None:
    world = make_world(tmp_path / "bank.ledger")
    world.bank.close()
    with CreditBank.open(world.path, kek=KEK) as bank:
        assert isinstance(bank, CreditBank)
        assert bank.account("S1").learner_id == "S1"
    assert not Path(f"{world.path}-wal").exists()  # closed: the file is whole again


def test_a_queried_account_is_a_read_only_snapshot(tmp_path: Path) -> None:
    world = make_world(tmp_path / "bank.ledger")
    try:
        account = world.bank.account("S1")
        with pytest.raises(ReadOnlySnapshotError, match="read-only snapshot"):
            account.correct_personal_data(PersonalData(name="冒名顶替"))
        with pytest.raises(TypeError):  # its containers are read-only too
            account.entries[account.id] = None  # type: ignore[index]
        assert world.bank.account("S1").personal_data.name == "陈晓敏"
    finally:
        world.bank.close()


def test_a_command_returns_a_snapshot_that_later_commands_do_not_change(tmp_path: Path) -> None:
    world = make_world(tmp_path / "bank.ledger")
    try:
        result = world.bank.recognise_course_result(
            learner_id="S1", course_code="KJ1101", term="2021-2022-1", score=Decimal(80),
            evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
        world.bank.revoke(result.id, reason="error", note="wrong sheet", signer=world.gzcc,
                          today=TODAY)
        assert not result.is_revoked  # the snapshot is of the moment it was taken
        assert world.bank.achievement(result.id).is_revoked
        with pytest.raises(ReadOnlySnapshotError):
            result.revoke(reason="error", note="again", today=TODAY)
    finally:
        world.bank.close()


def test_a_bank_closed_after_a_change_of_directory_creates_no_stray_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    bank = make_world(Path("bank.ledger")).bank  # a relative path, as a script would give
    monkeypatch.chdir(tmp_path / "b")
    bank.close()  # what the garbage collector does, later, wherever the program is then
    assert list((tmp_path / "b").iterdir()) == []
    assert (tmp_path / "a" / "bank.ledger").stat().st_size > 0
