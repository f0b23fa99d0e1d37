"""The chain itself, shared by every backend: linking, signing and the checks of one commit.

:class:`ChainWriter` is a mixin for an eventsourcing ``ApplicationRecorder``. The backend's
``insert_events`` opens a write transaction that orders commits (SQLite's ``BEGIN IMMEDIATE``,
PostgreSQL's ``LOCK TABLE ... IN EXCLUSIVE MODE``) and calls :meth:`ChainWriter._insert_events`
with a DB-API cursor inside it. Everything here runs in that transaction: it reads the chain's
head, checks that the signer may sign now and that the ledger's write policy lets it write
every event of the commit (:mod:`creditledger.store.permissions`), links each event to its
global and aggregate predecessors, and writes the event rows and the signed commit row. So an
event, its two links and its commit's signature are written together or not at all, and no two
commits can link to the same predecessor.

The statements use ``?`` placeholders (SQLite's); a backend whose driver uses another style
passes a cursor that translates them (see :class:`creditledger.store.postgres_connect.QmarkCursor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from creditledger.crypto.keys import SigningKey
from creditledger.errors import KeyNotValidError, NotAuthorisedError, UnsignedCommitError
from creditledger.store.format import FORMATS, ZERO_HASH, link_hash, now_micros
from creditledger.store.mapper import decode_state
from creditledger.store.permissions import Query, StoredOwners
from creditledger.store.registry import (
    GENESIS_TOPIC,
    REGISTRY_EVENTS,
    REGISTRY_TOPICS,
    KeyBook,
    key_book,
    registry_id,
)
from creditledger.store.topics import TopicKind, classify

APPEND_ONLY = "creditledger: the ledger is append-only"

INSERT_EVENT = (
    "INSERT INTO stored_events (position, originator_id, originator_version, topic, state,"
    " commit_seq, prev_hash, prev_aggregate_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)"
)
INSERT_COMMIT = (
    "INSERT INTO ledger_commits (seq, first_position, event_count, committed_at, key_id,"
    " signature) VALUES (?,?,?,?,?,?)"
)

HEAD_QUERY = (
    "SELECT (SELECT position FROM stored_events ORDER BY position DESC LIMIT 1),"
    " (SELECT hash FROM stored_events ORDER BY position DESC LIMIT 1),"
    " (SELECT seq FROM ledger_commits ORDER BY seq DESC LIMIT 1),"
    " (SELECT committed_at FROM ledger_commits ORDER BY seq DESC LIMIT 1),"
    " (SELECT MAX(originator_version) FROM stored_events WHERE originator_id=?)"
)
"""Everything a commit needs to know before it links: the chain's head, the last commit, and the
key registry's version, read in one statement inside the write transaction."""

SELECT_HASHES_CHUNK = 200
"""Aggregates per statement when reading predecessors' hashes from the database."""
TIPS_MAX = 16_384
"""How many aggregates' last (version, hash) the recorder remembers between its own commits."""


def _id_text(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def _select_hashes_statement(n: int) -> str:
    """Read ``n`` (aggregate, version) hashes. SQLite answers these ORs with one index lookup
    each; a row-value ``IN (VALUES ...)`` would scan the whole table."""
    pairs = " OR ".join("(originator_id=? AND originator_version=?)" for _ in range(n))
    return f"SELECT originator_id, originator_version, hash FROM stored_events WHERE {pairs}"



def notifications_query(
    start: int | None, limit: int, stop: int | None, topics: Sequence[str],
    inclusive_of_start: bool,
) -> tuple[str, list[Any]]:
    """The statement (``?`` placeholders) and parameters of ``select_notifications``: events in
    global order (positions are the notification ids), on either backend."""
    clauses: list[str] = []
    params: list[Any] = []
    if start is not None:
        clauses.append("position>=?" if inclusive_of_start else "position>?")
        params.append(start)
    if stop is not None:
        clauses.append("position<=?")
        params.append(stop)
    if topics:
        clauses.append(f"topic IN ({','.join('?' * len(topics))})")
        params.extend(topics)
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    params.append(limit)
    return ("SELECT position, originator_id, originator_version, topic, state "
            f"FROM stored_events {where}ORDER BY position LIMIT ?"), params

_TOPIC_KINDS: dict[str, TopicKind] = {}


def _topic_kind(topic: str) -> TopicKind:
    kind = _TOPIC_KINDS.get(topic)
    if kind is None:
        kind = _TOPIC_KINDS[topic] = classify(topic)
    return kind


def _query_on(c: DBCursor) -> Query:
    def query(sql: str, params: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        c.execute(sql, params)
        return c.fetchall()
    return query


class DBCursor(Protocol):
    """The part of a DB-API cursor the chain uses (``?`` placeholders)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class ChainWriter:
    """Writes every commit as chained event rows plus one signed commit row (a recorder mixin).

    Between its own commits the writer remembers the last (version, hash) of the aggregates it
    wrote (its *tips*), so that linking a commit costs no query per event. The tips are trusted
    only while the chain's head is the one the writer itself wrote last: the head's hash
    covers every event before it, so any other writer (thread, process, or a failed commit)
    changes the head and the tips are dropped and read again from the database.
    """

    def _init_chain(self) -> None:
        """Set up the writer's caches (call from the recorder's ``__init__``)."""
        self._ledger_id: str | None = None
        self._registry_hex: str | None = None  # registry_id(ledger_id).hex, once known
        self._book: tuple[int, KeyBook] | None = None  # (registry version, key book)
        self._tips: dict[str, tuple[int, bytes]] = {}  # aggregate -> (version, hash)
        self._tips_head: tuple[int, bytes] | None = None  # the head the tips are valid at
        self._owners = StoredOwners()  # aggregates' owners, valid at the same head

    # -- writing ---------------------------------------------------------------------------

    def _insert_events(
        self, c: DBCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        signer = kwargs.get("signer")
        if not isinstance(signer, SigningKey):
            raise UnsignedCommitError("every commit must be signed: pass signer=SigningKey")
        c.execute(HEAD_QUERY, (self._registry_hex,))
        position, head_hash, last_seq, last_at, registry_version = c.fetchone()
        last_position, prev_hash = (position, head_hash) if position is not None else (0, ZERO_HASH)
        if last_seq is None:
            seq, committed_at = 1, now_micros()
        else:
            seq, committed_at = last_seq + 1, max(now_micros(), last_at)
        if self._tips_head != (last_position, prev_hash):
            self._tips.clear()  # another writer (or a failed commit) moved the head
            self._owners.forget()
        self._tips_head = None  # until this commit's rows are written
        book = self._check_signer(
            c, stored_events, signer, committed_at, last_position, registry_version
        )
        self._check_policy(c, book, signer, stored_events, last_position)
        rows = self._link(c, stored_events, seq, last_position, prev_hash)
        key_id = signer.key_id
        statement = book.statement(seq, last_position + 1, committed_at, key_id,
                                   [r[-1] for r in rows])
        c.executemany(INSERT_EVENT, rows)
        c.execute(
            INSERT_COMMIT,
            (seq, last_position + 1, len(rows), committed_at, key_id,
             signer.sign(statement.message())),
        )
        self._remember(rows)
        return [r[0] for r in rows]

    def _remember(self, rows: list[tuple[Any, ...]]) -> None:
        """Keep the tips of this commit's aggregates, valid at the head it writes."""
        tips = self._tips
        for row in rows:
            oid = row[1]
            tips.pop(oid, None)  # re-insert at the end: the dict's order is least recent first
            tips[oid] = (row[2], row[8])
        while len(tips) > TIPS_MAX:
            del tips[next(iter(tips))]
        self._tips_head = (rows[-1][0], rows[-1][8])

    def _link(
        self,
        c: DBCursor,
        stored_events: Sequence[StoredEvent],
        seq: int,
        last_position: int,
        prev_hash: bytes,
    ) -> list[tuple[Any, ...]]:
        """The event rows of one commit, each linked to its global and aggregate predecessor."""
        oids = [_id_text(s.originator_id) for s in stored_events]
        tips = self._tips
        recorded: dict[str, bytes] | None = None  # read from the database when tips fall short
        rows: list[tuple[Any, ...]] = []
        latest: dict[str, tuple[int, bytes]] = {}  # aggregate -> (version, hash) in this commit
        position = last_position
        for s, oid in zip(stored_events, oids, strict=True):
            version = s.originator_version
            in_commit = latest.get(oid)
            if in_commit is not None:
                if in_commit[0] != version - 1:
                    raise IntegrityError(f"aggregate {oid}: version {version} does not follow")
                prev_aggregate = in_commit[1]
            elif version == 1:
                prev_aggregate = ZERO_HASH
            else:
                tip = tips.get(oid)
                if tip is not None and tip[0] == version - 1:
                    prev_aggregate = tip[1]
                else:
                    if recorded is None:
                        recorded = self._recorded_predecessors(c, stored_events, oids)
                    found = recorded.get(oid)
                    if found is None:
                        raise IntegrityError(
                            f"aggregate {oid}: version {version - 1} is not recorded"
                        )
                    prev_aggregate = found
            position += 1
            topic, state = s.topic, s.state
            h = link_hash(
                (position, seq, oid, version, topic, state, prev_hash, prev_aggregate)
            )
            rows.append((position, oid, version, topic, state, seq, prev_hash, prev_aggregate, h))
            latest[oid] = (version, h)
            prev_hash = h
        return rows

    def _recorded_predecessors(
        self, c: DBCursor, stored_events: Sequence[StoredEvent], oids: list[str]
    ) -> dict[str, bytes]:
        """The hash of version ``v - 1`` of each aggregate whose first event here has ``v > 1``.

        From the tips when they have it, else from the database (in a few statements, not one
        per event). Aggregates whose predecessor is not recorded are left out.
        """
        found: dict[str, bytes] = {}
        wanted: dict[str, int] = {}
        seen: set[str] = set()
        tips = self._tips
        for s, oid in zip(stored_events, oids, strict=True):
            if oid in seen:
                continue
            seen.add(oid)
            version = s.originator_version
            if version == 1:
                continue
            tip = tips.get(oid)
            if tip is not None and tip[0] == version - 1:
                found[oid] = tip[1]
            else:
                wanted[oid] = version - 1
        items = list(wanted.items())
        for i in range(0, len(items), SELECT_HASHES_CHUNK):
            chunk = items[i : i + SELECT_HASHES_CHUNK]
            c.execute(_select_hashes_statement(len(chunk)), [x for pair in chunk for x in pair])
            for oid, version, h in c.fetchall():
                if wanted.get(oid) == version:
                    found[oid] = bytes(h)
        return found

    # -- who may sign ----------------------------------------------------------------------

    def _check_signer(
        self,
        c: DBCursor,
        stored_events: Sequence[StoredEvent],
        signer: SigningKey,
        committed_at: int,
        last_position: int,
        registry_version: int | None = None,
    ) -> KeyBook:
        """Refuse the commit unless ``signer``'s key may sign now; return the key registry the
        commit is checked against (its ledger id, format, policy, keys).

        ``registry_version`` is the registry's version as read with the chain's head, or
        ``None`` if it was not (the registry's id was not known yet).
        """
        for s in stored_events:
            if _topic_kind(s.topic) is TopicKind.ALIAS:
                raise KeyNotValidError(f"{s.topic!r} is not the stored name of its event type")
        if stored_events[0].topic == GENESIS_TOPIC:
            return self._check_genesis(c, stored_events, signer, last_position, committed_at)
        ledger_id = self._read_ledger_id(c)
        rid = self._registry_id_hex(ledger_id)
        # Every event of the registry aggregate is a registry event, whatever its topic says.
        registry_events = [s for s in stored_events
                           if s.topic in REGISTRY_TOPICS or _id_text(s.originator_id) == rid]
        if any(s.topic == GENESIS_TOPIC for s in registry_events):
            raise KeyNotValidError("the genesis event must be the ledger's first event")
        book = self._key_book(c, ledger_id, registry_version)
        key_id = signer.key_id
        problem = book.problem(key_id, committed_at)
        if problem is not None:
            raise KeyNotValidError(f"key {key_id} may not sign now: {problem.value}")
        if any(_id_text(s.originator_id) != rid or s.topic not in REGISTRY_TOPICS
               for s in registry_events):
            raise KeyNotValidError("registry events must be events of this ledger's registry, "
                                   "under their own topics")
        if registry_events:
            self._book = None  # the registry changes with this commit: reload next time
        return book

    def _check_genesis(
        self,
        c: DBCursor,
        stored_events: Sequence[StoredEvent],
        signer: SigningKey,
        last_position: int,
        committed_at: int,
    ) -> KeyBook:
        """The genesis commit: the root it names signs it, and it holds only events of the
        registry the genesis starts; it is checked against the key book the genesis alone
        gives (its root and format)."""
        if last_position != 0:
            raise KeyNotValidError("this ledger already has a genesis event")
        book = KeyBook()
        first = stored_events[0]
        book.apply(first.topic, decode_state(first.topic, first.state), committed_at)
        if any(s.originator_id != first.originator_id or s.topic not in REGISTRY_TOPICS
               or s.topic == GENESIS_TOPIC for s in stored_events[1:]):
            raise KeyNotValidError("the genesis commit holds the genesis and further events "
                                   "of the same key registry only")
        if signer.key_id != book.root_key_id:
            raise KeyNotValidError("the genesis commit must be signed by the root key it names")
        if book.format not in FORMATS:
            raise KeyNotValidError(f"the genesis names format {book.format!r}, not one of "
                                   f"{sorted(FORMATS)}")
        c.executemany("INSERT INTO ledger_info (name, value) VALUES (?, ?)",
                      [("format", book.format), ("ledger_id", book.ledger_id)])
        self._book = None
        return book

    def _check_policy(self, c: DBCursor, book: KeyBook, signer: SigningKey,
                      stored_events: Sequence[StoredEvent], last_position: int) -> None:
        """Refuse the commit unless the ledger's write policy lets ``signer`` write every
        event of it (:mod:`creditledger.domain.policy`)."""
        who = book.signer(signer.key_id)
        if who is None:
            raise NotAuthorisedError(f"key {signer.key_id} is registered with no known role")
        rows = [(last_position + i, _id_text(s.originator_id), s.originator_version, s.topic,
                 s.state) for i, s in enumerate(stored_events, start=1)]
        violation = self._owners.check(_query_on(c), book, who, rows)
        if violation is not None:
            self._owners.forget()
            raise NotAuthorisedError(str(violation))

    def _read_ledger_id(self, c: DBCursor) -> str:
        if self._ledger_id is None:
            c.execute("SELECT value FROM ledger_info WHERE name='ledger_id'")
            row = c.fetchone()
            if row is None:
                raise KeyNotValidError("this ledger has no genesis yet: create it first")
            self._ledger_id = str(row[0])
        return self._ledger_id

    def _registry_id_hex(self, ledger_id: str) -> str:
        """The registry's id (hex) of this recorder's ledger (one per database, so cached)."""
        if self._registry_hex is None:
            self._registry_hex = registry_id(ledger_id).hex
        return self._registry_hex

    def _key_book(
        self, c: DBCursor, ledger_id: str, registry_version: int | None = None
    ) -> KeyBook:
        """The key registry as of the chain's head (cached until the registry changes)."""
        rid = self._registry_id_hex(ledger_id)
        if registry_version is None:
            c.execute(
                "SELECT MAX(originator_version) FROM stored_events WHERE originator_id=?", (rid,)
            )
            registry_version = c.fetchone()[0]
        version = registry_version or 0
        if self._book is not None and self._book[0] == version:
            return self._book[1]
        c.execute(REGISTRY_EVENTS, (rid,))
        book = key_book(c.fetchall())
        self._book = (version, book)
        return book
