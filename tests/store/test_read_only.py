"""A ledger opened read-only answers every query and writes nothing, to the ledger or beside
it; every write raises :class:`ReadOnlyLedgerError` naming the ledger and why.

Read-only is asked for (``read_only=True``: an auditor's copy) or follows from a file or folder
that is not writable (opened read-only by itself: no traceback from switching to WAL). Tests
run as root are not stopped by ``chmod``: there, the real-permission tests are skipped and the
same rule is checked by denying the write access the library asks the system about (run them
as root without ``CAP_DAC_OVERRIDE``, e.g. under ``setpriv``, to check real modes).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.errors import ReadOnlyLedgerError, UnusableLedgerError
from creditledger.services.bank import CreditBank
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import EVIDENCE, TODAY, World, make_world

from .contract import Target, is_postgres, ledger_rows


def chmod_stops_writes() -> bool:
    """Whether this process is refused writing to a file whose mode says read-only (root is
    not, unless it runs without its capability to override file modes)."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_bytes(b"")
        probe.chmod(stat.S_IRUSR)
        try:
            with open(probe, "ab"):
                return False
        except PermissionError:
            return True
        finally:
            probe.chmod(stat.S_IRUSR | stat.S_IWUSR)


ROOT_IGNORES_CHMOD = pytest.mark.skipif(
    not chmod_stops_writes(),
    reason="run as root, which writes whatever a file's or folder's mode says (the tests "
           "below check the same rule by denying the write access the library asks about)")


def open_read_only(target: Target) -> CreditBank:
    """``CreditBank.open(target, read_only=True)``, as an auditor's program opens a copy."""
    return CreditBank.open(target, read_only=True)


def built(target: Target) -> World:
    """A world with one result recorded, its ledger closed."""
    world = make_world(target)
    record(world.bank, world, "2021-2022-1")
    world.bank.close()
    return world


def record(bank: CreditBank, world: World, term: str) -> Any:
    return bank.recognise_course_result(learner_id="S1", course_code="KJ1101", term=term,
                                        score=Decimal(80), evidence=EVIDENCE, signer=world.gzcc,
                                        today=TODAY)


def state(target: Target) -> Any:
    """What writing would change: the file's bytes, time and folder; or the server's rows."""
    if is_postgres(target):
        return [ledger_rows(target, f"SELECT COUNT(*) FROM {table}")
                for table in ("stored_events", "ledger_commits", "merkle_nodes", "ledger_info")]
    path = Path(target)
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def where(target: Target) -> str:
    """What a message names the ledger by (a URL without its password)."""
    return str(target).rsplit("?schema=", 1)[-1] if is_postgres(target) else str(target)


def test_a_ledger_opened_read_only_answers_queries_and_refuses_every_write(
    ledger_target: Target
) -> None:
    world = built(ledger_target)
    before = state(ledger_target)
    bank = open_read_only(ledger_target)
    try:
        balances = bank.balances("S1")
        assert sum(balances.values()) > 0
        assert bank.account("S2").learner_id == "S2"
        assert bank.keys()
        with pytest.raises(ReadOnlyLedgerError, match=re.escape(where(ledger_target))) as e:
            record(bank, world, "2021-2022-2")
        assert "read_only=True" in str(e.value) and "\n" not in str(e.value)
        with pytest.raises(ReadOnlyLedgerError):
            bank.register_institution(code="NEW", name="新学校", kind="school",
                                      has_credit_system=True,
                                      public_key=SigningKey.generate().public_key,
                                      root_key=world.root)
        assert bank.balances("S1") == balances
    finally:
        bank.close()
    assert state(ledger_target) == before  # not a byte, not a -wal or -shm file
    verify_ledger(str(ledger_target))


def test_a_read_only_ledger_refuses_a_unit_of_work_but_runs_a_dry_run(
    ledger_target: Target
) -> None:
    world = built(ledger_target)
    bank = open_read_only(ledger_target)
    try:
        with bank._unit_of_work(world.gzcc, dry_run=True):
            record(bank, world, "2020-2021-1")
        with pytest.raises(ReadOnlyLedgerError), bank._unit_of_work(world.gzcc):
            record(bank, world, "2020-2021-1")
    finally:
        bank.close()


def test_the_server_itself_refuses_writes_from_a_read_only_postgres_ledger(pg_url: str) -> None:
    built(pg_url)
    bank = open_read_only(pg_url)
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            ledger_of(bank).recorder.query("CREATE TABLE intruder (a integer)")  # type: ignore[attr-defined]
    finally:
        bank.close()


# -- files and folders that are not writable ----------------------------------------------------


@pytest.fixture()
def ledger_file(tmp_path: Path) -> Iterator[tuple[World, Path]]:
    """A closed ledger file alone in a folder of its own; its modes restored afterwards."""
    folder = tmp_path / "received"
    folder.mkdir()
    world = built(folder / "copy.ledger")
    yield world, folder / "copy.ledger"
    folder.chmod(0o755)
    (folder / "copy.ledger").chmod(0o644)


def deny_writing(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """Make the library see ``denied`` as not writable (what ``chmod`` does, but for root)."""
    real = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path).absolute() == denied.absolute():
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


def assert_opens_read_only_by_itself(world: World, path: Path, reason: str) -> None:
    before = state(path)
    with CreditBank.open(path) as bank:  # no read_only=True: the file system says so
        assert sum(bank.balances("S1").values()) > 0
        with pytest.raises(ReadOnlyLedgerError, match=reason) as e:
            record(bank, world, "2021-2022-2")
        assert str(path) in str(e.value)
    assert state(path) == before


@ROOT_IGNORES_CHMOD
def test_a_file_that_is_not_writable_opens_read_only_by_itself(
    ledger_file: tuple[World, Path]
) -> None:
    world, path = ledger_file
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    assert_opens_read_only_by_itself(world, path, "file .* is not writable")


@ROOT_IGNORES_CHMOD
def test_a_ledger_in_a_folder_that_is_not_writable_opens_read_only_by_itself(
    ledger_file: tuple[World, Path]
) -> None:
    world, path = ledger_file
    path.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    assert_opens_read_only_by_itself(world, path, "folder .* is not writable")


def test_a_file_the_system_says_is_not_writable_opens_read_only_by_itself(
    ledger_file: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, path = ledger_file
    deny_writing(monkeypatch, path)
    assert_opens_read_only_by_itself(world, path, "file .* is not writable")


def test_a_folder_the_system_says_is_not_writable_opens_its_ledger_read_only_by_itself(
    ledger_file: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, path = ledger_file
    deny_writing(monkeypatch, path.parent)
    assert_opens_read_only_by_itself(world, path, "folder .* is not writable")


def test_a_copy_taken_while_a_writer_had_the_ledger_open_is_read_without_files_beside_it(
    tmp_path: Path
) -> None:
    world = make_world(tmp_path / "live.ledger")
    record(world.bank, world, "2021-2022-1")
    expected = world.bank.balances("S1")
    with sqlite3.connect(tmp_path / "live.ledger") as conn:  # the writer's log, into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "live.ledger", tmp_path / "copy" / "live.ledger")  # still WAL mode
    world.bank.close()
    bank = open_read_only(tmp_path / "copy" / "live.ledger")
    try:
        assert bank.balances("S1") == expected
    finally:
        bank.close()
    assert os.listdir(tmp_path / "copy") == ["live.ledger"]


def test_opening_read_only_what_is_not_a_ledger_is_an_unusable_ledger_error(
    tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a ledger")
    for path in (tmp_path / "missing.ledger", tmp_path / "notes.txt", tmp_path):
        with pytest.raises(UnusableLedgerError, match=re.escape(str(path))):
            open_read_only(path)
