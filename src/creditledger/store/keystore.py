"""The key store: each learner's data key, outside the chain, wrapped by the school's KEK.

Personal data is sealed under a random *data key* of its learner (crypto-shredding, see
``docs/privacy.md``). The data keys are kept here, never in the chain: in ``NAME.keys.db``
beside a ledger file, or in the tables of a PostgreSQL ledger's schema. Each is stored
*wrapped* (AES-GCM) by the school's key-encryption key (KEK, :class:`KeyEncryptionKey`).

Two tables hold them:

* ``data_keys_by_id``: keys under a random *key id*, made in batches ahead of use and reserved
  by one process (:meth:`KeyStore.reserve`); the sealed value names its key id
  (``sealed:v2:<key id>:...``), so the event that holds it is what gives the key to a learner.
  A key id is inserted once, never shared: two processes reserve rows of their own.
* ``data_keys``: the keys of the first sealing code (``sealed:v1:``), under the learner's
  account id; still read, never made any more. On erasure it also keeps the account's
  tombstone (the account id and when).

Erasing a learner destroys every key its events name (the rows keep only their id and when)
and scrubs the store's freed space (:meth:`SQLiteKeyStore.scrub`,
:meth:`~creditledger.store.keystore_pg.PostgresKeyStore.scrub`).
The store's ``key_store_info`` holds the ledger's id, the salt a passphrase KEK is derived
with, and a *check value* sealed by the KEK, so that a wrong KEK is told apart at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from creditledger.errors import LedgerBusyError, UnusableLedgerError

KEYS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS key_store_info (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS data_keys (account_id TEXT PRIMARY KEY, wrapped BLOB,"
    " created_at TEXT NOT NULL, erased_at TEXT)",
    "CREATE TABLE IF NOT EXISTS data_keys_by_id (key_id TEXT PRIMARY KEY, wrapped BLOB,"
    " created_at TEXT NOT NULL, erased_at TEXT)",
)
"""The key store's tables (the same on SQLite and PostgreSQL, ``bytea`` for ``BLOB``). Made
if missing whenever a store is opened for writing: a store of the first sealing code gains
``data_keys_by_id`` and keeps its rows."""


class KeyStore(Protocol):
    """Where the wrapped data keys are kept (a SQLite file, or tables on PostgreSQL)."""

    where: str

    def info(self) -> dict[str, bytes]:
        """The ``key_store_info`` rows (empty for a store that holds nothing yet)."""
        ...

    def set_info(self, rows: dict[str, bytes]) -> dict[str, bytes]:
        """Write ``rows`` unless info is there already; return the info as it is then."""
        ...

    def wrapped(self, account: str) -> tuple[bytes | None] | None:
        """The account-keyed (v1) key: ``None`` if the account has none; else
        ``(wrapped,)``, ``(None,)`` if erased."""
        ...

    def wrapped_key(self, key_id: str) -> tuple[bytes | None] | None:
        """The key of ``key_id``: ``None`` if there is none; ``(wrapped,)``, ``(None,)`` if
        destroyed."""
        ...

    def reserve(self, rows: list[tuple[str, bytes]]) -> None:
        """Keep new wrapped keys under new key ids, in one transaction (a key id already
        there is an error, never a shared key)."""
        ...

    def release(self, key_ids: list[str]) -> None:
        """Delete reserved keys that no event names (a process closing: they sealed nothing)."""
        ...

    def destroy(self, account: str, key_ids: list[str]) -> None:
        """Destroy the keys ``key_ids`` and the account's v1 key, in one transaction: the rows
        keep only their id and when (the account's row is its tombstone)."""
        ...

    def scrub(self) -> None:
        """Scrub the freed space, so that no copy of a destroyed key remains in the store."""
        ...

    def count(self) -> int:
        """How many keys (not tombstones) the store holds, in both tables."""
        ...

    def close(self) -> None: ...


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def keys_path_for(ledger_path: str | Path) -> Path:
    """The key store of a ledger file: ``NAME.keys.db`` beside ``NAME.ledger``."""
    p = Path(ledger_path)
    return p.with_name(p.stem + ".keys.db")


class SQLiteKeyStore:
    """The key store of a ledger file: its own SQLite file, in WAL mode with ``secure_delete``
    (deleted content is overwritten with zeros) and incremental vacuum, written with
    ``BEGIN IMMEDIATE``."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._read_only = read_only
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._read_only and not self.path.exists():
                raise UnusableLedgerError(f"{self.path}: no key store (the ledger is read-only)")
            uri = self.path.absolute().as_uri() + ("?mode=ro" if self._read_only else "")
            try:
                conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                                       check_same_thread=False, timeout=30)
                conn.execute("PRAGMA secure_delete=ON")
                if not self._read_only:
                    # before the first table: freed pages can then be given back one by one
                    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                    conn.execute("PRAGMA journal_mode=WAL")
                    for statement in KEYS_SCHEMA:
                        conn.execute(statement)
            except sqlite3.Error as e:
                raise UnusableLedgerError(f"{self.path}: not a usable key store ({e})") from e
            self._conn = conn
        return self._conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Cursor]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise LedgerBusyError(f"{self.path}: the key store is busy ({e})") from e
        try:
            yield conn.cursor()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def info(self) -> dict[str, bytes]:
        if self._read_only and not self.path.exists():
            return {}
        with self._lock:
            rows = self._connection().execute("SELECT name, value FROM key_store_info")
            return {str(n): bytes(v) for n, v in rows}

    def set_info(self, rows: dict[str, bytes]) -> dict[str, bytes]:
        with self._lock, self._writing() as c:
            c.executemany("INSERT OR IGNORE INTO key_store_info (name, value) VALUES (?, ?)",
                          list(rows.items()))
        return self.info()

    def wrapped(self, account: str) -> tuple[bytes | None] | None:
        return self._wrapped("SELECT wrapped FROM data_keys WHERE account_id=?", account)

    def wrapped_key(self, key_id: str) -> tuple[bytes | None] | None:
        return self._wrapped("SELECT wrapped FROM data_keys_by_id WHERE key_id=?", key_id)

    def _wrapped(self, statement: str, name: str) -> tuple[bytes | None] | None:
        with self._lock:
            try:
                row = self._connection().execute(statement, (name,)).fetchone()
            except sqlite3.OperationalError as e:
                if self._read_only and "no such table" in str(e):
                    return None  # a read-only store of the first sealing code: no such keys
                raise UnusableLedgerError(f"{self.path}: cannot read a data key ({e})") from e
        return None if row is None else (None if row[0] is None else bytes(row[0]),)

    def reserve(self, rows: list[tuple[str, bytes]]) -> None:
        at = now_text()
        try:
            with self._lock, self._writing() as c:
                c.executemany("INSERT INTO data_keys_by_id (key_id, wrapped, created_at) "
                              "VALUES (?, ?, ?)", [(k, w, at) for k, w in rows])
        except sqlite3.IntegrityError as e:  # never: key ids are 128 random bits
            raise UnusableLedgerError(f"{self.path}: a new key id is taken already ({e})") from e

    def release(self, key_ids: list[str]) -> None:
        with self._lock, self._writing() as c:
            c.executemany("DELETE FROM data_keys_by_id WHERE key_id=?", [(k,) for k in key_ids])

    def destroy(self, account: str, key_ids: list[str]) -> None:
        at = now_text()
        with self._lock, self._writing() as c:
            c.executemany("UPDATE data_keys_by_id SET wrapped=NULL, "
                          "erased_at=coalesce(erased_at, ?) WHERE key_id=?",
                          [(at, k) for k in key_ids])
            c.execute("INSERT OR IGNORE INTO data_keys (account_id, wrapped, created_at) "
                      "VALUES (?, NULL, ?)", (account, at))
            c.execute("UPDATE data_keys SET wrapped=NULL, erased_at=coalesce(erased_at, ?) "
                      "WHERE account_id=?", (at, account))

    def scrub(self) -> None:
        """Leave no copy of a destroyed key in the files: ``secure_delete`` zeroed its bytes
        where they lay (and any page freed); the incremental vacuum gives freed pages back to
        the file system; a ``TRUNCATE`` checkpoint copies the zeroed pages into the file and
        empties the write-ahead log, which held the key's older page images.

        Not a full ``VACUUM``: that rewrites the whole store (about 2 s for a million keys,
        docs/benchmarks.md) and removes nothing more once the bytes are zeroed."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("PRAGMA incremental_vacuum").fetchall()
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError as e:
                raise LedgerBusyError(f"{self.path}: the key store is busy; the key is "
                                      f"destroyed, run the erasure again to scrub ({e})") from e
        if busy:
            raise LedgerBusyError(f"{self.path}: another process reads the key store; the key "
                                  "is destroyed, run the erasure again to scrub its log")

    def count(self) -> int:
        with self._lock:
            row = self._connection().execute(
                "SELECT (SELECT count(*) FROM data_keys WHERE wrapped IS NOT NULL) + "
                "(SELECT count(*) FROM data_keys_by_id WHERE wrapped IS NOT NULL)").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close; fold the write-ahead log into the file, so that the key store is one file
        (as the ledger is), unless another connection still has it open."""
        with self._lock:
            if self._conn is None:
                return
            if not self._read_only:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA journal_mode=DELETE")
            self._conn.close()
            self._conn = None
