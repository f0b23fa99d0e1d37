"""JSON Schema validation of credentials against the schemas their ``credentialSchema`` names
(1EdTech's Open Badges 3.0 schema and creditledger's extension schema; 1EdTech's CLR 2.0 schema
is named but not shipped), every schema from the package (see :mod:`.contexts`).

Each schema is validated with the draft its own ``$schema`` declares (1EdTech's: 2019-09;
creditledger's: draft-07). ``$ref`` resolves only within the shipped schemas: each is registered
under the URL credentials name it by and under its own ``$id`` where that differs (1EdTech's
file names itself ``…-jsonschema1.json``, see ``data/README.md``); nothing is fetched."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as JsonSchemaError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from creditledger.audit.vc.contexts import SCHEMA_TYPE, is_shipped, schema, schema_urls
from creditledger.errors import InvalidCredentialError, OffSchemaCredentialError

FORMATS = frozenset({"date", "date-time"})
"""Formats the shipped schemas use; each must be checked (``date-time`` needs the
``rfc3339-validator`` package, without which jsonschema skips it silently)."""


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


@cache
def _registry() -> Registry[Any]:
    """Every shipped schema, under its manifest URL and under its own ``$id``."""
    registry: Registry[Any] = Registry()  # retrieves nothing: an unknown URI is Unresolvable
    for url in schema_urls():
        definition = schema(url)
        resource: Resource[Any] = Resource.from_contents(definition)
        own = definition.get("$id")
        ids = [url] + ([own.rstrip("#")] if isinstance(own, str) and own.rstrip("#") != url
                       else [])
        registry = registry.with_resources((u, resource) for u in ids)
    return registry.crawl()


@cache
def _validator(url: str) -> Validator:
    definition = schema(url)
    validator_class = validators.validator_for(definition)
    try:
        validator_class.check_schema(definition)
    except SchemaError as e:  # a shipped schema is broken: never the document's fault
        raise RuntimeError(f"the shipped schema {url} is not a valid JSON Schema: {e}") from e
    checker = validator_class.FORMAT_CHECKER
    unchecked = FORMATS - set(checker.checkers)
    if unchecked:
        raise RuntimeError(f"JSON Schema formats {sorted(unchecked)} would not be checked "
                           "(is rfc3339-validator installed?)")
    validator: Validator = validator_class(definition, registry=_registry(),
                                           format_checker=checker)
    return validator


def problems(document: Mapping[str, Any], url: str) -> list[str]:
    """What the schema at ``url`` finds wrong with ``document`` (empty: it is valid)."""
    try:
        found = sorted(_validator(url).iter_errors(dict(document)),
                       key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable as e:  # a $ref the shipped schemas do not hold: the package's fault
        raise RuntimeError(f"the shipped schema {url} refers to {e} which is not shipped") \
            from e
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(document)'}: {_message(e)}"
            for e in found]


def _message(error: JsonSchemaError, limit: int = 200) -> str:
    """jsonschema's message, a long quoted value (a whole proof...) named by its kind."""
    text, quoted = error.message, repr(error.instance)
    if len(text) > limit and text.startswith(quoted):
        value = error.instance
        kind = "an object" if isinstance(value, dict) else "an array" \
            if isinstance(value, list) else "the value"
        text = kind + text[len(quoted):]
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check(document: Mapping[str, Any], required: list[str]) -> tuple[list[str], list[str]]:
    """Validate against every schema the document names that the package ships; each of
    ``required`` must be named. Returns the URLs checked and those named but not shipped
    (1EdTech's CLR 2.0 schema, which could not be obtained); raises
    :class:`OffSchemaCredentialError` for a document a schema finds wrong, naming its first
    problem, and :class:`InvalidCredentialError` for one not naming a required schema."""
    urls = named_schemas(document)
    missing = [u for u in required if u not in urls]
    if missing:
        raise InvalidCredentialError(f"credentialSchema does not name {missing[0]}")
    shipped = [u for u in urls if is_shipped(u)]
    for url in shipped:
        found = problems(document, url)
        if found:
            raise OffSchemaCredentialError(url, found)
    return shipped, [u for u in urls if u not in shipped]
