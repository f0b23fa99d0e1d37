"""The JSON-LD contexts and JSON Schemas credentials name, shipped in the package: a verifier
never fetches anything (a context fetched from the network is whatever the network says).

:func:`document_loader` is a pyld document loader over the contexts ``data/manifest.json``
lists (URL to file); a URL it does not hold is refused, so a credential naming another context
cannot be canonicalised, and fails. ``data/README.md`` says where each file comes from, under
which licence, with its SHA-256.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from creditledger.errors import InvalidCredentialError

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR_V2 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
EXTENSION = "https://w3id.org/creditledger/contexts/credentials-v1.jsonld"
"""creditledger's terms for what a credit bank record carries beyond Open Badges: hours, course
type, assessment method, the makeup flag, the alliance, and the ledger a record comes from."""

OB_SCHEMA = ("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
             "ob_v3p0_achievementcredential_schema.json")
"""The URL Open Badges 3.0 names for its AchievementCredential JSON Schema. The package ships
1EdTech's schema under it (``data/README.md``: its own ``$id`` is 1EdTech's build name,
``ob_v3p0_achievementcredential-jsonschema1.json``; both URLs resolve to the one file)."""
CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
EXTENSION_SCHEMA = "https://w3id.org/creditledger/schemas/credentials-v1.json"
SCHEMA_TYPE = "JsonSchema"
"""The W3C VC JSON Schema type (defined by the VC 2.0 context; 1EdTech's own
``1EdTechJsonSchemaValidator2019`` is defined by no context, so it would not survive
canonicalisation)."""



@cache
def _manifest() -> dict[str, dict[str, str]]:
    """``data/manifest.json``: the file of each URL (the Node verifiers in CI read it too)."""
    data = resources.files("creditledger.audit.vc").joinpath("data", "manifest.json")
    manifest: dict[str, dict[str, str]] = json.loads(data.read_bytes())
    return manifest


@cache
def _read(folder: str, name: str) -> Any:
    data = resources.files("creditledger.audit.vc").joinpath("data", folder, name).read_bytes()
    return json.loads(data)


def context(url: str) -> dict[str, Any]:
    """The context document a URL names; :class:`InvalidCredentialError` for one not shipped."""
    name = _manifest()["contexts"].get(url)
    if name is None:
        raise InvalidCredentialError(f"the context {url!r} is not one this verifier knows "
                                     "(it fetches nothing from the network)")
    document: dict[str, Any] = _read("contexts", name)
    return document


def is_shipped(url: str) -> bool:
    """Whether the package ships the schema at ``url``."""
    return url in _manifest()["schemas"]


def schema_urls() -> list[str]:
    """The URLs of every shipped schema (``data/manifest.json``)."""
    return list(_manifest()["schemas"])


def schema(url: str) -> dict[str, Any]:
    """The JSON Schema a URL names; :class:`InvalidCredentialError` for one not shipped."""
    name = _manifest()["schemas"].get(url)
    if name is None:
        raise InvalidCredentialError(f"the schema {url!r} is not one this verifier knows")
    document: dict[str, Any] = _read("schemas", name)
    return document


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """A pyld document loader over the shipped contexts (see :func:`context`)."""
    return {"contextUrl": None, "documentUrl": url, "document": context(url)}
