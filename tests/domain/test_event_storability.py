"""Every event payload survives msgspec encoding typed by its own annotations.

The ledger store encodes each event with msgspec and decodes it with the types that
``typing.get_type_hints`` finds on the event class; this proves that round trip is exact.
"""

from __future__ import annotations

import typing
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from .scenario import declared_event_classes, every_event_scenario

_STORE_SETS = ("originator_id", "originator_version")
_NOT_PAYLOAD = (*_STORE_SETS, "originator_id_type")


def assert_identical(left: Any, right: Any, path: str = "") -> None:
    """Equal values of equal types, all the way down (Decimal digits and time zones too)."""
    assert type(left) is type(right), f"{path}: {type(left)} != {type(right)}"
    if isinstance(left, msgspec.Struct):
        for name in left.__struct_fields__:
            assert_identical(getattr(left, name), getattr(right, name), f"{path}.{name}")
    elif isinstance(left, tuple | list):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_identical(a, b, f"{path}[{i}]")
    elif isinstance(left, dict):
        assert list(left) == list(right), path
        for key in left:
            assert_identical(left[key], right[key], f"{path}[{key!r}]")
    elif isinstance(left, Decimal):
        assert str(left) == str(right), path
    elif isinstance(left, datetime):
        assert left == right and left.utcoffset() == right.utcoffset(), path
    else:
        assert left == right, path


def round_trip(domain_event: object) -> tuple[dict[str, Any], dict[str, Any]]:
    payload = {k: v for k, v in vars(domain_event).items() if k not in _STORE_SETS}
    hints = typing.get_type_hints(type(domain_event))
    struct = msgspec.defstruct(
        "X", [(name, typ) for name, typ in hints.items() if name not in _NOT_PAYLOAD]
    )
    decoded = msgspec.json.decode(msgspec.json.encode(payload), type=struct)
    return payload, msgspec.structs.asdict(decoded)


def test_every_event_class_is_emitted_by_the_scenario() -> None:
    aggregates = every_event_scenario()
    emitted = {type(e) for a in aggregates for e in a.pending_events}
    declared = {cls for a in aggregates for cls in declared_event_classes(type(a))}
    assert declared == emitted
    assert len(declared) == 24


def test_every_event_round_trips_through_msgspec_exactly() -> None:
    seen: set[type] = set()
    for aggregate in every_event_scenario():
        for domain_event in aggregate.collect_events():
            if type(domain_event) in seen:
                continue
            seen.add(type(domain_event))
            payload, back = round_trip(domain_event)
            assert back == payload, type(domain_event).__qualname__
            assert_identical(payload, back, type(domain_event).__qualname__)
    assert len(seen) == 24


def test_event_payloads_contain_no_floats() -> None:
    def walk(value: Any) -> None:
        assert not isinstance(value, float)
        if isinstance(value, msgspec.Struct):
            for name in value.__struct_fields__:
                walk(getattr(value, name))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for aggregate in every_event_scenario():
        for domain_event in aggregate.collect_events():
            walk(vars(domain_event))
