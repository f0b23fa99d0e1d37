"""Keeping read models: exactly-once, resumable, rebuildable, following a SQLite or PostgreSQL
ledger.

:class:`Projector` reads the ledger's notification log (``select_notifications``, in position
order) and applies each batch of events to the read models in the views database *together with*
each projection's tracking position, in one SQLite transaction. A crash between two batches loses
nothing and applies nothing twice: on restart each projection resumes after the last position it
committed, and an event at or below that position is skipped.

:meth:`Projector.follow` keeps the views up to date as the ledger grows. On a PostgreSQL ledger
it waits on ``LISTEN`` for the ``NOTIFY`` every commit sends (on the recorder's
``channel_name``) and catches up when one arrives. eventsourcing's ``PostgresSubscription``
listens the same way, but hands out one notification at a time from an iterator whose
``__next__`` blocks without a timeout; the projector needs to apply whatever has arrived as one
batch with its tracking rows, and to stop when told, so it keeps its own catch-up and only
borrows the mechanism. SQLite has no notifications (and eventsourcing's SQLite recorder no
``subscribe``), so on SQLite :meth:`~Projector.follow` polls.

The views database is a separate SQLite file (by default beside the ledger, ``*.views.db``),
written with sqlite-utils, also for a ledger on PostgreSQL. It holds no truth of its own:
:meth:`Projector.rebuild` drops a projection's tables and replays the ledger.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import sqlite_utils
from eventsourcing.persistence import ApplicationRecorder

from creditledger.errors import ProjectionTimeout
from creditledger.store.chain import notifications_query
from creditledger.store.mapper import decode_state

TRACKING_TABLE = "_projection_tracking"
BATCH_SIZE = 10_000
"""Events per transaction of the views database (and per tracking update)."""
READ_SIZE = 100
"""Events decoded and applied at a time within a transaction."""
FETCH_SIZE = 1_000
"""Events read from the ledger at a time (as raw rows, which the garbage collector ignores)."""
VIEWS_CACHE_KIB = 131_072
"""Page cache of the views connection (KiB; SQLite allocates it as pages are used)."""
VIEWS_CHECKPOINT_PAGES = 16_384
"""Pages in the views' write-ahead log before it is checkpointed (SQLite's default: 1000)."""
STOP_CHECK = 0.1
"""Seconds between two looks at a :meth:`Projector.follow` stop condition given as a callable
(a ``threading.Event`` is seen at once on SQLite; on PostgreSQL every wait is this long at most)."""


@dataclass(frozen=True)
class Change:
    """One event as projections see it: its position in the signed chain and its decoded state."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: dict[str, Any]


class Projection(Protocol):
    """A read model: tables it owns, and how a batch of events changes them."""

    name: str
    version: int  # bump to force a rebuild when the tables' shape changes
    topics: frozenset[str]
    tables: tuple[str, ...]

    def create(self, db: sqlite_utils.Database) -> None:
        """Create the projection's tables and indexes (idempotent)."""

    def apply(self, db: sqlite_utils.Database, changes: Sequence[Change]) -> None:
        """Apply events (all of this projection's topics, in position order)."""




def views_path_for(ledger_path: str | Path) -> Path:
    """The default views database of a ledger: ``NAME.views.db`` beside ``NAME.ledger``."""
    p = Path(ledger_path)
    return p.with_name(p.stem + ".views.db")


class Projector:
    """Follows a ledger's notification log and keeps a set of projections up to date."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        views: str | Path | sqlite_utils.Database,
        projections: Iterable[Projection],
        *,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.recorder = recorder
        self.db = views if isinstance(views, sqlite_utils.Database) else _open_views(views)
        self.projections = list(projections)
        self.batch_size = batch_size
        self._wanted_topics = self._wanted()
        # our recorders answer plain statements (raw rows); ids are stored as UUID hex text
        self._query: Callable[[str, Sequence[Any]], list[Any]] | None = getattr(
            recorder, "query", None)
        self._normalise_ids = getattr(getattr(recorder, "datastore", None),
                                      "originator_id_type", "uuid") == "uuid"
        self._prepare()

    def _prepare(self) -> None:
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} "
            "(name TEXT PRIMARY KEY, version INTEGER NOT NULL, position INTEGER NOT NULL)"
        )
        for projection in self.projections:
            row = self._tracking_row(projection.name)
            if row is not None and row[0] != projection.version:
                self._drop(projection)  # the shape changed: rebuild from the log
            with self.db.atomic():
                projection.create(self.db)
                self.db.execute(
                    f"INSERT OR IGNORE INTO {TRACKING_TABLE} (name, version, position) "
                    "VALUES (?, ?, 0)", [projection.name, projection.version],
                )

    def _tracking_row(self, name: str) -> tuple[int, int] | None:
        row = self.db.execute(
            f"SELECT version, position FROM {TRACKING_TABLE} WHERE name=?", [name]
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def position(self, name: str | None = None) -> int:
        """The position up to which ``name`` (default: every projection) has applied the log."""
        names = [name] if name else [p.name for p in self.projections]
        rows = [self._tracking_row(n) for n in names]
        return min((r[1] for r in rows if r is not None), default=0)

    # -- catching up -----------------------------------------------------------------------

    def catch_up(self, *, limit: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> int:
        """Apply every event recorded after the projections' positions; return how many."""
        applied = 0
        head = self.recorder.max_notification_id() or 0
        topics = sorted(self._wanted())
        while limit is None or applied < limit:
            start = self.position() + 1
            if start > head:
                break
            covered = self._apply_range(start, min(head, start - 1 + self.batch_size), topics)
            applied += covered - start + 1
            if progress:
                progress(covered, head)
        return applied

    def _apply_range(self, start: int, stop: int, topics: Sequence[str]) -> int:
        """Apply the events at positions ``start..stop`` and move every projection to ``stop``,
        all in one transaction; return ``stop``.

        The events are read, decoded and applied :data:`READ_SIZE` at a time, so that few of
        them are alive at once (the garbage collector then has little to scan), while the
        transaction, and its commit, covers the whole range. Only the topics some projection
        wants are read (and decoded); the others are skipped, and tracked as applied, as if
        read and ignored.
        """
        read_size = min(READ_SIZE, self.batch_size)
        fetch = max(read_size, min(FETCH_SIZE, self.batch_size))
        with self.db.atomic():
            done = self._positions()
            position = start
            while position <= stop:
                rows = self._rows(position, fetch, stop, topics)
                # the raw rows (ints, str, bytes) cost the garbage collector nothing; decoded
                # events do, so they are made READ_SIZE at a time
                for i in range(0, len(rows), read_size):
                    self._apply_changes(self._changes_of(rows[i:i + read_size]), done)
                position = rows[-1][0] + 1 if len(rows) >= fetch else stop + 1
            self._track(stop, done)
        return stop

    def _rows(self, start: int, limit: int, stop: int, topics: Sequence[str]) -> list[Any]:
        """Up to ``limit`` events from ``start`` as raw rows ``(position, originator_id as hex
        text, originator_version, topic, state)``.

        Our recorders (SQLite and PostgreSQL) answer the notifications query as plain tuples
        through ``query``, without building a ``Notification`` and a ``UUID`` per event (a
        quarter of the catch-up's time); any other recorder is read through
        ``select_notifications``, and its notifications turned into the same rows."""
        if self._query is None:
            return _notification_rows(self.recorder.select_notifications(
                start, limit, stop=stop, topics=topics))
        statement, params = notifications_query(start, limit, stop, topics, True)
        rows = self._query(statement, params)
        if self._normalise_ids:
            rows = [r if len(r[1]) == 32 and r[1] == r[1].lower() else
                    (r[0], UUID(r[1]).hex, *r[2:]) for r in rows]
        return rows

    def _wanted(self) -> frozenset[str]:
        return frozenset().union(*(p.topics for p in self.projections))

    def _changes(self, batch: Sequence[Any]) -> list[Change]:
        """The changes of ``batch`` (notifications, in position order)."""
        return self._changes_of(_notification_rows(batch))

    def _changes_of(self, rows: Sequence[Any]) -> list[Change]:
        """The changes of raw rows (see :meth:`_rows`) whose topic some projection wants."""
        wanted = self._wanted_topics
        changes = []
        for position, originator_id, version, topic, state in rows:
            if topic in wanted:
                # Change(...) without the frozen dataclass's __init__ (five object.__setattr__
                # calls): the same instance dict, built at once, as persistence.py builds events.
                change = _new(Change)
                _set(change, "__dict__", {
                    "position": position, "originator_id": originator_id,
                    "originator_version": version, "topic": topic,
                    "state": decode_state(topic, state)})
                changes.append(change)
        return changes

    def _positions(self) -> dict[str, int]:
        return dict(self.db.execute(f"SELECT name, position FROM {TRACKING_TABLE}").fetchall())

    def _apply_changes(self, changes: Sequence[Change], done: dict[str, int]) -> None:
        present = {c.topic for c in changes}
        for projection in self.projections:
            topics = projection.topics
            if topics.isdisjoint(present):
                continue
            after = done.get(projection.name, 0)
            mine = [c for c in changes if c.position > after and c.topic in topics]
            if mine:
                projection.apply(self.db, mine)

    def _track(self, last: int, done: dict[str, int]) -> None:
        for projection in self.projections:
            if last > done.get(projection.name, 0):
                self.db.execute(f"UPDATE {TRACKING_TABLE} SET position=? WHERE name=?",
                                [last, projection.name])

    def _apply_batch(self, batch: Sequence[Any]) -> None:
        """Apply ``batch`` (notifications in position order) and move every projection to its
        last position, all in one transaction."""
        if not batch:
            return
        changes = self._changes(batch)
        with self.db.atomic():
            done = self._positions()
            self._apply_changes(changes, done)
            self._track(batch[-1].id, done)

    def wait_for(self, position: int, *, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Read-your-writes: return once every projection has applied ``position``."""
        deadline = time.monotonic() + timeout
        while self.position() < position:
            self.catch_up()
            if self.position() >= position:
                return
            if time.monotonic() > deadline:
                raise ProjectionTimeout(
                    f"projections reached {self.position()}, not {position}, in {timeout}s")
            time.sleep(poll)

    def follow(
        self,
        stop: threading.Event | Callable[[], bool] | None = None,
        *,
        timeout: float | None = None,
        poll: float = 0.5,
    ) -> int:
        """Keep the projections up to date as the ledger grows; return how many events applied.

        Runs until ``stop`` is set (a ``threading.Event``) or returns true (a callable), or
        until ``timeout`` seconds have passed (``None``: no limit). It catches up at once, then
        each time the ledger grows:

        - on a PostgreSQL ledger it waits on ``LISTEN`` for the ``NOTIFY`` every commit sends,
          so new events are applied as soon as they are committed, however long ``poll`` is;
          ``poll`` is then only how long it waits, without a notification, before it catches up
          anyway;
        - on SQLite, which has no notifications, it catches up every ``poll`` seconds.

        Each catch-up is exactly-once (see :meth:`catch_up`), so following can be stopped and
        started again at will. A PostgreSQL server that goes away raises
        :class:`~creditledger.errors.LedgerUnavailableError`; call ``follow`` again once it is
        back.
        """
        stopped = _stop_condition(stop)
        deadline = None if timeout is None else time.monotonic() + timeout
        applied = 0
        with self._wake_ups() as wait:
            while True:
                applied += self.catch_up()
                if stopped():
                    return applied
                pause = poll
                if deadline is not None:
                    pause = min(pause, deadline - time.monotonic())
                    if pause <= 0:
                        return applied
                wait(pause, stop, stopped)

    @contextmanager
    def _wake_ups(self) -> Iterator[_Wait]:
        """How :meth:`follow` waits for the ledger to grow: LISTEN on PostgreSQL, else a sleep.

        ``LISTEN`` is issued before the first catch-up, so no commit falls between the two.
        """
        if not _on_postgres(self.recorder):
            yield _sleep
            return
        with _listening(self.recorder) as wait:
            yield wait

    # -- rebuilding ------------------------------------------------------------------------

    def rebuild(self, name: str | None = None) -> int:
        """Drop a projection's tables (default: all) and replay the whole ledger into them."""
        for projection in self.projections:
            if name is None or projection.name == name:
                self._drop(projection)
        self._prepare()
        return self.catch_up()

    def _drop(self, projection: Projection) -> None:
        with self.db.atomic():
            for table in projection.tables:
                self.db.execute(f"DROP TABLE IF EXISTS [{table}]")
            self.db.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name=?", [projection.name])

    def close(self) -> None:
        self.db.close()


_Wait = Callable[[float, "threading.Event | Callable[[], bool] | None", Callable[[], bool]], None]
"""Wait up to the given seconds for the ledger to grow, or until the follow is stopped."""


def _stop_condition(stop: threading.Event | Callable[[], bool] | None) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def _on_postgres(recorder: ApplicationRecorder) -> bool:
    try:
        from eventsourcing.postgres import PostgresApplicationRecorder
    except ImportError:  # no psycopg, so no PostgreSQL ledger either
        return False
    return isinstance(recorder, PostgresApplicationRecorder)


def _sleep(seconds: float, stop: threading.Event | Callable[[], bool] | None,
           stopped: Callable[[], bool]) -> None:
    """SQLite: nothing announces a commit, so wait ``seconds`` (less if stopped meanwhile)."""
    if isinstance(stop, threading.Event):
        stop.wait(seconds)
        return
    deadline = time.monotonic() + seconds
    while not stopped():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(STOP_CHECK, left))


@contextmanager
def _listening(recorder: Any) -> Iterator[_Wait]:
    """PostgreSQL: ``LISTEN`` on the recorder's channel on one of its datastore's connections
    (held, and released with ``UNLISTEN``, for the duration of the follow)."""
    import psycopg
    from psycopg.sql import SQL, Identifier

    from creditledger.store.postgres_connect import unavailable_as_error

    with unavailable_as_error("following the ledger"), \
            recorder.datastore.get_connection() as conn:
        conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))

        def wait(seconds: float, stop: threading.Event | Callable[[], bool] | None,
                 stopped: Callable[[], bool]) -> None:
            deadline = time.monotonic() + seconds
            with unavailable_as_error("following the ledger"):
                while not stopped():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    # (each generator is run to its end: while open it holds the connection)
                    if list(conn.notifies(timeout=min(STOP_CHECK, left), stop_after=1)):
                        # one catch-up covers every commit announced so far: drop the others
                        list(conn.notifies(timeout=0))
                        return

        try:
            yield wait
        finally:
            if not conn.closed:
                with contextlib.suppress(psycopg.Error):  # a broken one is discarded anyway
                    conn.execute("UNLISTEN *")  # the connection goes back to the pool


def _open_views(path: str | Path) -> sqlite_utils.Database:
    db = sqlite_utils.Database(str(path))
    db.execute("PRAGMA journal_mode=WAL")
    db.conn.execute("PRAGMA busy_timeout=30000")
    # The views are derived data, rebuilt from the ledger at will, so they trade durability for
    # speed: in WAL mode, synchronous=NORMAL syncs at checkpoints, not at every commit (a power
    # cut may lose the last commits, rows and tracking positions together, which the next
    # catch-up applies again: still exactly once). A larger page cache keeps the indexes that
    # random ids land in (achievement ids, say) in memory, and fewer, larger checkpoints write
    # each page once for many commits.
    db.conn.execute("PRAGMA synchronous=NORMAL")
    db.conn.execute(f"PRAGMA cache_size=-{VIEWS_CACHE_KIB}")
    db.conn.execute(f"PRAGMA wal_autocheckpoint={VIEWS_CHECKPOINT_PAGES}")
    return db


_new = object.__new__
_set = object.__setattr__


def _notification_rows(batch: Sequence[Any]) -> list[tuple[int, str, int, str, bytes]]:
    """Notifications as the raw rows the projector applies."""
    return [(n.id, _hex(n.originator_id), n.originator_version, n.topic, n.state)
            for n in batch]


def _hex(originator_id: Any) -> str:
    return originator_id.hex if type(originator_id) is UUID else (
        originator_id.hex if hasattr(originator_id, "hex") else str(originator_id))
