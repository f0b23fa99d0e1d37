"""Reading documents someone hands over: bundles, credentials, consistency proofs, heads.

One strict JSON reader for all of them, so that what the verifier reads is what a signature
covers and what every other verifier reads:

- UTF-8 text, a JSON object at the top;
- no key twice in one object (a parser-differential: some parsers keep the first, most the last);
- no ``NaN`` or ``Infinity`` (not JSON);
- at most :data:`MAX_DEPTH` levels of nesting (a document of 100,000 nested arrays is refused
  as unusable, not a stack overflow in the parser or in the code that walks the value).

:func:`read_document` raises :class:`~creditledger.errors.ValidationError` naming ``what`` and
the problem. :func:`read_typed` reads one of the library's own formats and also requires it to be
written exactly as the library writes it (no key missing or added, canonical base64): any change
to such a document is either refused here or caught by its signatures.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec

from creditledger.errors import UnusableLedgerError, ValidationError

T = TypeVar("T", bound=msgspec.Struct)

MAX_DEPTH = 64
"""The deepest nesting any creditledger document has is under 10 levels."""


def read_document(data: bytes | str, what: str) -> dict[str, Any]:
    """The JSON object in ``data`` (see the module's documentation for what is refused)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise ValidationError(what, f"damaged: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValidationError(what, f"damaged: not JSON ({e.msg} at line {e.lineno}, "
                                    f"column {e.colno})") from None
    except ValueError as e:  # a key twice, or NaN: raised by the hooks below
        raise ValidationError(what, f"damaged: {e}") from None
    except RecursionError:
        raise ValidationError(what, f"nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(value, dict):
        raise ValidationError(what, "the JSON is not an object")
    _check_depth(value, what)
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_depth(value: Any, what: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, without recursing."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationError(what, f"nested more than {MAX_DEPTH} levels deep")
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def read_typed(data: bytes, cls: type[T], what: str,
               document_format: str | tuple[str, ...]) -> T:
    """A document of the library's format ``document_format`` as a ``cls`` (a msgspec Struct
    with a ``format`` field); :class:`~creditledger.errors.UnusableLedgerError` if it is not
    exactly one, as the library writes it."""
    try:
        value = read_document(data, what)
    except ValidationError as e:
        raise UnusableLedgerError(str(e)) from None
    formats = (document_format,) if isinstance(document_format, str) else document_format
    if value.get("format") not in formats:
        raise UnusableLedgerError(f"{what}: not a {' or '.join(formats)} document "
                                  f"(format {value.get('format')!r})")
    try:
        parsed = msgspec.json.decode(data, type=cls)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise UnusableLedgerError(f"{what}: malformed ({e})") from None
    if msgspec.json.decode(msgspec.json.encode(parsed)) != value:
        raise UnusableLedgerError(f"{what}: not written as creditledger writes it (a field "
                                  "missing or added, or bytes not in canonical base64)")
    return parsed
