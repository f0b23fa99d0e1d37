"""The chained, signed application recorder for PostgreSQL (an alliance's shared server).

The same chain as on SQLite (:class:`~.chain.ChainWriter` writes the rows, the same
bytes are hashed and signed) in the same tables, created in the schema ``POSTGRES_SCHEMA``
names. Each commit is one transaction that first takes ``LOCK TABLE stored_events IN EXCLUSIVE
MODE``: the lock that orders commits, held while the chain's head is read, the events are linked
and the event rows, the commit row and the Merkle nodes are written, and released at
``COMMIT``. Readers are not blocked (``EXCLUSIVE`` admits ``SELECT``). The lock is taken on
every commit, whatever eventsourcing's ``POSTGRES_ENABLE_DB_FUNCTIONS`` says: this recorder
never takes eventsourcing's database-function path, which would insert without the lock.

Every commit also sends ``NOTIFY`` on the channel :data:`CHANNEL` (delivered at ``COMMIT``), so
projections can follow the ledger without polling (:meth:`subscribe`).

Select it with :func:`postgres_env` or a ``postgresql://`` URL given to
:meth:`creditledger.store.ledger.Ledger.create` / :meth:`~creditledger.store.ledger.Ledger.open`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    Notification,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from creditledger.errors import (
    UnusableLedgerError,
    ValidationError,
)
from creditledger.store.chain import APPEND_ONLY, ChainWriter, _id_text, notifications_query
from creditledger.store.heads import PG_HEADS_SCHEMA
from creditledger.store.mapper import LedgerMapper
from creditledger.store.merkle import LOW_LEVELS, MERKLE_FENCE, MerkleWriter
from creditledger.store.postgres_connect import (
    QmarkCursor,
    describe_datastore,
    parse_postgres_url,
    qmark_to_pyformat,
    unavailable_as_error,
)

CHANNEL = "creditledger_commits"
"""The ``NOTIFY`` channel every commit signals on."""
SCHEMA_LOCK = 7_340_032_001
"""Advisory lock key that serialises creating the tables (several processes may start at once)."""

PG_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS ledger_info (name text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stored_events ("
    " position bigint PRIMARY KEY,"
    " originator_id text NOT NULL,"
    " originator_version bigint NOT NULL,"
    " topic text NOT NULL,"
    " state bytea NOT NULL,"
    " commit_seq bigint NOT NULL,"
    " prev_hash bytea NOT NULL,"
    " prev_aggregate_hash bytea NOT NULL,"
    " hash bytea NOT NULL,"
    " UNIQUE (originator_id, originator_version))",
    "CREATE TABLE IF NOT EXISTS ledger_commits ("
    " seq bigint PRIMARY KEY,"
    " first_position bigint NOT NULL,"
    " event_count integer NOT NULL,"
    " committed_at bigint NOT NULL,"
    " key_id text NOT NULL,"
    " signature bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS merkle_nodes ("
    " level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL,"
    " PRIMARY KEY (level, idx))",
    "CREATE OR REPLACE FUNCTION creditledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END$$",
    # As on SQLite (store.merkle.MERKLE_SCHEMA): a node only with the events it covers.
    "CREATE OR REPLACE FUNCTION creditledger_merkle_fence() RETURNS trigger LANGUAGE plpgsql AS"
    f" $$BEGIN IF NEW.level < {LOW_LEVELS} OR NEW.level > 62 OR NEW.idx < 0"
    " OR octet_length(NEW.hash) <> 32 OR (NEW.idx + 1)::numeric * 2::numeric ^ NEW.level"
    " > (SELECT COALESCE(MAX(position), 0) FROM stored_events) THEN"
    f" RAISE EXCEPTION '{MERKLE_FENCE}'; END IF; RETURN NEW; END$$",
    "CREATE OR REPLACE TRIGGER merkle_nodes_fence BEFORE INSERT ON merkle_nodes"
    " FOR EACH ROW EXECUTE FUNCTION creditledger_merkle_fence()",
] + [
    f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION creditledger_append_only()"
    for table in ("stored_events", "ledger_commits", "ledger_info", "merkle_nodes")
] + [
    f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION creditledger_append_only()"
    for table in ("stored_events", "ledger_commits", "ledger_info", "merkle_nodes")
] + PG_HEADS_SCHEMA
"""The ledger's tables: the same columns as on SQLite, append-only by triggers."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class _CatchingUpCursor(QmarkCursor):
    """A :class:`QmarkCursor` that runs ``catch_up`` once, when the first result is fetched:
    the chain's head query, whose result arrives in the same round trip as the catch-up reads
    queued before it, so the writer's caches are brought up to date before the chain checks
    them against the head."""

    def __init__(self, cursor: psycopg.Cursor[Any],
                 catch_up: Callable[[], None] | None) -> None:
        """Wrap ``cursor``; ``catch_up`` may be None (nothing to do)."""
        super().__init__(cursor)
        self.catch_up = catch_up

    def _first(self) -> None:
        catch_up, self.catch_up = self.catch_up, None
        if catch_up is not None:
            catch_up()

    def fetchone(self) -> Any:
        """The next row, or None."""
        row = self.cursor.fetchone()
        self._first()
        return row

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        rows = self.cursor.fetchall()
        self._first()
        return rows

    def __iter__(self) -> Iterator[Any]:
        rows = self.cursor.fetchall()
        self._first()
        return iter(rows)


CATCH_UP_LIMIT = 256
"""At most this many events, written by others since a writer's own last commit, are caught up
with from one read; after more, the writer reads what it needs as after any change."""
CATCH_UP_EVENTS = ("SELECT position, originator_id, originator_version, prev_hash, hash"
                   " FROM stored_events WHERE position>%s ORDER BY position LIMIT %s")


@functools.lru_cache(maxsize=64)
def _nodes_after_statement(levels: int) -> str:
    """The stored Merkle nodes of ``levels`` levels whose index is at least a given one."""
    return ("SELECT level, idx, hash FROM merkle_nodes WHERE "
            + " OR ".join(["(level=%s AND idx>=%s)"] * levels))


def postgres_env(url: str) -> dict[str, str]:
    """The eventsourcing environment of a ledger on the PostgreSQL server a URL names (see
    :func:`~.postgres_connect.parse_postgres_url`), with the ledger's recorder and mapper."""
    return with_ledger_recorder(parse_postgres_url(url))


def with_ledger_recorder(env: dict[str, str]) -> dict[str, str]:
    """``env`` (eventsourcing's PostgreSQL settings) with the ledger's recorder and mapper."""
    return {
        "POSTGRES_PRE_PING": "yes",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "30",
        **env,
        "APPLICATION_RECORDER_TOPIC": get_topic(MerklePostgresApplicationRecorder),
        "MAPPER_TOPIC": get_topic(LedgerMapper),
    }


class ChainedPostgresApplicationRecorder(  # type: ignore[misc]  # our _insert_events
    ChainWriter, PostgresApplicationRecorder
):
    """Writes every commit as chained event rows plus one signed commit row
    (see :class:`~.chain.ChainWriter`), under ``LOCK TABLE ... EXCLUSIVE``."""

    heads_schema = PG_HEADS_SCHEMA
    heads_exists = "SELECT to_regclass('heads_nodes')"

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        """Use ``datastore``'s schema (``POSTGRES_SCHEMA``); ``events_table_name`` is ignored."""
        schema = datastore.schema
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValidationError(
                "POSTGRES_SCHEMA", f"{schema!r} is not a plain lower-case SQL name")
        # The shared statements name the tables without a schema: each connection of this
        # datastore resolves them in the ledger's schema.
        kwargs = datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs["options"] = f"-c search_path={schema}"
        # After losing the server, the pool reconnects in the background with a back-off that
        # doubles for up to ``reconnect_timeout`` (five minutes by default): after a long outage
        # it would not try again until long after the server is back. Give up each round of
        # attempts after as long as a caller waits for a connection; the next call then starts
        # a new round at once, so the ledger works again as soon as the server does.
        datastore.pool.reconnect_timeout = datastore.pool.timeout
        super().__init__(datastore, events_table_name="stored_events")
        self.channel_name = CHANNEL
        self._statements: tuple[bytes, bytes, bytes] | None = None
        self._init_chain()

    def create_table(self) -> None:
        """Create the schema and the ledger's tables, if they are not there yet."""
        with unavailable_as_error("creating the ledger's tables", datastore=self.datastore), \
                self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(
                Identifier(self.datastore.schema)))
            for statement in PG_SCHEMA:
                curs.execute(statement.encode())

    # -- writing ---------------------------------------------------------------------------

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Write one commit: lock, link, sign, insert, notify, commit (all or nothing).

        One ``BEGIN`` ... ``COMMIT`` in psycopg's pipeline mode, in two round trips: ``BEGIN``,
        the lock, the catch-up reads (see :meth:`_send_catch_up`) and the chain's head query go
        to the server together; then, after linking and signing, the inserts, ``NOTIFY`` and
        ``COMMIT``. (psycopg's ``transaction()`` would add a round trip before ``COMMIT``, under
        the lock, and one for ``BEGIN``.) If anything fails, the server skips the rest, ``COMMIT``
        included, and the transaction is rolled back: nothing of the commit is written.

        Not retried on a lost connection (eventsourcing's recorder retries): a commit whose
        ``COMMIT`` was sent may have landed, so the caller is told instead and reloads.
        """
        if not stored_events:
            return []
        with unavailable_as_error("writing to the ledger", writing=True,
                                  datastore=self.datastore), \
                self.datastore.get_connection() as conn:
            assert conn.autocommit  # eventsourcing's pool: the transaction is ours to delimit
            set_timeout, lock, notify = self._commit_statements(conn)
            try:
                with conn.pipeline(), conn.cursor(row_factory=tuple_row) as raw:
                    raw.execute(b"BEGIN")
                    raw.execute(set_timeout)
                    raw.execute(lock)
                    catch_up = self._send_catch_up(conn)
                    positions = self._insert_events(
                        _CatchingUpCursor(raw, catch_up), stored_events, **kwargs)
                    raw.execute(notify)
                    raw.execute(b"COMMIT")
            finally:
                if conn.info.transaction_status in (TransactionStatus.INTRANS,
                                                    TransactionStatus.INERROR):
                    conn.rollback()  # an error stopped it before COMMIT: write none of it
            return positions

    @contextmanager
    def write_lock(self) -> Iterator[QmarkCursor]:
        """A transaction under the lock every commit takes (``LOCK TABLE stored_events IN
        EXCLUSIVE MODE``, with the commits' lock timeout): for derived rows written apart from
        any commit (the index of heads). ``?`` statements, rows as tuples."""
        with unavailable_as_error("writing to the ledger", writing=True,
                                  datastore=self.datastore), \
                self.datastore.get_connection() as conn:
            set_timeout, lock, _ = self._commit_statements(conn)
            with conn.transaction(), conn.cursor(row_factory=tuple_row) as raw:
                raw.execute(set_timeout)
                raw.execute(lock)
                yield QmarkCursor(raw)

    def _commit_statements(self, conn: psycopg.Connection[Any]) -> tuple[bytes, bytes, bytes]:
        """``SET LOCAL lock_timeout``, ``LOCK TABLE`` and ``NOTIFY``, composed once."""
        if self._statements is None:
            self._statements = (
                SQL("SET LOCAL lock_timeout = '{0}s'").format(
                    self.datastore.lock_timeout).as_bytes(conn),
                SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(
                    Identifier(self.datastore.schema), Identifier("stored_events")).as_bytes(conn),
                SQL("NOTIFY {0}").format(Identifier(CHANNEL)).as_bytes(conn),
            )
        return self._statements

    def _send_catch_up(self, conn: psycopg.Connection[Any]) -> Callable[[], None] | None:
        """Queue reads that let the writer go on from the commits others made since its own
        last one; return what applies them (run before the chain looks at the head), or None.

        This recorder reads nothing ahead: the chain reads what it needs after the head moved.
        """
        return None

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
        """An aggregate's stored events (its id is stored as hex text, as on SQLite)."""
        clauses: list[str] = ["originator_id=%s"]
        params: list[Any] = [_id_text(originator_id)]
        if gt is not None:
            clauses.append("originator_version>%s")
            params.append(gt)
        if lte is not None:
            clauses.append("originator_version<=%s")
            params.append(lte)
        statement = ("SELECT originator_id, originator_version, topic, state FROM stored_events "
                     f"WHERE {' AND '.join(clauses)} ORDER BY originator_version "
                     f"{'DESC' if desc else 'ASC'}")
        if limit is not None:
            statement += " LIMIT %s"
            params.append(limit)
        return [StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2],
                            state=bytes(row[3]))
                for row in self._read(statement, params)]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """Events in global order, from ``start`` (positions are the notification ids)."""
        statement, params = notifications_query(start, limit, stop, topics, inclusive_of_start)
        return [
            Notification(id=row[0], originator_id=self.convert_originator_id(row[1]),
                         originator_version=row[2], topic=row[3], state=bytes(row[4]))
            for row in self.query(statement, params)
        ]

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only statement (``?`` placeholders, as on SQLite) on the ledger."""
        return self._read(qmark_to_pyformat(statement), params)

    def _read(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read statement; rows as tuples. A lost server raises at once (no retries)."""
        with unavailable_as_error("reading the ledger", datastore=self.datastore), \
                self.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement.encode(), params, prepare=True)
            return curs.fetchall()

    def ledger_info(self) -> dict[str, str]:
        """The ``ledger_info`` rows (format, ledger id); refuse a schema that holds no ledger."""
        try:
            rows = self._read("SELECT name, value FROM ledger_info")
        except ProgrammingError as e:
            raise UnusableLedgerError(
                f"{describe_datastore(self.datastore)}: no creditledger ledger there ({e})") from e
        info = {str(name): str(value) for name, value in rows}
        if "ledger_id" not in info:
            raise UnusableLedgerError(
                f"{describe_datastore(self.datastore)}: not a creditledger ledger (no genesis)")
        return info

    def convert_originator_id(self, originator_id: Any) -> UUID:
        """Ids are stored as hex text."""
        return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)

    def max_notification_id(self) -> int | None:
        """The last position."""
        value = self._read("SELECT MAX(position) FROM stored_events")[0][0]
        return None if value is None else int(value)


class MerklePostgresApplicationRecorder(  # type: ignore[misc]  # as above
    MerkleWriter, ChainedPostgresApplicationRecorder
):
    """The chained, signed PostgreSQL recorder that also keeps the ledger's Merkle tree."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        """As :class:`ChainedPostgresApplicationRecorder`."""
        super().__init__(datastore, events_table_name=events_table_name)
        self._init_tree()

    def _ensure_tree_schema(self, c: Any) -> None:
        """``merkle_nodes`` is part of the PostgreSQL schema from the start."""

    def _send_catch_up(self, conn: psycopg.Connection[Any]) -> Callable[[], None] | None:
        """Queue the read of the events after this writer's last commit (at most
        :data:`CATCH_UP_LIMIT` + 1) and of the Merkle nodes they completed.

        With other writers committing in between, the chain's head has moved since this
        writer's last commit, so without these the chain would read the predecessors' hashes and
        the tree would be reopened from its stored nodes: several round trips under the lock.
        These reads go in the lock's round trip instead (they run after the lock is granted).
        """
        since = self._tips_head
        if since is None:
            return None
        position = since[0]
        events = conn.cursor(row_factory=tuple_row)
        events.execute(CATCH_UP_EVENTS, (position, CATCH_UP_LIMIT + 1), prepare=True)
        # Node (level, idx) covers leaves idx * 2**level .. (idx + 1) * 2**level - 1; it is
        # completed after ``position`` leaves iff idx >= position >> level, and by at most
        # CATCH_UP_LIMIT more leaves only on the levels where the next such node ends in reach.
        levels = [level for level in range(LOW_LEVELS, (position + CATCH_UP_LIMIT).bit_length())
                  if ((position >> level) + 1) << level <= position + CATCH_UP_LIMIT]
        nodes: psycopg.Cursor[Any] | None = None
        if levels:
            nodes = conn.cursor(row_factory=tuple_row)
            nodes.execute(_nodes_after_statement(len(levels)),
                          [x for level in levels for x in (level, position >> level)],
                          prepare=True)

        def catch_up() -> None:
            self._catch_up(since, events.fetchall(), [] if nodes is None else nodes.fetchall())

        return catch_up

    def _catch_up(self, since: tuple[int, bytes], rows: list[tuple[Any, ...]],
                  stored: list[tuple[Any, ...]]) -> None:
        """Move the chain's tips and the tree from ``since`` to the head, if ``rows`` (read
        under the lock) are every event after ``since``, each linked to the one before.

        The tree is moved only if the nodes its new leaves complete are exactly the ``stored``
        ones (the other writers wrote them); otherwise it is dropped and reopened as usual.
        """
        if not rows or len(rows) > CATCH_UP_LIMIT:
            return
        position, head = since
        leaves: list[bytes] = []
        for row in rows:
            if row[0] != position + 1 or bytes(row[3]) != head:
                return  # not the chain this writer wrote last: read afresh, as usual
            position, head = row[0], bytes(row[4])
            leaves.append(head)
        ChainWriter._remember(  # the tips only (MerkleWriter's _remember is for own commits)
            self, [(r[0], r[1], r[2], None, None, None, None, None, leaf)
                   for r, leaf in zip(rows, leaves, strict=True)])
        tree, store = self._tree, self._tree_store
        if tree is None or store is None or self._tree_head != since or store.pending:
            return
        tree.extend_hashes(leaves)
        due = sorted(store.pending)
        store.pending = []
        if due == sorted((level, idx, bytes(node)) for level, idx, node in stored):
            self._tree_head = (position, head)
        else:
            self._tree, self._tree_head = None, None


def ledger_info(recorder: Any) -> dict[str, str]:
    """The ``ledger_info`` of the ledger ``recorder`` writes (a PostgreSQL ledger recorder)."""
    if not isinstance(recorder, ChainedPostgresApplicationRecorder):
        raise UnusableLedgerError(
            f"APPLICATION_RECORDER_TOPIC names {type(recorder).__name__}, not a ledger recorder")
    return recorder.ledger_info()
