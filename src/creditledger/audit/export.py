"""Copy a PostgreSQL ledger into a new SQLite ledger file, for auditors who verify offline.

:func:`export_to_sqlite` reads the ledger in one ``REPEATABLE READ READ ONLY`` transaction (one
snapshot: the copy is the ledger as it was at one moment, however many schools write
meanwhile) and writes every row byte for byte into the tables the SQLite recorder creates
(:data:`creditledger.store.sqlite.SCHEMA` and :data:`creditledger.store.merkle.MERKLE_SCHEMA`,
append-only triggers included): the events with their links and hashes, the signed commits,
the Merkle nodes and ``ledger_info``. The copy is one self-contained file (no ``-wal``) that
``creditledger verify`` checks to the same head (size, last hash) and Merkle root as the
server's ledger, and that ``checkpoint --no-verify``'s reads, ``consistency`` and ``prove`` read
as they read the server.

Nothing is verified while copying (that is the auditor's job, on the copy): a tampered ledger
is copied as it is, and its copy fails verification at the same position. The file is built
under a temporary name beside the target and appears under its name only when complete; an
existing file is never overwritten.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from creditledger.crypto.merkle import InvalidProof
from creditledger.errors import ConflictError, CorruptTreeError, UnusableLedgerError
from creditledger.store.heads import SQLITE_HEADS_SCHEMA
from creditledger.store.merkle import MERKLE_SCHEMA
from creditledger.store.readers import PostgresReader, is_postgres_target
from creditledger.store.sqlite import SCHEMA
from creditledger.store.tree import LedgerTree

CHUNK = 10_000
"""Rows inserted per ``executemany``."""

_TABLES: tuple[tuple[str, str, str], ...] = (
    ("ledger_info", "name, value", "name"),
    ("stored_events", "position, originator_id, originator_version, topic, state, commit_seq,"
                      " prev_hash, prev_aggregate_hash, hash", "position"),
    ("ledger_commits", "seq, first_position, event_count, committed_at, key_id, signature",
                       "seq"),
    ("merkle_nodes", "level, idx, hash", "level, idx"),
    ("heads_nodes", "depth, prefix, size, kind, key_or_left, head_or_right, version",
     "depth, prefix, size"),  # none in a ledger from before the index of heads
)
"""(table, columns, order): every table of a ledger, its columns as both backends name them."""


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_to_sqlite` copied: the snapshot's size and head, and where to."""

    source: str  # the URL, without its password
    path: str
    ledger_id: str
    events: int
    commits: int
    merkle_nodes: int
    last_hash: str  # hex; "" for a ledger without events
    merkle_root: str  # hex root of the stored tree over all the events ("" if it is broken)


def export_to_sqlite(url: str, path: str | Path) -> ExportReport:
    """Copy the PostgreSQL ledger at ``url`` into a new SQLite ledger file at ``path``.

    Raises :class:`~creditledger.errors.ConflictError` if ``path`` exists (nothing is
    overwritten), :class:`~creditledger.errors.UnusableLedgerError` if ``url`` is not a
    ``postgresql://`` URL of a schema holding a ledger, and
    :class:`~creditledger.errors.LedgerUnavailableError` if the server cannot be reached.
    """
    if not is_postgres_target(url):
        raise UnusableLedgerError(
            f"export: the source must be a postgresql:// URL, not {str(url)!r} "
            "(a ledger file is exported by copying it)")
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise ConflictError(f"{target}: file exists; refusing to overwrite it")
    if not target.parent.is_dir():
        raise UnusableLedgerError(f"{target}: no such folder {target.parent}")
    with PostgresReader(url) as reader, reader.translate_errors():
        ledger_id = reader.ledger_id()
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent)
        os.close(fd)
        temporary = Path(name)
        try:
            try:
                counts = _copy(reader, temporary)
            except (sqlite3.Error, OSError) as e:
                raise UnusableLedgerError(f"{target}: cannot write the copy ({e})") from e
            _size, last_hash, root = _head(reader)
            _publish(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    return ExportReport(source=reader.where, path=str(target), ledger_id=ledger_id,
                        events=counts["stored_events"], commits=counts["ledger_commits"],
                        merkle_nodes=counts["merkle_nodes"], last_hash=last_hash,
                        merkle_root=root)


def _head(reader: PostgresReader) -> tuple[int, str, str]:
    """The snapshot's size, last hash and stored Merkle root (hex; "" where there is none)."""
    size = int(reader.execute("SELECT MAX(position) FROM stored_events").fetchone()[0] or 0)
    row = reader.execute("SELECT hash FROM stored_events WHERE position=?", (size,)).fetchone()
    try:
        root = LedgerTree(reader, size).root().hex() if size else ""
    except (KeyError, InvalidProof, CorruptTreeError):
        root = ""  # a broken tree is copied as it is; verifying the copy names the fault
    return size, bytes(row[0]).hex() if row else "", root


def _copy(reader: PostgresReader, path: Path) -> dict[str, int]:
    """Create the SQLite ledger schema in ``path`` and copy every table's rows into it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # The file becomes visible only when complete (see _publish): no journal is needed
        # while it is built; it is synced once at the end.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for statement in (*SCHEMA, *MERKLE_SCHEMA, *SQLITE_HEADS_SCHEMA):
            if not statement.startswith("INSERT"):  # ledger_info's rows come from the source
                conn.execute(statement)
        counts: dict[str, int] = {}
        for table, columns, order in _TABLES:
            if not reader.has_table(table):
                counts[table] = 0
                continue
            rows = reader.scan(f"SELECT {columns} FROM {table} ORDER BY {order}")
            insert = (f"INSERT INTO {table} ({columns}) VALUES "
                      f"({','.join('?' * (columns.count(',') + 1))})")
            counts[table] = 0
            for chunk in _chunks(rows):
                conn.executemany(insert, chunk)
                counts[table] += len(chunk)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, as Ledger.close
    finally:
        conn.close()
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    return counts


def _chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _publish(temporary: Path, target: Path) -> None:
    """Give the finished file its name, unless a file of that name appeared meanwhile."""
    try:
        os.link(temporary, target)  # atomic, and fails if the target exists
    except FileExistsError as e:
        raise ConflictError(f"{target}: file exists; refusing to overwrite it") from e
    except OSError:  # a file system without hard links: claim the name, then move into it
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError as e:
            raise ConflictError(f"{target}: file exists; refusing to overwrite it") from e
        os.replace(temporary, target)
