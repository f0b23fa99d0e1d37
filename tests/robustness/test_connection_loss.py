"""The PostgreSQL server stops under a running school system, and comes back.

The test stops the real server (``pg_ctlcluster ... stop -m fast``) while a commit is inside
its transaction, keeps using the same bank object while the server is down, starts the server
again, and goes on with the same bank object: no restart of the application. The cluster to
stop is named by ``CREDITLEDGER_TEST_PG_CLUSTER`` (``"15 main"``: version and name, as
``.ci/run`` exports it) and must be the server ``CREDITLEDGER_TEST_POSTGRES`` points at.
Whatever happens, the server is started again before the test ends.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from creditledger.domain import Category, achievement_id, learning_record_key
from creditledger.errors import LedgerUnavailableError
from creditledger.projections import queries

from .ledgers import (
    TRAINING_CREDITS,
    commits_held,
    make_bank,
    query,
    record_training,
    server_connection,
    verifies,
    waiting_writer,
)

CLUSTER_ENV = "CREDITLEDGER_TEST_PG_CLUSTER"
PROMPT = 15.0
"""A call while the server is down fails within this many seconds (it waits 5 s for a
connection: ``POSTGRES_CONNECT_TIMEOUT``)."""
DOWN_FOR = 17.0
"""How long the server stays down. A connection pool that backs off exponentially (psycopg's
pool tries again after 1, 2, 4, 8, 16 ... s) would then try at ~15 s, before the server is back,
and next at ~31 s: the first command after the restart would fail."""
ONE_CONNECTION = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"}
"""A school system with one connection (eventsourcing's default pool keeps 5 to 15): then the
pool's reconnection attempts follow one schedule, and the test fails whenever the library
leaves the pool's back-off as it is."""


def cluster_of(url: str) -> list[str]:
    """``[version, name]`` of the cluster to stop; skip (fail under CI) without one."""
    value = os.environ.get(CLUSTER_ENV, "").split()
    if len(value) != 2:
        if os.environ.get("CI"):
            pytest.fail(f"{CLUSTER_ENV} is not set: CI must run the connection-loss test")
        pytest.skip(f"set {CLUSTER_ENV}='VERSION NAME' of the test server's cluster")
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True,
                            check=True).stdout.split("\n")
    ports = {tuple(line.split()[:2]): line.split()[2] for line in listed if line.strip()}
    port = str(urlsplit(url).port or 5432)
    assert ports.get((value[0], value[1])) == port, (
        f"{CLUSTER_ENV}={' '.join(value)} is not the server on port {port}: {ports}")
    return value


def pg_ctlcluster(cluster: list[str], action: str, *, check: bool = True) -> int:
    """Run ``pg_ctlcluster VERSION NAME ACTION`` (through ``sudo -n`` unless root)."""
    command = ["pg_ctlcluster", *cluster, action, *(["-m", "fast"] if action == "stop" else [])]
    if os.geteuid() != 0:
        command = ["sudo", "-n", *command]
    return subprocess.run(command, check=check, timeout=120, capture_output=True).returncode


def ensure_online(cluster: list[str]) -> None:
    """Start the cluster unless it is running (``status`` exits 0 only for a running one)."""
    if pg_ctlcluster(cluster, "status", check=False) != 0:
        pg_ctlcluster(cluster, "start")


def timed(call: Callable[[], Any]) -> tuple[LedgerUnavailableError, float]:
    """Run ``call``, which must raise LedgerUnavailableError; the error and the seconds taken."""
    started = time.monotonic()
    with pytest.raises(LedgerUnavailableError) as caught:
        call()
    return caught.value, time.monotonic() - started


def test_a_lost_server_raises_a_clear_error_loses_nothing_and_the_same_bank_works_again(
    pg_url: str, tmp_path: Any
) -> None:
    cluster = cluster_of(pg_url)
    bank, keys = make_bank(pg_url, tmp_path, ["M1"], env=ONE_CONNECTION)

    def record(reference: str) -> Any:
        return record_training(bank, keys.trainer, "M1", reference)

    before = [record(f"BEFORE-{n}").id for n in range(3)]
    projector = bank.read_models(tmp_path / "views.db")
    projector.catch_up()
    schema = pg_url.partition("?schema=")[2]
    stopped: list[float] = []
    try:
        # The server stops while a commit waits inside its transaction (for a lock held here,
        # after its event rows were inserted).
        def stop_when_the_commit_waits() -> None:
            with server_connection(pg_url) as watcher:
                waiting_writer(watcher, schema)
            stopped.append(time.monotonic())
            pg_ctlcluster(cluster, "stop")

        stopper = threading.Thread(target=stop_when_the_commit_waits)
        with commits_held(pg_url):
            stopper.start()
            with pytest.raises(LedgerUnavailableError) as in_flight:
                record("IN-FLIGHT")
            failed = time.monotonic()
            stopper.join(120)
        assert stopped, "the server was not stopped"
        assert failed - stopped[0] < PROMPT
        assert "writing to the ledger" in str(in_flight.value)
        assert "cannot be reached" in str(in_flight.value)

        # While it is down, commands, reads and catch-up fail promptly, with the same error.
        for what, call in (("a command", lambda: record("WHILE-DOWN")),
                           ("a read", lambda: bank.balances("M1")),
                           ("projection catch-up", projector.catch_up)):
            error, took = timed(call)
            assert took < PROMPT, f"{what} took {took:.1f} s to fail"
            assert "PostgreSQL server cannot be reached" in str(error), what
        time.sleep(max(0.0, DOWN_FOR - (time.monotonic() - stopped[0])))
    finally:
        ensure_online(cluster)

    # The same bank object works again at once: the first command after the restart succeeds.
    started = time.monotonic()
    after = record("AFTER")
    assert time.monotonic() - started < PROMPT

    # Nothing committed was lost; nothing was written while the server was down. The in-flight
    # commit is there whole or not at all: its COMMIT went to the server in the same pipeline
    # as its inserts, so the server may have committed it in the moment before it stopped (the
    # error says "it may have been recorded"). Either way, running the command again records
    # it once: the balance counts each achievement's credit exactly once.
    present = {oid for (oid,) in query(pg_url, "SELECT DISTINCT originator_id FROM stored_events")}
    assert {a.hex for a in before} | {after.id.hex} <= present
    assert achievement_id(learning_record_key("M1", "VTC", "WHILE-DOWN")).hex not in present
    for reference in ("IN-FLIGHT", "WHILE-DOWN"):
        record(reference)  # the retry succeeds (or finds the in-flight commit landed)
    credits = 6 * TRAINING_CREDITS
    assert bank.balances("M1")[Category.MAJOR_ELECTIVE] == credits
    # A reader catches up from the restarted server too.
    assert projector.catch_up() > 0
    assert queries.balances(projector.db, "M1")[Category.MAJOR_ELECTIVE] == credits
    bank.close()
    verifies(pg_url)
