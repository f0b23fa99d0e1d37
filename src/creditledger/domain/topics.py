"""The names under which events are stored (topics), kept fixed when the code moves.

eventsourcing names a stored event by where its class lives (``module:Class.Event``), and the
name is part of what every event's hash covers. A class that moves to another module therefore
keeps the topic it was first stored under: :func:`stored_as` pins an aggregate's topic and those
of its events with eventsourcing's own seam for explicit topics (a ``TOPIC`` class attribute,
registered so that the old name resolves to the class). Moving code never changes a ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import register_topic

T = TypeVar("T", bound=type)


def stored_as(module: str) -> Callable[[T], T]:
    """Class decorator: store the aggregate and its events as if defined in ``module``."""

    def pin(cls: T) -> T:
        events: list[type] = [v for v in vars(cls).values()
                              if isinstance(v, type) and issubclass(v, CanMutateAggregate)]
        classes: list[type] = [cls, *events]
        for obj in classes:
            topic = f"{module}:{obj.__qualname__}"
            type.__setattr__(obj, "TOPIC", topic)  # read by eventsourcing's construct_topic
            register_topic(topic, obj)
        return cls

    return pin
