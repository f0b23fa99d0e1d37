"""What a Data Integrity signature cannot see in a JSON-LD credential, refused by shape.

The signature covers the document's RDF statements, not its JSON: a list that holds one item
twice, or one node (one ``id``) written twice with different properties, says nothing more in
RDF than the document as signed. A document creditledger writes never does either, so either
is a change made after signing, and refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from creditledger.errors import InvalidCredentialError


def no_repeats(document: Mapping[str, Any]) -> None:
    """No list holds one item twice. JSON-LD lists of values are sets: a repeated item says
    nothing more, and the signature (over the RDF statements) cannot see it."""
    for item in _containers(document):
        if isinstance(item, list):
            seen = {_key(v) for v in item}
            if len(seen) != len(item):
                raise InvalidCredentialError("a list holds the same item twice")


def one_description(document: Mapping[str, Any]) -> None:
    """Every node written more than once (the same ``id``) is written the same each time: the
    signature sees the union of the copies, so a copy could lose a statement another still
    makes, unseen."""
    found: dict[str, str] = {}
    for item in _containers(document):
        if isinstance(item, dict) and isinstance(item.get("id"), str) and len(item) > 1:
            text = _key(item)
            if found.setdefault(item["id"], text) != text:
                raise InvalidCredentialError(f"the node {item['id']} is written twice, "
                                             "differently")


def _containers(document: Mapping[str, Any]) -> Iterator[Any]:
    """Every object and list in ``document``, itself first."""
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        yield item
        values = item.values() if isinstance(item, dict) else item
        stack.extend(v for v in values if isinstance(v, dict | list))


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
