"""Natural-key ids are cached for speed, but the cache never changes an id: parts that are one
dict key yet different JSON (1, 1.0, True) give their own ids in any order of asking."""

from __future__ import annotations

from typing import Any

from creditledger.domain.ids import _id_of, natural_key_id


def test_the_cache_never_gives_one_id_to_parts_that_are_different_json() -> None:
    parts: list[Any] = [1, True, 1.0, "1"]
    for order in (parts, parts[::-1]):
        ids = [natural_key_id("achievement", "x", part) for part in order]
        assert ids == [_id_of(("achievement", "x", part)) for part in order]
        assert len(set(ids)) == len(order)


def test_a_part_that_cannot_be_a_dict_key_still_has_its_id() -> None:
    parts: Any = ("achievement", ["S1", "KJ2103"])
    assert natural_key_id(*parts) == _id_of(parts)
