"""JSON Canonicalization Scheme (JCS, RFC 8785) for the JSON the credentials use.

Objects, arrays, strings, booleans, null, integers of at most 2**53 - 1, and decimal fractions
such as 2.5 (written as ECMAScript writes them); anything else is refused with
:class:`NotCanonicalError`, never guessed. Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_MAX_SAFE = 2**53 - 1


class NotCanonicalError(ValueError):
    """The value has no JCS form in the subset implemented here."""



def canonical_json(value: Any) -> bytes:
    """The JCS form of ``value``: sorted keys (by UTF-16 code units), no whitespace, UTF-8."""
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE:
            raise NotCanonicalError(f"the integer {value} is too large for JSON (I-JSON)")
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: str(k).encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(f"{_string(_key(k))}:{_jcs(value[k])}" for k in keys) + "}"
    raise NotCanonicalError(f"a {type(value).__name__} cannot be written as JSON")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise NotCanonicalError(f"object keys must be strings, not {key!r}")
    return key


def _number(value: float) -> str:
    """ECMAScript's Number-to-String for the numbers we use; others are refused."""
    if not math.isfinite(value):
        raise NotCanonicalError("NaN and infinities are not JSON numbers")
    if value.is_integer() and abs(value) <= _MAX_SAFE:
        return str(int(value))
    text = repr(value)  # shortest round-trip digits, as ECMAScript chooses them
    if "e" in text or "E" in text:
        raise NotCanonicalError(f"the number {text} is outside the JCS subset implemented")
    return text


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        elif "\ud800" <= ch <= "\udfff":
            raise NotCanonicalError("a string holds a lone surrogate (not valid Unicode)")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
