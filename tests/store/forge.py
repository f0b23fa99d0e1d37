"""An insider who holds a registered key and the ledger's tables: forges whole, validly signed
commits with plain SQL, on a ledger file or a PostgreSQL schema.

Each forged commit is what the recorder would write for the same events (links, hashes, the
commit row with its signature, the Merkle nodes the events complete), but it never passed
through the library's writer, so nothing checked whether the signer may write those events:
only ``verify`` can catch it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from creditledger.crypto.keys import SigningKey
from creditledger.store.format import ZERO_HASH, event_hash, now_micros
from creditledger.store.merkle import SQLiteNodeStore, tree_at
from creditledger.store.postgres_connect import QmarkCursor
from tests.store.contract import Target, is_postgres
from tests.store.signing import signed_statement


@dataclass(frozen=True)
class Forged:
    """One event to forge: its aggregate, version, topic and stored state (bytes)."""

    originator_id: str
    version: int
    topic: str
    state: bytes


def state_of(**fields: Any) -> bytes:
    """Stored state as the mapper writes it (canonical JSON)."""
    return msgspec.json.Encoder(order="deterministic", decimal_format="string").encode(fields)


def forge_commit(target: Target, signer: SigningKey, events: list[Forged], *,
                 committed_at: int | None = None) -> int:
    """Append ``events`` as one commit signed by ``signer``; return its first position."""
    conn, cursor = _open(target)
    try:
        ledger_id = str(cursor.execute(
            "SELECT value FROM ledger_info WHERE name='ledger_id'").fetchone()[0])
        position, prev = cursor.execute(
            "SELECT position, hash FROM stored_events ORDER BY position DESC LIMIT 1").fetchone()
        seq, last_at = cursor.execute(
            "SELECT seq, committed_at FROM ledger_commits ORDER BY seq DESC LIMIT 1").fetchone()
        seq += 1
        at = committed_at if committed_at is not None else max(now_micros(), last_at)
        first = position + 1
        latest: dict[str, bytes] = {}
        hashes: list[bytes] = []
        prev = bytes(prev)
        for e in events:
            position += 1
            prev_agg = latest.get(e.originator_id) or _predecessor(cursor, e)
            h = event_hash(position, seq, e.originator_id, e.version, e.topic, e.state, prev,
                           prev_agg)
            cursor.execute("INSERT INTO stored_events (position, originator_id, "
                           "originator_version, topic, state, commit_seq, prev_hash, "
                           "prev_aggregate_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
                           (position, e.originator_id, e.version, e.topic, e.state, seq, prev,
                            prev_agg, h))
            latest[e.originator_id], prev = h, h
            hashes.append(h)
        statement = signed_statement(cursor, ledger_id, seq, first, at, signer.key_id, hashes)
        cursor.execute("INSERT INTO ledger_commits (seq, first_position, event_count, "
                       "committed_at, key_id, signature) VALUES (?,?,?,?,?,?)",
                       (seq, first, len(hashes), at, signer.key_id,
                        signer.sign(statement.message())))
        store = SQLiteNodeStore(cursor)
        tree_at(store, position)  # the Merkle nodes the new events complete
        store.flush()
        conn.commit()
        return first
    finally:
        conn.close()


def _predecessor(cursor: Any, e: Forged) -> bytes:
    if e.version == 1:
        return ZERO_HASH
    row = cursor.execute("SELECT hash FROM stored_events WHERE originator_id=? AND "
                         "originator_version=?", (e.originator_id, e.version - 1)).fetchone()
    return bytes(row[0])


def _open(target: Target) -> tuple[Any, Any]:
    """A connection that may write anything (triggers off) and a ``?`` cursor on it."""
    if is_postgres(target):
        from tests.store.pg_ledgers import TABLES, connect

        conn = connect(str(target))
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        return conn, QmarkCursor(conn.cursor())
    conn = sqlite3.connect(Path(target))
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
        conn.execute(f"DROP TRIGGER {name}")
    return conn, conn.cursor()
