"""The key store of a PostgreSQL ledger: the tables ``key_store_info``, ``data_keys_by_id`` and
``data_keys`` in the ledger's own schema (see :mod:`.keystore`), written in transactions of
their own (never in a commit of the chain: the chain never holds a key)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

from creditledger.errors import UnusableLedgerError
from creditledger.store.keystore import KEYS_SCHEMA, now_text
from creditledger.store.postgres_connect import describe_datastore, unavailable_as_error

_PG_SCHEMA = tuple(s.replace("BLOB", "bytea") for s in KEYS_SCHEMA)


class PostgresKeyStore:
    """Wrapped data keys in the ledger's schema on the server (tables made on first use)."""

    def __init__(self, datastore: Any, *, read_only: bool = False) -> None:
        self.datastore = datastore
        self.where = f"{describe_datastore(datastore)} (data_keys)"
        self._read_only = read_only
        self._made = read_only

    def _run(self, statements: list[tuple[str, tuple[Any, ...]]], *, what: str,
             fetch: bool = False) -> list[tuple[Any, ...]]:
        """Run ``statements`` in one transaction (the tables made first if need be)."""
        if not self._made:
            statements = [(s, ()) for s in _PG_SCHEMA] + statements
        with unavailable_as_error(what, writing=not fetch, datastore=self.datastore), \
                self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor(row_factory=tuple_row) as curs:
            for statement, params in statements:
                curs.execute(statement.encode(), params)
            rows: list[tuple[Any, ...]] = curs.fetchall() if fetch else []
        self._made = True
        return rows

    def info(self) -> dict[str, bytes]:
        if self._read_only and not self._exists():
            return {}
        rows = self._run([("SELECT name, value FROM key_store_info", ())],
                         what="reading the key store", fetch=True)
        return {str(n): bytes(v) for n, v in rows}

    def _exists(self, table: str = "data_keys") -> bool:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(b"SELECT to_regclass(%s) IS NOT NULL", (table,))
            row = c.fetchone()
        return bool(row and row[0])

    def set_info(self, rows: dict[str, bytes]) -> dict[str, bytes]:
        self._run([("INSERT INTO key_store_info (name, value) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING", (n, v)) for n, v in rows.items()],
                  what="setting up the key store")
        return self.info()

    def wrapped(self, account: str) -> tuple[bytes | None] | None:
        return self._wrapped("SELECT wrapped FROM data_keys WHERE account_id=%s", account)

    def wrapped_key(self, key_id: str) -> tuple[bytes | None] | None:
        if self._read_only and not self._exists("data_keys_by_id"):
            return None  # a read-only store of the first sealing code: no such keys
        return self._wrapped("SELECT wrapped FROM data_keys_by_id WHERE key_id=%s", key_id)

    def _wrapped(self, statement: str, name: str) -> tuple[bytes | None] | None:
        rows = self._run([(statement, (name,))], what="reading a data key", fetch=True)
        if not rows:
            return None
        return (None if rows[0][0] is None else bytes(rows[0][0]),)

    def reserve(self, rows: list[tuple[str, bytes]]) -> None:
        at = now_text()
        try:
            self._run([("INSERT INTO data_keys_by_id (key_id, wrapped, created_at) "
                        "VALUES (%s, %s, %s)", (k, w, at)) for k, w in rows],
                      what="reserving data keys")
        except psycopg.errors.UniqueViolation as e:  # never: key ids are 128 random bits
            raise UnusableLedgerError(f"{self.where}: a new key id is taken already") from e

    def release(self, key_ids: list[str]) -> None:
        self._run([("DELETE FROM data_keys_by_id WHERE key_id = ANY(%s)", (key_ids,))],
                  what="releasing reserved data keys")

    def destroy(self, account: str, key_ids: list[str]) -> None:
        at = now_text()
        self._run([("UPDATE data_keys_by_id SET wrapped=NULL, erased_at=coalesce(erased_at, %s)"
                    " WHERE key_id = ANY(%s)", (at, key_ids)),
                   ("INSERT INTO data_keys (account_id, wrapped, created_at) "
                    "VALUES (%s, NULL, %s) ON CONFLICT (account_id) DO NOTHING", (account, at)),
                   ("UPDATE data_keys SET wrapped=NULL, erased_at=coalesce(erased_at, %s) "
                    "WHERE account_id=%s", (at, account))], what="destroying data keys")

    def scrub(self) -> None:
        """``VACUUM`` the key tables: the dead row versions that held the keys are removed and
        their space freed (outside a transaction, as PostgreSQL requires)."""
        with unavailable_as_error("scrubbing the key store", writing=True,
                                  datastore=self.datastore), \
                self.datastore.get_connection() as conn:
            conn.execute(b"VACUUM data_keys_by_id, data_keys")

    def count(self) -> int:
        rows = self._run([("SELECT (SELECT count(*) FROM data_keys WHERE wrapped IS NOT NULL) + "
                           "(SELECT count(*) FROM data_keys_by_id WHERE wrapped IS NOT NULL)",
                           ())], what="counting data keys", fetch=True)
        return int(rows[0][0])

    def close(self) -> None:
        """Nothing of its own to close: it borrows the ledger's connections."""
