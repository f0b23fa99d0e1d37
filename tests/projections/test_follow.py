"""Following a ledger: views catch up with commits made by other processes, exactly once, and on
PostgreSQL as soon as a commit's NOTIFY arrives (not when a poll comes round)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import threading
import time
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.domain import PersonalData
from creditledger.errors import LedgerUnavailableError
from creditledger.projections import Projector, default_projections
from creditledger.projections import queries as q
from creditledger.projections.runner import TRACKING_TABLE
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import EVIDENCE, KEK, TODAY, make_world

from ..store.contract import is_postgres

NEVER = 600.0
"""A poll interval no test waits for: on PostgreSQL the follower must wake on NOTIFY."""


def _write(target: str, pem: bytes, learners: list[str]) -> None:
    """Another school system's process: open accounts and record a result, a commit each."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    gzcc = SigningKey(load_pem_private_key(pem, password=b"pw"))  # type: ignore[arg-type]
    bank = CreditBank.open(target, kek=KEK)
    try:
        for learner in learners:
            bank.open_account(learner_id=learner, learner_type="student",
                              personal_data=PersonalData(name=f"学生{learner}"),
                              programme_code="530302", signer=gzcc)
            bank.recognise_course_result(learner_id=learner, course_code="KJ1101",
                                         term="2021-2022-1", score=Decimal(80),
                                         evidence=EVIDENCE, signer=gzcc, today=TODAY)
            time.sleep(0.05)  # commits spread over time, each announced on its own
    finally:
        bank.close()


def tracked(views: Path) -> int:
    """The position every projection has applied, read beside the follower (WAL readers)."""
    try:
        with closing(sqlite3.connect(views, timeout=5)) as conn:
            row = conn.execute(f"SELECT MIN(position) FROM {TRACKING_TABLE}").fetchone()
    except sqlite3.OperationalError:  # the follower has not created its tables yet
        return 0
    return int(row[0] or 0)


def reached(views: Path, position: int, within: float) -> float:
    """Seconds until the views reached ``position``; fail after ``within`` seconds."""
    start = time.monotonic()
    while tracked(views) < position:
        assert time.monotonic() - start < within, f"views at {tracked(views)}, not {position}"
        time.sleep(0.02)
    return time.monotonic() - start


class Follower:
    """``Projector.follow`` in a thread (the projector made and closed there)."""

    def __init__(self, bank: CreditBank, views: Path, poll: float) -> None:
        self.stop = threading.Event()
        self.applied: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(bank, views, poll), daemon=True)
        self.thread.start()

    def _run(self, bank: CreditBank, views: Path, poll: float) -> None:
        projector = bank.read_models(views)
        try:
            self.applied = projector.follow(self.stop, poll=poll)
        except BaseException as e:  # reported by the test thread
            self.error = e
        finally:
            projector.close()

    def halt(self) -> int:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive(), "follow did not return when stopped"
        assert self.error is None, self.error
        assert self.applied is not None
        return self.applied


def snapshot(projector: Projector) -> dict[str, list[Any]]:
    db = projector.db
    return {t: sorted(tuple(r.values()) for r in db[t].rows)
            for t in db.table_names() if not t.startswith("_")}


def test_views_follow_another_process_promptly_and_exactly_once_across_restarts(
    ledger_target: str | Path, tmp_path: Path
) -> None:
    world = make_world(ledger_target, tmp_path)
    views = tmp_path / "follow.views.db"
    # PostgreSQL: a poll that never comes round, so only NOTIFY can wake the follower up.
    poll = NEVER if is_postgres(ledger_target) else 0.05
    follower = Follower(world.bank, views, poll)
    try:
        start = world.size()
        reached(views, start, within=20)  # the first catch-up, before anything new is written
        writer = multiprocessing.get_context("spawn").Process(
            target=_write, args=(str(ledger_target), world.gzcc.to_pem(b"pw"), ["W1", "W2"]))
        writer.start()
        writer.join(60)
        assert writer.exitcode == 0
        head = world.size()
        assert head == start + 3 * 2  # an account; an achievement and its credit: each learner
        assert reached(views, head, within=10) < 5, "the follower did not wake up"
        assert follower.halt() == head  # every position applied once, none twice
        # while no one follows, the ledger grows; a new follower resumes where the last stopped
        world.bank.recognise_course_result(learner_id="W1", course_code="GG1001",
                                           term="2021-2022-2", score=Decimal(90),
                                           evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
        restarted = world.bank.read_models(views)
        assert restarted.position() == head
        assert restarted.follow(timeout=0) == world.size() - head
        fresh = Projector(world.recorder, tmp_path / "fresh.db", default_projections())
        fresh.catch_up()
        assert snapshot(restarted) == snapshot(fresh)
        for learner in ("W1", "W2"):
            assert q.balances(restarted.db, learner) == world.bank.balances(learner)
        entries = [line.entry for line in q.transcript(restarted.db, "W1")]
        assert entries == ["recognised", "recognised"]
        restarted.close()
        fresh.close()
    finally:
        follower.stop.set()
        follower.thread.join(5)
        world.bank.close()


@pytest.mark.parametrize("how", ["event", "callable", "timeout"])
def test_follow_returns_promptly_when_stopped_or_timed_out(
    ledger_target: str | Path, tmp_path: Path, how: str
) -> None:
    world = make_world(ledger_target, tmp_path)
    projector = world.bank.read_models(world.views)
    stop = threading.Event()
    try:
        threading.Timer(0.3, stop.set).start()
        began = time.monotonic()
        if how == "event":
            applied = projector.follow(stop, poll=NEVER)
        elif how == "callable":
            applied = projector.follow(stop.is_set, poll=NEVER)
        else:
            applied = projector.follow(timeout=0.3, poll=NEVER)
        took = time.monotonic() - began
        assert 0.25 < took < 2.0, took
        assert applied == world.size() == projector.position()
    finally:
        projector.close()
        world.bank.close()


def _own_tcp_ports() -> set[int]:
    """The local TCP ports of this process's sockets (its own connections to the server)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_follower_whose_connection_is_cut_says_so_and_a_new_follow_resumes(
    pg_url: str, tmp_path: Path
) -> None:
    world = make_world(pg_url, tmp_path)
    views = tmp_path / "cut.views.db"
    follower = Follower(world.bank, views, NEVER)
    try:
        reached(views, world.size(), within=20)
        base = pg_url.partition("?")[0]
        with psycopg.connect(base, autocommit=True) as admin:
            # only this process's own listening connection: matched by its client port
            (pid,), = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)"
                " AND query LIKE 'LISTEN%%'", [sorted(_own_tcp_ports())]).fetchall()
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        follower.thread.join(5)
        assert not follower.thread.is_alive()
        assert isinstance(follower.error, LedgerUnavailableError), follower.error
        assert "following the ledger" in str(follower.error)
        world.bank.open_account(learner_id="W9", learner_type="society_member",
                                personal_data=PersonalData(name="刘"), signer=world.gzcc)
        again = world.bank.read_models(views)  # the same bank: no restart of the system
        assert again.follow(timeout=0) == 1 and again.position() == world.size()
        again.close()
    finally:
        follower.stop.set()
        follower.thread.join(5)
        world.bank.close()
