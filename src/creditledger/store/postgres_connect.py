"""Reaching a ledger on a PostgreSQL server: its URL, its errors, and the shared statements'
``?`` placeholders.

What the recorder (:mod:`creditledger.store.postgres`) and the auditor's reader
(:mod:`creditledger.store.readers`) both need: :func:`parse_postgres_url` turns
``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=SCHEMA]`` into eventsourcing's
settings; :func:`unavailable_as_error` turns a lost server into
:class:`~creditledger.errors.LedgerUnavailableError` and a lock timeout or deadlock into
:class:`~creditledger.errors.LedgerBusyError`; :class:`QmarkCursor` runs the statements the
backends share, written with SQLite's ``?`` placeholders.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresDatastore

from creditledger.errors import LedgerBusyError, LedgerUnavailableError, ValidationError


@functools.lru_cache(maxsize=1024)
def qmark_to_pyformat(sql: str) -> str:
    """Translate a statement with ``?`` placeholders to psycopg's ``%s`` style."""
    return sql.replace("%", "%%").replace("?", "%s")


class QmarkCursor:
    """A psycopg cursor that takes the ``?`` placeholders the shared statements use."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        """Wrap ``cursor`` (rows as tuples)."""
        self.cursor = cursor

    def execute(self, sql: str, parameters: Any = None, /) -> QmarkCursor:
        """Run ``sql``; return self, so that ``execute(...).fetchone()`` works as in sqlite3."""
        self.cursor.execute(qmark_to_pyformat(sql).encode(), parameters or None)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> None:
        """Run ``sql`` once per parameter tuple (pipelined by psycopg)."""
        self.cursor.executemany(qmark_to_pyformat(sql).encode(), parameters)

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self.cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        return self.cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.cursor)


def parse_postgres_url(url: str) -> dict[str, str]:
    """eventsourcing's PostgreSQL settings for the ledger a URL names (no recorder yet).

    ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=SCHEMA]``. A password left out of
    the URL is taken from the ``POSTGRES_PASSWORD`` environment variable (eventsourcing reads it).
    Connections are checked before use (``POSTGRES_PRE_PING``), so a restarted server is
    reconnected to without restarting the application.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValidationError("ledger", f"not a postgresql:// URL: {url!r}")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or not parts.hostname or not parts.username:
        raise ValidationError(
            "ledger", "a PostgreSQL ledger URL needs a user, a host and a database: "
            "postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=SCHEMA]")
    query = parse_qs(parts.query)
    unknown = set(query) - {"schema"}
    if unknown:
        raise ValidationError("ledger", f"unknown URL parameter(s): {', '.join(sorted(unknown))}")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username),
        "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
    }
    if parts.password is not None:
        env["POSTGRES_PASSWORD"] = unquote(parts.password)
    return env


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` is a ``postgresql://`` URL (else it is taken as a file path)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def describe(env: dict[str, str]) -> str:
    """``postgresql://user@host:port/db?schema=s``: where a PostgreSQL ledger is, no password."""
    return (f"postgresql://{env.get('POSTGRES_USER', '')}@{env.get('POSTGRES_HOST', '')}:"
            f"{env.get('POSTGRES_PORT', '5432')}/{env.get('POSTGRES_DBNAME', '')}"
            f"?schema={env.get('POSTGRES_SCHEMA') or 'public'}")


def describe_datastore(datastore: PostgresDatastore) -> str:
    """Where a datastore's ledger is (no password)."""
    kwargs = datastore.pool.kwargs
    assert isinstance(kwargs, dict)
    return (f"postgresql://{kwargs.get('user', '')}@{kwargs.get('host', '')}:"
            f"{kwargs.get('port', '')}/{kwargs.get('dbname', '')}?schema={datastore.schema}")


BUSY_STATES = {
    "55P03": "a lock was not granted in time (POSTGRES_LOCK_TIMEOUT)",
    "40P01": "a deadlock was detected",
    "40001": "a serialization failure",
    "57014": "the statement was cancelled (statement timeout or a cancel request)",
}
"""SQLSTATEs of a server that answered but refused the operation for now: not a lost server."""


def _sqlstate(e: BaseException) -> str | None:
    """The SQLSTATE of a psycopg error (or of the one it was raised from), if any."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, psycopg.Error) and seen.sqlstate:
            return seen.sqlstate
        seen = seen.__cause__
    return None


@contextmanager
def unavailable_as_error(
    where: str, *, writing: bool = False, datastore: PostgresDatastore | None = None
) -> Iterator[None]:
    """Turn a lost or refused server connection into :class:`LedgerUnavailableError`, and a
    lock timeout, deadlock or cancelled statement into :class:`LedgerBusyError`."""
    try:
        yield
    except (OperationalError, InterfaceError, psycopg.OperationalError,
            psycopg.InterfaceError) as e:
        place = f" at {describe_datastore(datastore)}" if datastore is not None else ""
        state = _sqlstate(e)
        detail = str(e).strip()
        if state in BUSY_STATES:
            raise LedgerBusyError(
                f"{where}{place}: {BUSY_STATES[state]} ({detail}); the transaction was rolled "
                "back, nothing of it was written. Retry") from e
        outcome = (
            "the commit was not confirmed: if the connection was lost while it was being "
            "committed, it may have been recorded, so reload before retrying (a command run "
            "again sees its own events if they landed)" if writing else "nothing was written")
        raise LedgerUnavailableError(
            f"{where}{place}: the PostgreSQL server cannot be reached ({detail}); {outcome}. "
            "The library reconnects by itself once the server is back") from e
