"""One random change to a JSON document, for the properties that any change is refused."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every leaf and every container of a JSON value."""
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _leaves(v, (*path, i))
    return found


def one_change(value: Any, data: Any) -> Any:
    """``value`` with one change somewhere: a leaf replaced or nudged, an item dropped or
    doubled, a key dropped or added."""
    paths = _leaves(value)
    path = paths[data.draw(st.integers(0, len(paths) - 1))]
    copy = json.loads(json.dumps(value))
    parent, target = copy, copy
    for step in path:
        parent, target = target, target[step]
    if isinstance(target, dict):
        if target and data.draw(st.booleans()):
            del target[data.draw(st.sampled_from(sorted(target)))]
        else:
            target[data.draw(st.text(min_size=1, max_size=8))] = data.draw(st.integers())
        return copy
    if isinstance(target, list):
        if target and data.draw(st.booleans()):
            del target[data.draw(st.integers(0, len(target) - 1))]
        elif target:
            target.append(target[data.draw(st.integers(0, len(target) - 1))])
        else:
            target.append(data.draw(st.text(max_size=4)))
        return copy
    if isinstance(target, bool) or target is None:
        new: Any = data.draw(st.sampled_from([True, False, None, 0, ""]))
    elif isinstance(target, int):
        new = target + data.draw(st.sampled_from([-1, 1, 2**31])) \
            if data.draw(st.booleans()) else data.draw(st.one_of(st.integers(), st.text()))
    elif isinstance(target, str) and target and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(target) - 1))
        new = target[:i] + chr((ord(target[i]) + data.draw(st.integers(1, 5))) % 0x10FFFF
                               or 1) + target[i + 1:]
    else:
        new = data.draw(st.one_of(st.text(max_size=12), st.integers()))
    assume(new != target or type(new) is not type(target))
    if not path:
        return new
    parent[path[-1]] = new
    return copy
