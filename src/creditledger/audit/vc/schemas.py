"""JSON Schema validation of credentials against the schemas their ``credentialSchema`` names
(1EdTech's Open Badges 3.0 and CLR 2.0 schemas, and creditledger's extension schema), every
schema from the package (see :mod:`.contexts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError

from creditledger.audit.vc.contexts import SCHEMA_TYPE, is_shipped, schema
from creditledger.errors import InvalidCredentialError


def named_schemas(document: Mapping[str, Any]) -> list[str]:
    """The schema URLs a credential names in ``credentialSchema`` (one object or a list)."""
    value = document.get("credentialSchema")
    entries = value if isinstance(value, list) else [] if value is None else [value]
    urls = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != SCHEMA_TYPE \
                or not isinstance(entry.get("id"), str):
            raise InvalidCredentialError(f"credentialSchema entry {entry!r} is not a "
                                         f"{SCHEMA_TYPE} with an id")
        urls.append(entry["id"])
    return urls


def problems(document: Mapping[str, Any], url: str) -> list[str]:
    """What the schema at ``url`` finds wrong with ``document`` (empty: it is valid)."""
    definition = schema(url)
    validator_class = validators.validator_for(definition)
    try:
        validator_class.check_schema(definition)
    except SchemaError as e:  # a shipped schema is broken: never the document's fault
        raise RuntimeError(f"the shipped schema {url} is not a valid JSON Schema: {e}") from e
    validator = validator_class(definition, format_checker=validator_class.FORMAT_CHECKER)
    found = sorted(validator.iter_errors(dict(document)), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}"
            for e in found]


def check(document: Mapping[str, Any], required: list[str]) -> tuple[list[str], list[str]]:
    """Validate against every schema the document names that the package ships; each of
    ``required`` must be named. Returns the URLs checked and those named but not shipped
    (1EdTech's schemas, which no package registry carries); raises
    :class:`InvalidCredentialError` naming the first problem."""
    urls = named_schemas(document)
    missing = [u for u in required if u not in urls]
    if missing:
        raise InvalidCredentialError(f"credentialSchema does not name {missing[0]}")
    shipped = [u for u in urls if is_shipped(u)]
    for url in shipped:
        found = problems(document, url)
        if found:
            raise InvalidCredentialError(f"not valid against {url}: {found[0]}"
                                         + (f" (and {len(found) - 1} more)" if len(found) > 1
                                            else ""))
    return shipped, [u for u in urls if u not in shipped]
