"""The base of every credit bank aggregate, and the read-only snapshots queries return.

A command of :class:`~creditledger.services.CreditBank` loads aggregates, lets them decide, and
saves their new events in one signed commit. A *query* hands out a :func:`snapshot` instead: a
detached copy whose containers are read-only and whose commands refuse to run
(:class:`~creditledger.errors.ReadOnlySnapshotError`: no event can be triggered on it). So a
school's program can read everything a record says, and can change the ledger only through the
bank's commands, which check who is asking. (Only ``trigger_event`` is guarded: a guard on every
attribute assignment would cost every aggregate, on every event it applies, a Python call.)
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from creditledger.errors import ReadOnlySnapshotError

_SEALED = "_snapshot_of_version"
_OWN = frozenset({"_pending_events"})
_SHARED = frozenset({str, int, float, bool, bytes, type(None), Decimal, UUID, date, datetime})
"""Immutable types whose values a snapshot shares as they are."""

A = TypeVar("A", bound="BankAggregate")


class BankAggregate(Aggregate):
    """An aggregate of the credit bank (an eventsourcing ``Aggregate`` that can be sealed)."""

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """Trigger an event, unless this is a read-only snapshot."""
        _refuse_if_sealed(self, f"trigger {getattr(event_class, '__name__', event_class)}")
        super().trigger_event(event_class, **kwargs)


def snapshot(aggregate: A) -> A:
    """A read-only copy of ``aggregate`` as it is now (what the bank's queries return)."""
    state = {k: _frozen(v) for k, v in vars(aggregate).items() if k not in _OWN}
    state[_SEALED] = aggregate.version
    copied = object.__new__(type(aggregate))
    object.__setattr__(copied, "__dict__", state)
    return copied


def is_snapshot(aggregate: object) -> bool:
    """Whether ``aggregate`` is a read-only snapshot."""
    return _SEALED in getattr(aggregate, "__dict__", {})


def _refuse_if_sealed(aggregate: object, action: str) -> None:
    if _SEALED in aggregate.__dict__:
        raise ReadOnlySnapshotError(
            f"{type(aggregate).__name__} {getattr(aggregate, 'id', '')} is a read-only snapshot "
            f"returned by a query; it cannot {action}. Change the ledger through the "
            "CreditBank's commands, which check who is asking and sign the commit")


def _frozen(value: Any) -> Any:
    """A detached, read-only copy of one attribute's value. Immutable values (strings, numbers,
    dates, UUIDs, enums, frozen structs) are shared; containers become read-only copies; the
    few mutable records (a non-frozen struct, a dataclass) are copied field by field."""
    kind = type(value)
    if kind in _SHARED or isinstance(value, Enum):
        return value
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, msgspec.Struct):
        if value.__struct_config__.frozen:
            return value
        return msgspec.structs.replace(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _frozen(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **fields)
    return value
