"""What a stored topic names, decided without importing anything a file names.

A stored event names its type by a topic string (``module:Class.Event``). eventsourcing resolves
a topic by importing the module it names: for a topic read from a ledger file, that is an
instruction from whoever wrote the file. Here a topic is only ever *looked up* among the event
and aggregate classes already loaded in this process (the library's own, and any an embedding
program defined), each known by its canonical topic (``get_topic``, which a class that moved
keeps pinned: see :mod:`creditledger.domain.topics`).

A topic is then one of three things (:func:`classify`):

- ``KNOWN``: the canonical topic of a loaded class;
- ``ALIAS``: another path to a loaded class (``creditledger.store.registry:KeyRegistry...``
  instead of the stored ``creditledger.registry:KeyRegistry...``) — never written by the
  library, so always tampering;
- ``FOREIGN``: no loaded class; what the ledger's rules say of it is the caller's decision.
"""

from __future__ import annotations

import sys
import threading
from enum import StrEnum
from typing import Any

from eventsourcing.domain import BaseAggregate, CanMutateAggregate
from eventsourcing.utils import construct_topic


class TopicKind(StrEnum):
    """What a topic names (see the module's documentation)."""

    KNOWN = "known"
    ALIAS = "alias"
    FOREIGN = "foreign"


_lock = threading.Lock()
_classes: dict[str, type] = {}
_seen: set[type] = set()


def known_class(topic: str) -> type | None:
    """The loaded event or aggregate class whose canonical topic is ``topic``, else None."""
    found = _classes.get(topic)
    if found is None:
        _refresh()
        found = _classes.get(topic)
    return found


def classify(topic: str) -> TopicKind:
    """Whether ``topic`` is the canonical topic of a loaded class, an alias of one, or foreign."""
    if known_class(topic) is not None:
        return TopicKind.KNOWN
    return TopicKind.ALIAS if _alias_target(topic) is not None else TopicKind.FOREIGN


def _alias_target(topic: str) -> type | None:
    """The loaded class another path names: only through modules already imported."""
    module_name, _, path = topic.partition(":")
    obj: Any = sys.modules.get(module_name)
    if obj is None or not path:
        return None
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    if isinstance(obj, type) and obj in _seen and construct_topic(obj) != topic:
        return obj
    return None


def _refresh() -> None:
    """Catalogue every loaded event and aggregate class by its canonical topic."""
    with _lock:
        todo: list[type] = [CanMutateAggregate, BaseAggregate]
        visited: set[type] = set()
        while todo:
            subclasses: list[type] = todo.pop().__subclasses__()
            for sub in subclasses:
                if sub in visited:
                    continue
                visited.add(sub)
                todo.append(sub)
                if sub not in _seen:
                    _seen.add(sub)
                    # construct_topic: the canonical topic, without registering anything
                    _classes.setdefault(construct_topic(sub), sub)
