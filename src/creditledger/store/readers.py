"""Read-only access to a ledger, on SQLite or PostgreSQL, for the auditor's tools.

The verifier, the Merkle tree reader (:class:`~creditledger.store.tree.LedgerTree`),
checkpoints, proofs and the export read a ledger through a :class:`LedgerReader`, opened with
:func:`open_reader` on a file path or a ``postgresql://USER:PW@HOST:PORT/DB?schema=S`` URL.
Statements use ``?`` placeholders (the dialect the shared statements are written in):

- :meth:`LedgerReader.execute` runs a statement with a small result and returns a cursor
  (``fetchone``, ``fetchall``, iteration), as ``sqlite3.Connection.execute`` does;
- :meth:`LedgerReader.scan` streams a big result (every event of a ledger) in constant memory:
  on PostgreSQL through a server-side cursor, :data:`SCAN_ROWS` rows per round trip.

A PostgreSQL reader is one ``REPEATABLE READ READ ONLY`` transaction from its first statement
to :meth:`~LedgerReader.close`: everything read through it (a whole verification, a checkpoint
and its proofs, an export) sees one snapshot of the ledger, however many schools write
meanwhile. Its errors are typed: a server that cannot be reached raises
:class:`~creditledger.errors.LedgerUnavailableError`, a schema that holds no ledger
:class:`~creditledger.errors.UnusableLedgerError`.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from creditledger.errors import LedgerUnavailableError, UnusableLedgerError, ValidationError

if TYPE_CHECKING:
    import psycopg

    from creditledger.store.chain import DBCursor

SCAN_ROWS = 20_000
"""Rows fetched per round trip by a PostgreSQL scan (a few MB of events)."""
_scan_names = itertools.count(1)


class Rows(Protocol):
    """The result of :meth:`LedgerReader.execute`: a DB-API cursor's reading methods."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Queryable(Protocol):
    """Anything that runs a ``?``-placeholder statement: a reader, or a ``sqlite3`` connection."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def is_postgres_target(target: object) -> bool:
    """Whether ``target`` is a ``postgresql://`` URL (else it is taken as a file path)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def needs_immutable(path: str | Path) -> bool:
    """Whether to read the file ``immutable=1`` rather than only ``mode=ro``.

    When its folder is not writable (SQLite could not open a WAL file's ``-shm`` there), and
    when the file is in WAL mode with no ``-wal`` beside it (a copy taken while a writer had it
    open): SQLite would otherwise create ``-wal`` and ``-shm`` files beside it, and leave them.
    Immutable, SQLite takes no lock: the file must not change while it is read, which nobody
    can do in a folder that is not writable, nor (as a rule) to such a copy.
    """
    p = Path(path).absolute()
    if not os.access(p.parent, os.W_OK | os.X_OK):
        return True
    try:
        with open(p, "rb") as f:
            header = f.read(20)
    except OSError:
        return False  # opening it will say what is wrong
    in_wal_mode = header[18:20] == b"\x02\x02"
    return in_wal_mode and not Path(f"{p}-wal").exists()


def read_only_uri(path: str | Path, *, immutable: bool | None = None) -> str:
    """The SQLite URI that reads the file ``path`` without writing anything, to it or beside
    it: ``mode=ro``, and ``immutable=1`` if ``immutable`` (default: :func:`needs_immutable`)."""
    uri = f"{Path(path).absolute().as_uri()}?mode=ro"
    if immutable is None:
        immutable = needs_immutable(path)
    return f"{uri}&immutable=1" if immutable else uri


def probe_ledger_file(path: str | Path) -> str:
    """Return the ledger id stored in ``path``; raise :class:`UnusableLedgerError` otherwise.

    Opens the file read-only (:func:`read_only_uri`): probing never creates or changes a file.
    """
    p = Path(path)
    if not p.exists():
        raise UnusableLedgerError(f"{path}: no such file")
    if not p.is_file():
        raise UnusableLedgerError(f"{path}: not a file")
    if p.stat().st_size == 0:
        raise UnusableLedgerError(f"{path}: empty file, not a ledger")
    try:
        conn = sqlite3.connect(read_only_uri(p.resolve()), uri=True)
        try:
            rows = conn.execute("SELECT name, value FROM ledger_info").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        if "no such table" in str(e):
            msg = f"{path}: an SQLite file, but not a creditledger ledger"
            raise UnusableLedgerError(msg) from e
        raise UnusableLedgerError(f"{path}: not a readable SQLite ledger ({e})") from e
    info = dict(rows)
    if "ledger_id" not in info:
        raise UnusableLedgerError(f"{path}: not a creditledger ledger (no genesis)")
    return str(info["ledger_id"])



class LedgerReader:
    """A read connection to one ledger (see the module's documentation).

    ``where`` names the ledger in messages and reports: the file path, or the URL without its
    password. Use it as a context manager, or call :meth:`close`.
    """

    where: str

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        """Run one statement (``?`` placeholders); its rows are read through the result."""
        raise NotImplementedError

    def scan(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a statement with a big result, streamed in constant memory."""
        raise NotImplementedError

    def cursor(self) -> DBCursor:
        """A DB-API style cursor (``?`` placeholders) for the Merkle node store."""
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        """Whether the ledger has the table ``name``."""
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: every read inside it sees the same ledger."""
        raise NotImplementedError

    def translate_errors(self) -> AbstractContextManager[None]:
        """Turn the database driver's errors into the library's typed ledger errors."""
        raise NotImplementedError

    @property
    def queries(self) -> Queryable:
        """What to run ``?`` statements on: the ``sqlite3`` connection of a file, else self."""
        return self

    def ledger_id(self) -> str:
        """The ledger's id; :class:`UnusableLedgerError` if this is not a ledger."""
        if not self.has_table("ledger_info") or not self.has_table("stored_events"):
            raise UnusableLedgerError(f"{self.where}: no creditledger ledger there")
        row = self.execute("SELECT value FROM ledger_info WHERE name='ledger_id'").fetchone()
        if row is None:
            raise UnusableLedgerError(f"{self.where}: not a creditledger ledger (no genesis)")
        return str(row[0])

    def close(self) -> None:
        """Close the connection (a PostgreSQL reader ends its read-only transaction)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SQLiteReader(LedgerReader):
    """A ledger file, read through one ``sqlite3`` connection (read-only unless ``writable``)."""

    def __init__(self, path: str | Path, *, writable: bool = False) -> None:
        """Open ``path``, which must be a ledger (checked first, without writing to it).

        A writable connection (autocommit, 30 s busy timeout) lets the Merkle tree reader
        build a missing tree; the verifier opens the file read-only.
        """
        self.where = str(path)
        self._ledger_id = probe_ledger_file(path)
        if writable:
            self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        else:
            self.conn = sqlite3.connect(read_only_uri(Path(path).resolve()), uri=True)
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        """Run one statement on the file."""
        return self._opened(self.conn.execute(sql, parameters))

    def scan(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """SQLite steps through a result row by row: a plain cursor streams."""
        return self._opened(self.conn.execute(sql, parameters))

    def cursor(self) -> DBCursor:
        """A ``sqlite3`` cursor."""
        return self._opened(self.conn.cursor())

    def _opened(self, cursor: sqlite3.Cursor) -> sqlite3.Cursor:
        # A cursor left part-way (a walk stopped at a fault) keeps its statement, and with it
        # a read lock, until it is closed: close() closes every one, so that closing the
        # reader really releases the file.
        self._cursors.add(cursor)
        return cursor

    def has_table(self, name: str) -> bool:
        """Whether ``sqlite_master`` lists the table."""
        return self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
        ).fetchone() is not None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """``BEGIN`` ... ``COMMIT``: SQLite keeps one read snapshot until the commit."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """A corrupt or unreadable file is unusable input."""
        try:
            yield
        except sqlite3.DatabaseError as e:
            raise UnusableLedgerError(f"{self.where}: corrupt or unreadable ledger ({e})") from e

    @property
    def queries(self) -> Queryable:
        """The ``sqlite3`` connection itself."""
        return self.conn

    def ledger_id(self) -> str:
        """The ledger's id (read when the file was probed)."""
        return self._ledger_id

    def close(self) -> None:
        """Close every cursor, then the connection."""
        for cursor in list(self._cursors):
            cursor.close()
        self.conn.close()


class PostgresReader(LedgerReader):
    """A ledger in a PostgreSQL schema, read in one ``REPEATABLE READ READ ONLY`` transaction.

    Connects with the parts of the URL (:func:`creditledger.store.postgres.postgres_env` parses it;
    a password left out is taken from ``POSTGRES_PASSWORD``, then libpq's own sources), with
    ``search_path`` set to the ledger's schema. Results of :meth:`execute` are read into
    memory; :meth:`scan` declares a server-side cursor and fetches :data:`SCAN_ROWS` rows at a
    time, so verifying a ledger of millions of events needs a few MB. Rows use PostgreSQL's
    binary format: ``bytea`` arrives as ``bytes``, ``bigint`` as ``int``, as from SQLite.
    """

    def __init__(self, url: str) -> None:
        """Connect; :class:`LedgerUnavailableError` if the server cannot be reached."""
        try:
            import psycopg
            from psycopg import IsolationLevel
            from psycopg.sql import SQL, Identifier

            from creditledger.store import postgres_connect as pg
        except ImportError as e:  # psycopg is an optional dependency
            raise UnusableLedgerError(
                "PostgreSQL ledgers need psycopg: pip install 'creditledger[postgres]'") from e
        try:
            env = pg.parse_postgres_url(url)
        except ValidationError as e:
            raise UnusableLedgerError(f"ledger URL: {e.problem}") from e
        self._pyformat = pg.qmark_to_pyformat
        self._qmark_cursor = pg.QmarkCursor
        self.where = pg.describe(env)
        self.schema = env["POSTGRES_SCHEMA"]
        try:
            conn = psycopg.connect(
                host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]),
                dbname=env["POSTGRES_DBNAME"], user=env["POSTGRES_USER"],
                password=env.get("POSTGRES_PASSWORD", os.environ.get("POSTGRES_PASSWORD")),
                connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
                application_name="creditledger-audit", autocommit=True)
        except psycopg.Error as e:
            raise LedgerUnavailableError(
                f"{self.where}: cannot connect to the PostgreSQL server ({_one_line(e)})") from e
        with self.translate_errors():
            try:
                conn.execute(SQL("SET search_path TO {0}").format(Identifier(self.schema)))
                conn.autocommit = False  # the next statement begins the one transaction
                conn.isolation_level = IsolationLevel.REPEATABLE_READ
                conn.read_only = True
            except BaseException:
                conn.close()
                raise
        self.conn: psycopg.Connection[tuple[Any, ...]] = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        """Run one statement; its rows are read into memory (use :meth:`scan` for big ones)."""
        with self.translate_errors():
            cursor = self.conn.cursor(binary=True)
            cursor.execute(self._pyformat(sql).encode(), tuple(parameters))
            return cursor

    def scan(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Stream the rows through a server-side cursor, :data:`SCAN_ROWS` per round trip."""
        import psycopg

        with self.translate_errors():
            cursor = self.conn.cursor(f"creditledger_scan_{next(_scan_names)}", binary=True,
                                      scrollable=False)
            cursor.itersize = SCAN_ROWS
            try:
                cursor.execute(self._pyformat(sql).encode(), tuple(parameters))
                yield from cursor
            finally:
                if not self.conn.closed and not cursor.closed:
                    with suppress(psycopg.Error):  # a failed transaction took its cursors
                        cursor.close()

    def cursor(self) -> DBCursor:
        """A client-side cursor taking ``?`` placeholders."""
        return _TranslatingCursor(self, self._qmark_cursor(self.conn.cursor(binary=True)))

    def has_table(self, name: str) -> bool:
        """Whether the ledger's schema has the table ``name``."""
        row = self.execute("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname=? AND tablename=?",
                           (self.schema, name)).fetchone()
        return row is not None

    def snapshot(self) -> AbstractContextManager[None]:
        """Nothing to do: the reader is one snapshot from its first read to its close."""
        return nullcontext()

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """A server that cannot be reached: :class:`LedgerUnavailableError`; any other database
        error (no such table, no privilege): :class:`UnusableLedgerError`."""
        import psycopg

        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise LedgerUnavailableError(
                f"{self.where}: cannot read the ledger from the PostgreSQL server "
                f"({_one_line(e)})") from e
        except psycopg.Error as e:
            raise UnusableLedgerError(
                f"{self.where}: cannot read the ledger ({_one_line(e)})") from e

    def close(self) -> None:
        """End the read-only transaction and close the connection."""
        import psycopg

        if not self.conn.closed:
            with suppress(psycopg.Error):  # a lost connection has nothing to roll back
                self.conn.rollback()
            self.conn.close()


class _TranslatingCursor:
    """A :class:`~.postgres_connect.QmarkCursor` whose errors are the reader's typed ones."""

    def __init__(self, reader: PostgresReader, cursor: DBCursor) -> None:
        self.reader = reader
        self.inner = cursor

    def execute(self, sql: str, parameters: Any = None, /) -> Any:
        with self.reader.translate_errors():
            return self.inner.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        raise UnusableLedgerError(f"{self.reader.where}: the auditor's reader never writes")

    def fetchone(self) -> Any:
        return self.inner.fetchone()

    def fetchall(self) -> list[Any]:
        return self.inner.fetchall()


def _one_line(error: BaseException) -> str:
    """A driver's message on one line (libpq adds indented hints on lines of their own)."""
    return " ".join(str(error).split())


def open_reader(target: str | Path, *, writable: bool = False) -> LedgerReader:
    """A reader of the ledger at ``target``: a file path or a ``postgresql://`` URL.

    ``writable`` applies to files only (see :class:`SQLiteReader`). Raises
    :class:`UnusableLedgerError` for a target that is not a ledger (checked for a file now, for
    a PostgreSQL schema by :meth:`LedgerReader.ledger_id`) and :class:`LedgerUnavailableError`
    for a server that cannot be reached.
    """
    if is_postgres_target(target):
        return PostgresReader(str(target))
    return SQLiteReader(target, writable=writable)
