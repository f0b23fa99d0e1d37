"""A damaged ledger file is refused with :class:`UnusableLedgerError` naming the file, on one
line, by ``CreditBank.open`` or by whichever query or command first reads the damage: never
SQLite's ``DatabaseError`` (what ``verify`` says of the same file).

Opening reads only what every use needs (the ledger's id and key registry), not the whole file:
a fault further in is found by the call that reads it, and by ``verify``, which reads it all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditledger.audit.verify import verify_ledger
from creditledger.errors import UnusableLedgerError
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, World, make_world

LEARNERS = ("S1", "S2", "M1")
COURSES = ("GG1001", "KJ1101", "KJ2103")


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path]:
    """A closed ledger of some hundred commits (enough pages for a middle to damage)."""
    path = tmp_path_factory.mktemp("intact") / "school.ledger"
    world = make_world(path)
    for n in range(120):
        year = 1950 + n // 9
        world.bank.recognise_course_result(
            learner_id=LEARNERS[n % 3], course_code=COURSES[n // 3 % 3],
            term=f"{year}-{year + 1}-1", score=Decimal(80), evidence=EVIDENCE,
            signer=world.gzcc, today=TODAY)
    world.bank.close()
    return world, path


def damaged(intact: tuple[World, Path], folder: Path, damage: Callable[[bytes], bytes]) -> Path:
    path = folder / "damaged.ledger"
    path.write_bytes(damage(intact[1].read_bytes()))
    return path


def flip_the_middle(data: bytes) -> bytes:
    """Every bit of the middle quarter of the file flipped (page headers included)."""
    lo, hi = 3 * len(data) // 8, 5 * len(data) // 8
    return data[:lo] + bytes(b ^ 0xFF for b in data[lo:hi]) + data[hi:]


def cut_in_half(data: bytes) -> bytes:
    return data[:len(data) // 2]


def outcome(path: Path, call: Callable[[], Any]) -> str:
    """``ok``, or ``unusable`` if the call raised an UnusableLedgerError naming the file on one
    line; anything else is raised."""
    try:
        call()
    except UnusableLedgerError as e:
        assert str(path) in str(e) and "\n" not in str(e), str(e)
        return "unusable"
    return "ok"


def every_use(world: World, path: Path) -> list[str]:
    """Open the ledger and use it: each learner's balances, a command, the read models. What
    each did (the calls after a refused open are not made)."""
    results = []
    bank: list[CreditBank] = []
    results.append(outcome(path, lambda: bank.append(CreditBank.open(path, kek=KEK))))
    if not bank:
        return results
    try:
        for learner in LEARNERS:
            results.append(outcome(path, lambda learner=learner: bank[0].balances(learner)))
        results.append(outcome(path, lambda: bank[0].recognise_course_result(
            learner_id="S1", course_code="GG1001", term="2021-2022-2", score=Decimal(80),
            evidence=EVIDENCE, signer=world.gzcc, today=TODAY)))
        results.append(outcome(path, lambda: bank[0].read_models(
            path.with_name("views.db")).catch_up()))
    finally:
        bank[0].close()
    return results


@pytest.mark.parametrize("damage", [flip_the_middle, cut_in_half])
def test_a_damaged_file_is_an_unusable_ledger_error_naming_it_never_a_database_error(
    intact: tuple[World, Path], tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    path = damaged(intact, tmp_path, damage)
    assert outcome(path, lambda: verify_ledger(str(path))) == "unusable"
    results = every_use(intact[0], path)
    # refused when opened, or else by every learner's balances (their events are all over it)
    assert results[0] == "unusable" or results[1:4] == ["unusable"] * 3, results


def test_an_event_that_cannot_be_decoded_is_an_unusable_ledger_error_naming_the_file(
    intact: tuple[World, Path], tmp_path: Path
) -> None:
    path = damaged(intact, tmp_path, lambda data: data)
    with sqlite3.connect(path) as conn:  # an intruder, past the append-only triggers
        conn.execute("DROP TRIGGER stored_events_no_update")
        conn.execute("UPDATE stored_events SET state = x'7b' WHERE position = "
                     "(SELECT MAX(position) FROM stored_events)")
    with CreditBank.open(path, kek=KEK) as bank, pytest.raises(UnusableLedgerError,
                                                      match="damaged ledger") as e:
        for learner in LEARNERS:
            bank.balances(learner)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
