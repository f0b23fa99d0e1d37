"""The PostgreSQL recorder orders commits by one table lock, whatever eventsourcing's settings say.

eventsourcing's ``POSTGRES_ENABLE_DB_FUNCTIONS=yes`` inserts through a database function that
takes no table lock; our recorder never takes that path, so the chain's head is read and
extended under ``LOCK TABLE stored_events IN EXCLUSIVE MODE`` in every commit.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from creditledger.crypto.keys import SigningKey
from creditledger.store.format import link_hash
from creditledger.store.ledger import Ledger
from creditledger.store.postgres import MerklePostgresApplicationRecorder, postgres_env
from creditledger.store.postgres_connect import qmark_to_pyformat
from tests.store.ledgers import Account


def _schema(url: str) -> str:
    return parse_qs(urlsplit(url).query)["schema"][0]


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    base = url.split("?", 1)[0]
    return psycopg.connect(base, options=f"-c search_path={_schema(url)}")


@pytest.mark.parametrize("db_functions", ["no", "yes"])
def test_every_commit_waits_for_the_table_lock_even_with_db_functions_enabled(
    pg_url: str, db_functions: str
) -> None:
    root, school = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(pg_url, root, env={"POSTGRES_ENABLE_DB_FUNCTIONS": db_functions})
    try:
        assert isinstance(ledger.recorder, MerklePostgresApplicationRecorder)
        ledger.register_key("school", school.public_key, root_key=root)
        account = Account("learner")
        done = threading.Event()
        with _connect(pg_url) as blocker:
            # ROW SHARE conflicts with EXCLUSIVE, not with the ROW EXCLUSIVE a plain INSERT
            # takes: the writer waits here only if it asks for the table lock.
            blocker.execute("LOCK TABLE stored_events IN ROW SHARE MODE")  # in a transaction
            writer = threading.Thread(
                target=lambda: (ledger.save(account, signer=school), done.set()))
            writer.start()
            assert not done.wait(1.0), "the commit went ahead while another held the lock"
            blocker.rollback()  # release the lock: the commit may now go ahead
            writer.join(10)
        assert done.is_set()
        assert ledger.repository.get(account.id).owner == "learner"
    finally:
        ledger.close()


def test_concurrent_writers_with_db_functions_enabled_extend_one_chain(pg_url: str) -> None:
    root = SigningKey.generate()
    keys = [SigningKey.generate() for _ in range(4)]
    env = {"POSTGRES_ENABLE_DB_FUNCTIONS": "yes"}
    first = Ledger.create(pg_url, root, env=env)
    for i, key in enumerate(keys):
        first.register_key(f"school-{i}", key.public_key, root_key=root)
    first.close()
    errors: list[BaseException] = []

    def write(key: SigningKey) -> None:
        ledger = Ledger.open(pg_url, env=env)
        try:
            account = Account(key.key_id)
            ledger.save(account, signer=key)
            for n in range(15):
                account.credit(Decimal(n))
                ledger.save(account, signer=key)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            ledger.close()

    threads = [threading.Thread(target=write, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with _connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT position, commit_seq, originator_id, originator_version, topic, state,"
            " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position"
        ).fetchall()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))  # no gap
    assert len(rows) == 1 + 4 + 4 * 16
    previous = bytes(32)
    for row in rows:
        link = (row[0], row[1], row[2], row[3], row[4], bytes(row[5]), bytes(row[6]),
                bytes(row[7]))
        assert bytes(row[6]) == previous  # no fork: each event links to the one before
        assert link_hash(link) == bytes(row[8])
        previous = bytes(row[8])


def test_postgres_url_errors_name_the_problem() -> None:
    from creditledger.errors import ValidationError

    with pytest.raises(ValidationError, match="needs a user, a host and a database"):
        postgres_env("postgresql://localhost")
    with pytest.raises(ValidationError, match="unknown URL parameter"):
        postgres_env("postgresql://u@h/db?sslmode=disable")
    env = postgres_env("postgresql://u%40x:p%2Fw@db.example:6543/credit?schema=alliance")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_HOST"],
            env["POSTGRES_PORT"], env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == (
        "u@x", "p/w", "db.example", "6543", "credit", "alliance")


def test_qmark_translation_escapes_percent_signs() -> None:
    assert qmark_to_pyformat("SELECT '%' || ? WHERE a=?") == "SELECT '%%' || %s WHERE a=%s"


def test_a_schema_name_that_is_not_plain_is_refused(pg_url: str) -> None:
    from creditledger.errors import ValidationError

    bad = pg_url.split("?", 1)[0] + "?schema=Bad-Name"
    with pytest.raises(ValidationError, match="POSTGRES_SCHEMA"):
        Ledger.create(bad, SigningKey.generate())



def test_a_ledger_is_selected_by_eventsourcing_settings_alone(pg_url: str) -> None:
    from creditledger.errors import UnusableLedgerError

    url = postgres_env(pg_url)
    settings = {k: v for k, v in url.items() if k.startswith(("POSTGRES_", "PERSISTENCE_"))}
    assert settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    root, school = SigningKey.generate(), SigningKey.generate()
    created = Ledger.create(None, root, env=settings)
    created.register_key("school", school.public_key, root_key=root)
    created.close()
    opened = Ledger.open(None, env=settings)
    try:
        assert isinstance(opened.recorder, MerklePostgresApplicationRecorder)
        assert opened.principal_of(school) == "school"
        assert opened.ledger_id == created.ledger_id
    finally:
        opened.close()
    with pytest.raises(UnusableLedgerError, match=r"PERSISTENCE_MODULE=eventsourcing\.postgres"):
        Ledger.open(None, env={"PERSISTENCE_MODULE": "eventsourcing.sqlite"})


def test_a_lock_not_granted_in_time_is_a_busy_error_and_writes_nothing(pg_url: str) -> None:
    from creditledger.errors import LedgerBusyError

    root, school = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(pg_url, root, env={"POSTGRES_LOCK_TIMEOUT": "1"})
    try:
        ledger.register_key("school", school.public_key, root_key=root)
        size = ledger.recorder.max_notification_id()
        account = Account("learner")
        with _connect(pg_url) as blocker:
            blocker.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(LedgerBusyError, match=r"lock was not granted in time") as caught:
                ledger.save(account, signer=school)
            assert time.monotonic() - started < 10
            assert "rolled back" in str(caught.value)
            assert "schema=" in str(caught.value)  # it names where the ledger is
            assert "creditledger:" not in str(caught.value).split("@")[0]  # no password
        assert ledger.recorder.max_notification_id() == size  # nothing of it was written
        # The lock is free again: the command, run again, commits (a failed save has taken the
        # aggregate's pending events, as in eventsourcing: the command is run again, not saved).
        again = Account("learner")
        ledger.save(again, signer=school)
        assert ledger.repository.get(again.id).owner == "learner"
    finally:
        ledger.close()
