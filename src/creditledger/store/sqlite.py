"""The chained, signed application recorder for SQLite (the embedded default).

It is eventsourcing's ``SQLiteApplicationRecorder`` with the chain added at the seam the
library provides: :meth:`_insert_events` runs inside the writer's transaction, so an event row,
its two chain links and its commit's signature are written together or not at all. The write
transaction is ``BEGIN IMMEDIATE``: it takes SQLite's write lock before reading the chain's
head, so two writers (threads or processes) can never link to the same predecessor.

Select it with ``APPLICATION_RECORDER_TOPIC=creditledger.sqlite:ChainedSQLiteApplicationRecorder``
(the :class:`~creditledger.store.ledger.Ledger` application does this for you).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTransaction,
)

from creditledger.errors import (
    CreditLedgerError,
    LedgerBusyError,
    LedgerError,
    ReadOnlyLedgerError,
    UnusableLedgerError,
)
from creditledger.store.chain import APPEND_ONLY, ChainWriter, notifications_query
from creditledger.store.heads import SQLITE_HEADS_SCHEMA
from creditledger.store.readers import read_only_uri

STATEMENT_CACHE_SIZE = 128
"""Prepared statements kept per connection (Python's default)."""

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS ledger_info (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stored_events ("
    " position INTEGER PRIMARY KEY,"
    " originator_id TEXT NOT NULL,"
    " originator_version INTEGER NOT NULL,"
    " topic TEXT NOT NULL,"
    " state BLOB NOT NULL,"
    " commit_seq INTEGER NOT NULL,"
    " prev_hash BLOB NOT NULL,"
    " prev_aggregate_hash BLOB NOT NULL,"
    " hash BLOB NOT NULL,"
    " UNIQUE (originator_id, originator_version))",
    "CREATE TABLE IF NOT EXISTS ledger_commits ("
    " seq INTEGER PRIMARY KEY,"
    " first_position INTEGER NOT NULL,"
    " event_count INTEGER NOT NULL,"
    " committed_at INTEGER NOT NULL,"
    " key_id TEXT NOT NULL,"
    " signature BLOB NOT NULL)",
] + [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for table in ("stored_events", "ledger_commits", "ledger_info")
    for action in ("UPDATE", "DELETE")
]


LOCKED_RETRY_PAUSE = 0.005
"""Seconds between attempts that SQLite refused without waiting (:func:`_retrying_when_locked`)."""
_T = TypeVar("_T")


def _retrying_when_locked(attempt: Callable[[], _T], timeout: float) -> _T:
    """Run ``attempt`` until SQLite stops answering "database is locked", for ``timeout`` s.

    SQLite waits for a lock by itself (the connection's timeout), except where waiting could
    deadlock: then it answers at once, e.g. while another process switches the file into or
    out of WAL mode (as it opens the file after a close folded it, or as it closes). The
    attempts here have done nothing yet when refused, so they are simply made again; after
    ``timeout`` the caller gets :class:`~creditledger.errors.LedgerBusyError`.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            if time.monotonic() >= deadline:
                raise LedgerBusyError(
                    f"the ledger file stayed locked for {timeout:g} s (SQLITE_LOCK_TIMEOUT): "
                    f"{e}; nothing was written. Retry") from e
            time.sleep(LOCKED_RETRY_PAUSE)


def _switch_to_wal(c: sqlite3.Connection) -> bool:
    """Put the file in WAL mode (concurrent readers and one writer); True if it was not."""
    if str(c.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return False
    c.execute("PRAGMA journal_mode=WAL")
    return True


READ_WRITE, READ_ONLY, IMMUTABLE = "", "ro", "immutable"
"""How a recorder opens the file: read-write (the default), ``mode=ro``, or ``immutable=1``."""


def connect_uri(db_name: str, mode: str) -> str:
    """What ``sqlite3.connect(..., uri=True)`` opens the ledger file ``db_name`` with.

    Read-only is SQLite's ``mode=ro``: no write of any kind, not even the switch to WAL; and
    ``immutable=1`` as well where :func:`~creditledger.store.readers.needs_immutable` says so.
    """
    if mode == READ_WRITE or db_name.startswith("file:") or ":memory:" in db_name:
        return db_name
    return read_only_uri(db_name, immutable=mode == IMMUTABLE)


def _create_caching_connection(pool: SQLiteConnectionPool, mode: str = READ_WRITE
                               ) -> SQLiteConnection:
    """``SQLiteConnectionPool._create_connection`` of eventsourcing 9.5, with a statement cache.

    eventsourcing opens its connections with ``cached_statements=True``, i.e. a cache of *one*
    prepared statement, so a commit that alternates ``BEGIN``, ``SELECT`` and ``INSERT``
    re-prepares every statement every time (tens of microseconds each). This is the same
    connection (same URI, timeout, autocommit mode, WAL journal, row factory; no PRAGMA other than
    the journal mode) with Python's default cache of prepared statements. Opened read-only
    (``mode``, see :func:`connect_uri`), it leaves the journal mode as it is.
    """
    try:
        c = sqlite3.connect(
            database=connect_uri(pool.db_name, mode),
            uri=True,
            check_same_thread=False,
            isolation_level=None,  # autocommit mode: transactions are explicit
            cached_statements=STATEMENT_CACHE_SIZE,
            timeout=pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
        )
    except (sqlite3.Error, TypeError) as e:
        raise InterfaceError(e) from e
    if mode == READ_WRITE and not pool.is_sqlite_memory_mode and not pool.is_journal_mode_wal:
        timeout = float(pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
        try:
            if _retrying_when_locked(lambda: _switch_to_wal(c), timeout):
                pool.journal_mode_was_changed_to_wal = True
        except LedgerBusyError:
            c.close()
            raise
        pool.is_journal_mode_wal = True
    c.row_factory = sqlite3.Row
    return SQLiteConnection(sqlite_conn=c, max_age=pool.max_age)


class _ImmediateTransaction(SQLiteTransaction):
    """A write transaction that takes the database's write lock at ``BEGIN`` (tried again
    while SQLite refuses it without waiting: see :func:`_retrying_when_locked`)."""

    def __init__(self, connection: SQLiteConnection, *, commit: bool, timeout: float) -> None:
        super().__init__(connection, commit=commit)
        self.timeout = timeout

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        _retrying_when_locked(lambda: cursor.execute("BEGIN IMMEDIATE"), self.timeout)
        return cursor


class ChainedSQLiteApplicationRecorder(ChainWriter, SQLiteApplicationRecorder):
    """Writes every commit as chained event rows plus one signed commit row
    (see :class:`~creditledger.store.chain.ChainWriter`), in a ``BEGIN IMMEDIATE`` transaction."""

    heads_schema = SQLITE_HEADS_SCHEMA
    heads_exists = "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='heads_nodes'"

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        pool = datastore.pool
        if type(pool) is SQLiteConnectionPool:  # the pool eventsourcing's factory makes
            pool._create_connection = functools.partial(  # type: ignore[method-assign]
                _create_caching_connection, pool
            )
        super().__init__(datastore, "stored_events")
        self.select_events_statement = (
            "SELECT originator_id, originator_version, topic, state "
            "FROM stored_events WHERE originator_id=? "
        )
        self.select_max_notification_id_statement = "SELECT MAX(position) FROM stored_events"
        self._lock_timeout = float(datastore.pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
        self.where = pool.db_name
        self._init_chain()

    def open_read_only(self, *, immutable: bool = False) -> None:
        """Open every connection from now on read-only (see :func:`connect_uri`); call it before
        the first statement, so that no connection was opened read-write."""
        pool = self.datastore.pool
        if type(pool) is SQLiteConnectionPool:
            pool._create_connection = functools.partial(  # type: ignore[method-assign]
                _create_caching_connection, pool, IMMUTABLE if immutable else READ_ONLY)

    def construct_create_table_statements(self) -> list[str]:
        return list(SCHEMA)

    def create_table(self) -> None:
        with file_errors(self.where):
            super().create_table()

    # -- writing ---------------------------------------------------------------------------

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        with (
            file_errors(self.where),
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True, timeout=self._lock_timeout) as curs,
            curs,
        ):
            return self._insert_events(curs, stored_events, **kwargs)

    @contextmanager
    def write_lock(self) -> Iterator[SQLiteCursor]:
        """A write transaction under the lock every commit takes (``BEGIN IMMEDIATE``): for
        derived rows written apart from any commit (the index of heads)."""
        with (
            file_errors(self.where),
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True, timeout=self._lock_timeout) as curs,
            curs,
        ):
            yield curs

    # -- reading ---------------------------------------------------------------------------

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """An aggregate's stored events (eventsourcing's query; a damaged file's errors typed)."""
        with file_errors(self.where):
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)

    def max_notification_id(self) -> int:
        """The last position (``None`` for none, whatever eventsourcing's annotation says; a
        damaged file's errors typed)."""
        with file_errors(self.where):
            return super().max_notification_id()

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only statement (``?`` placeholders) on the ledger; rows as tuples."""
        with file_errors(self.where), self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [tuple(row) for row in c.fetchall()]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        statement, params = notifications_query(start, limit, stop, topics,
                                                inclusive_of_start)
        with file_errors(self.where), self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                Notification(
                    id=row[0],
                    originator_id=self.convert_originator_id(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                )
                for row in c.fetchall()
            ]



_DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL",
           "SQLITE_PERM", "SQLITE_AUTH", "SQLITE_NOLFS", "SQLITE_FORMAT", "SQLITE_RANGE")
"""SQLite's answers about the file itself (damaged, truncated, missing, full, unreadable)."""
_NOT_A_LEDGER = ("no such table", "no such column")


def _sqlite_cause(error: BaseException) -> sqlite3.Error | None:
    """The ``sqlite3`` error behind ``error`` (eventsourcing wraps them in its own)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def file_error(error: BaseException, where: str) -> LedgerError | None:
    """The library's error for what SQLite said about the ledger file ``where``, or None for
    what is not about the file (a lost race on a record, a busy lock, an append-only trigger,
    a mistake in a statement): those keep their own types.

    Read-only: :class:`ReadOnlyLedgerError`; damaged, truncated, unreadable, not a ledger's
    tables: :class:`UnusableLedgerError` with SQLite's one-line reason (as ``verify`` says it).
    """
    cause = _sqlite_cause(error)
    if cause is None or isinstance(error, CreditLedgerError):
        return None
    name = str(getattr(cause, "sqlite_errorname", "") or "")
    detail = " ".join(str(cause).split())
    if name.startswith("SQLITE_READONLY"):
        return ReadOnlyLedgerError(
            f"{where}: the ledger file or its folder is read-only ({detail}); nothing was "
            "written. Open it with read_only=True to read it")
    if name.startswith(_DAMAGE) or any(s in detail for s in _NOT_A_LEDGER):
        return UnusableLedgerError(f"{where}: corrupt or unreadable ledger ({detail})")
    return None


@contextmanager
def file_errors(where: str) -> Iterator[None]:
    """Raise :func:`file_error`'s typed error instead of SQLite's, where there is one."""
    try:
        yield
    except (sqlite3.Error, PersistenceError) as e:
        typed = file_error(e, where)
        if typed is None:
            raise
        raise typed from e
