"""The write policy, applied to stored rows: for the writer before it signs a commit, and for
the verifier as it replays one (see :mod:`creditledger.domain.policy`).

Both read the same things from the same tables: a commit's events decoded as plain JSON, and
the owners of the aggregates they touch, folded from the aggregates' earlier owner-naming events
(:class:`StoredOwners`, with a bounded cache). So a commit the writer refused is exactly one the
verifier reports.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import msgspec

from creditledger.domain.policy import (
    OWNER_TOPICS,
    CommitEvent,
    Owners,
    Role,
    Signer,
    Violation,
    check_commit,
    fold,
)
from creditledger.domain.policy.rules import RULES
from creditledger.store.registry import KeyBook

OWNERS_CACHED = 65_536
"""Aggregates whose owners are kept in memory between commits."""

_OWNER_TOPICS = sorted(OWNER_TOPICS)
_OWNER_EVENTS = (
    "SELECT e.topic, e.state, c.key_id FROM stored_events e"
    " JOIN ledger_commits c ON c.seq = e.commit_seq"
    " WHERE e.originator_id=? AND e.position<? AND e.topic IN"
    f" ({','.join('?' * len(_OWNER_TOPICS))}) ORDER BY e.originator_version")

_PREFETCH_CHUNK = 500
"""Aggregates per statement of :meth:`StoredOwners._prefetch`."""


@cache
def _owner_events_of(n: int) -> str:
    """:data:`_OWNER_EVENTS` for ``n`` aggregates at once, each one's in version order."""
    return ("SELECT e.originator_id, e.topic, e.state, c.key_id FROM stored_events e"
            " JOIN ledger_commits c ON c.seq = e.commit_seq"
            f" WHERE e.originator_id IN ({','.join('?' * n)}) AND e.position<? AND e.topic IN"
            f" ({','.join('?' * len(_OWNER_TOPICS))})"
            " ORDER BY e.originator_id, e.originator_version")


def decoded(state: Any) -> dict[str, Any] | None:
    """A stored state as plain JSON values; None if it is not a JSON object (compressed or
    encrypted by a ledger-wide cipher, or damaged)."""
    if type(state) is memoryview:
        state = bytes(state)
    if type(state) is not bytes:
        return None
    try:
        value = msgspec.json.decode(state)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


EventRow = tuple[int, str, int, str, Any]
"""An event as the policy reads it from a commit: (position, aggregate, version, topic, state)."""


def commit_events(rows: Sequence[EventRow], policy: str) -> list[CommitEvent] | None:
    """The policy's view of a commit's events; None if the policy cannot read them (a ledger
    from before the policy whose events are encrypted: it is not replayed). Only the states
    of event types the rules name are read: no rule reads another's."""
    events = []
    for position, aggregate, version, topic, state in rows:
        if topic not in RULES:
            events.append(CommitEvent(position, aggregate, version, topic, _NOTHING))
            continue
        value = decoded(state)
        if value is None:
            if policy == "":
                return None
            value = {}
        events.append(CommitEvent(position, aggregate, version, topic, value))
    return events


_NOTHING: dict[str, Any] = {}

Query = Callable[[str, tuple[Any, ...]], Sequence[Sequence[Any]]]
"""Runs a ``?`` statement and returns its rows (a cursor's ``execute`` then ``fetchall``)."""


class StoredOwners:
    """The owners of aggregates as the ledger's rows give them, for the commit about to be
    checked.

    Owners are read from the rows before the commit's first position and cached (least
    recently used first out); a commit that passes leaves in the cache the owners as it leaves
    them. Whoever moves the ledger's head without :meth:`check` (another writer, a commit that
    failed after its check) must call :meth:`forget`.
    """

    def __init__(self, cached: int = OWNERS_CACHED) -> None:
        self.cached = cached
        self.cache: OrderedDict[str, Owners | None] = OrderedDict()

    def check(self, query: Query, book: KeyBook, signer: Signer,
              rows: Sequence[EventRow]) -> Violation | None:
        """The first event of a commit ``signer`` may not write, else None (``book``: the key
        registry as of the commit)."""
        if book.policy == "" and not any(row[3] in RULES for row in rows):
            return None  # no rule of a ledger without a declared policy names these types
        events = commit_events(rows, book.policy)
        if events is None:
            self.forget()  # its events may name owners the cache does not know of
            return None
        after: dict[str, Owners | None] = {}
        self._prefetch(query, book, [e.aggregate for e in events if e.topic in OWNER_TOPICS],
                       events[0].position)
        lookup = _Lookup(self, query, book, events[0].position)
        violation = check_commit(book.policy, signer, events, lookup, after)
        if violation is None:
            for aggregate, owners in after.items():
                self._keep(aggregate, owners)
        return violation

    def forget(self) -> None:
        """Drop the cache (the head moved other than by a checked commit)."""
        self.cache.clear()

    def read(self, query: Query, book: KeyBook, aggregate: str, before: int) -> Owners | None:
        """The aggregate's owners folded from its events before position ``before``."""
        cached = self.cache.get(aggregate, _MISSING)
        if cached is not _MISSING:
            self.cache.move_to_end(aggregate)
            return cached  # type: ignore[return-value]
        owners: Owners | None = None
        for topic, state, key_id in query(_OWNER_EVENTS, (aggregate, before, *_OWNER_TOPICS)):
            value = decoded(state)
            if value is None or key_id not in book.records:
                continue
            owners = fold(topic, value, book.principal(key_id), owners)
        self._keep(aggregate, owners)
        return owners

    def _prefetch(self, query: Query, book: KeyBook, aggregates: list[str],
                  before: int) -> None:
        """Read the owners of ``aggregates`` (the commit's owner-naming events', which the
        check reads for certain) in a few statements rather than one each: the same events
        folded in the same order as :meth:`read` folds them, kept in the cache as it keeps
        them. (A commit of 2,000 new achievements asked 2,000 times for none.)"""
        wanted = [a for a in dict.fromkeys(aggregates) if a not in self.cache]
        for start in range(0, len(wanted), _PREFETCH_CHUNK):
            chunk = wanted[start:start + _PREFETCH_CHUNK]
            found: dict[str, list[tuple[str, Any, str]]] = {}
            for aggregate, topic, state, key_id in query(_owner_events_of(len(chunk)),
                                                         (*chunk, before, *_OWNER_TOPICS)):
                found.setdefault(aggregate, []).append((topic, state, key_id))
            for aggregate in chunk:
                owners: Owners | None = None
                for topic, state, key_id in found.get(aggregate, ()):
                    value = decoded(state)
                    if value is None or key_id not in book.records:
                        continue
                    owners = fold(topic, value, book.principal(key_id), owners)
                self._keep(aggregate, owners)

    def _keep(self, aggregate: str, owners: Owners | None) -> None:
        self.cache[aggregate] = owners
        self.cache.move_to_end(aggregate)
        if len(self.cache) > self.cached:
            self.cache.popitem(last=False)


_MISSING = object()


class _Lookup:
    def __init__(self, owners: StoredOwners, query: Query, book: KeyBook, before: int) -> None:
        self._owners, self._query, self._book, self._before = owners, query, book, before

    def owners(self, aggregate: str) -> Owners | None:
        return self._owners.read(self._query, self._book, aggregate, self._before)

    def key(self, key_id: str) -> tuple[str, Role] | None:
        return self._book.key(key_id)
