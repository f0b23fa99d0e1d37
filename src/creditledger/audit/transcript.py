"""Checking a learner's record exported as a CLR 2.0 ``ClrCredential``
(:mod:`creditledger.audit.vc.clr`), check by named check, offline.

:func:`verify_clr` checks the CLR's shape and schemas, its proof and the issuer binding (the
issuer is the did:key of the key that signed), and then every credential in it: its proof, that
its issuer is the CLR's and signed with the same key, its schemas, that it names the CLR's
learner, and that the lineage of converted credits names achievements the CLR holds. Who the
key belongs to needs the ledger or the school's key (``school_key``); without one, the report
says the CLR is intact, not by whom it was issued (``anchored``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from creditledger.audit.credential import Check
from creditledger.audit.vc import clr, schemas
from creditledger.audit.vc.integrity import RDFC, verify_proof
from creditledger.audit.vc.shape import no_repeats, one_description
from creditledger.crypto.did import did_key
from creditledger.crypto.keys import PublicKey
from creditledger.errors import InvalidCredentialError

Document = Mapping[str, Any]


class TranscriptEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One credential of the CLR: its id, name, achievement type and credits."""

    credential_id: str
    name: str
    achievement_type: str
    credits: Decimal


class VerifiedTranscript(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid CLR says, and how far it was checked (``checks``, by name)."""

    transcript_id: UUID
    name: str
    issuer: str
    school: str
    key_id: str
    identity_hash: str
    entries: tuple[TranscriptEntry, ...]
    anchored: bool
    checks: tuple[Check, ...] = ()


class _Checks:
    """The checks of one verification: a failure is raised naming its check."""

    def __init__(self) -> None:
        self.done: list[Check] = []

    def run(self, name: str, step: Callable[[], Any], result: Callable[[Any], str]) -> Any:
        try:
            value = step()
        except InvalidCredentialError as e:
            raise e.within(name) from None
        self.done.append(Check(name, result(value)))
        return value


def verify_clr(document: Document, *, school_key: PublicKey | None = None
               ) -> VerifiedTranscript:
    """Check a CLR exported by :meth:`CreditBank.export_clr`; raise
    :class:`InvalidCredentialError` naming the check that failed. With ``school_key`` the CLR
    must be signed with that key (``anchored``); without, the embedded did:key is taken."""
    checks = _Checks()
    transcript_id, credentials = checks.run(
        "shape", lambda: _shape(document),
        lambda found: f"a CLR 2.0 ClrCredential of {len(found[1])} OpenBadgeCredentials; no "
                      "list repeats an item, no node is written twice differently")
    checks.run("schema", lambda: schemas.check(document, [clr.SCHEMAS[0]]), _schema_result)
    key = checks.run("proof by the issuer", lambda: _verify(document), _verified)
    checks.run("issuer binding", lambda: _bound(document, key),
               lambda issuer: f"the issuer {issuer} is the did:key of the proof's key")
    checks.run("key", lambda: _anchored(key, school_key),
               lambda _: f"{key.key_id}: the given school key" if school_key else
               f"{key.key_id}: NOT anchored (the document's own did:key; give the school's key "
               "to know who issued it)")
    _check_credentials(checks, document, credentials, key)
    return _summary(document, transcript_id, credentials, key, school_key is not None,
                    tuple(checks.done))


def _check_credentials(checks: _Checks, document: Document,
                       credentials: Sequence[Document], key: PublicKey) -> None:
    keys = checks.run("credentials: proofs",
                      lambda: [_verify(c, f"credential {c.get('id')}") for c in credentials],
                      lambda found: f"the {RDFC} signatures of all {len(found)} credentials "
                                    "verify")
    checks.run("credentials: issuer", lambda: _same_issuer(document, credentials, keys, key),
               lambda _: "every credential is issued by the CLR's issuer, with its key")
    checks.run("credentials: schemas", lambda: _credential_schemas(credentials),
               _schema_result)
    checks.run("credentials: learner", lambda: _same_learner(document, credentials),
               lambda _: "every credential names the CLR's learner")
    checks.run("lineage", lambda: _lineage(credentials),
               lambda n: f"the {n} sources of converted credits are achievements in the CLR")


# -- shape ----------------------------------------------------------------------------------


def _shape(document: Document) -> tuple[UUID, list[Document]]:
    context = document.get("@context")
    if not isinstance(context, list) or context[:3] != clr.CONTEXT:
        raise InvalidCredentialError(f"@context must start {clr.CONTEXT}")
    if document.get("type") != clr.TYPE:
        raise InvalidCredentialError(f"not a ClrCredential: type must be {clr.TYPE}")
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != ["ClrSubject"]:
        raise InvalidCredentialError("credentialSubject must be a ClrSubject")
    if not isinstance(document.get("issuer"), dict):
        raise InvalidCredentialError("the issuer must be a Profile")
    found = subject.get("verifiableCredential")
    if not isinstance(found, list) or not found or not all(
            isinstance(c, dict) and c.get("type") == clr.CREDENTIAL_TYPE
            and isinstance(c.get("credentialSubject"), dict)
            and isinstance(c["credentialSubject"].get("achievement"), dict) for c in found):
        raise InvalidCredentialError("verifiableCredential must list OpenBadgeCredentials (one "
                                     "at least), each of one achievement")
    no_repeats(document)
    one_description(document)
    return _urn(document.get("id"), "the CLR's id"), found


def _urn(value: object, what: str) -> UUID:
    try:
        if not isinstance(value, str) or not value.startswith("urn:uuid:"):
            raise ValueError
        return UUID(value.removeprefix("urn:uuid:"))
    except ValueError:
        raise InvalidCredentialError(f"{what} {value!r} is not a urn:uuid") from None


# -- proofs ---------------------------------------------------------------------------------


def _verify(document: Document, what: str | None = None) -> PublicKey:
    """The key of a document's one ``eddsa-rdfc-2022`` proof, which must verify (``what``
    names an embedded credential in a message)."""
    prefix = f"{what}: " if what else ""
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:  # a proof set of one, as OB 3.0 writes it
        (proof,) = proof
    if not isinstance(proof, dict):
        raise InvalidCredentialError(f"{prefix}no proof (one {RDFC} proof expected)")
    if proof.get("cryptosuite") != RDFC:
        raise InvalidCredentialError(f"{prefix}the proof's cryptosuite is "
                                     f"{proof.get('cryptosuite')!r}, not {RDFC}")
    try:
        return verify_proof({k: v for k, v in document.items() if k != "proof"}, proof)
    except InvalidCredentialError as e:
        raise InvalidCredentialError(f"{prefix}{e.reason}") from None


def _verified(key: PublicKey) -> str:
    return f"{RDFC} signature by {key.key_id} verifies"


def _bound(document: Document, key: PublicKey) -> str:
    issuer = document["issuer"].get("id")
    if issuer != did_key(key):
        raise InvalidCredentialError(f"the issuer {issuer!r} is not the did:key of the key that "
                                     "signed the CLR")
    return str(issuer)


def _anchored(key: PublicKey, school_key: PublicKey | None) -> None:
    if school_key is not None and key != school_key:
        raise InvalidCredentialError(f"the CLR was signed with {key.key_id}, not with the given "
                                     f"school key {school_key.key_id}")


# -- the credentials ------------------------------------------------------------------------


def _same_issuer(document: Document, credentials: Sequence[Document],
                 keys: Sequence[PublicKey], key: PublicKey) -> None:
    for c, signer in zip(credentials, keys, strict=True):
        if c.get("issuer") != document["issuer"]:
            raise InvalidCredentialError(f"credential {c.get('id')} is issued by "
                                         f"{c.get('issuer')!r}, not by the CLR's issuer")
        if signer != key:
            raise InvalidCredentialError(f"credential {c.get('id')} was signed with another key "
                                         "than the CLR")


def _credential_schemas(credentials: Sequence[Document]) -> tuple[list[str], list[str]]:
    checked: dict[str, None] = {}
    missing: dict[str, None] = {}
    for c in credentials:
        if c.get("@context") != clr.CREDENTIAL_CONTEXT:
            raise InvalidCredentialError(f"credential {c.get('id')}: @context must be "
                                         f"{clr.CREDENTIAL_CONTEXT}")
        try:
            shipped, not_shipped = schemas.check(c, clr.CREDENTIAL_SCHEMAS)
        except InvalidCredentialError as e:
            raise e.within(f"credential {c.get('id')}") from None
        checked.update(dict.fromkeys(shipped))
        missing.update(dict.fromkeys(not_shipped))
    return list(checked), list(missing)


def _same_learner(document: Document, credentials: Sequence[Document]) -> None:
    learner = document["credentialSubject"].get("identifier")
    if not isinstance(learner, list) or len(learner) != 1:
        raise InvalidCredentialError("the ClrSubject must name the learner by one identifier")
    for c in credentials:
        subject = c.get("credentialSubject")
        if not isinstance(subject, dict) or subject.get("identifier") != learner:
            raise InvalidCredentialError(f"credential {c.get('id')} names another learner "
                                         "than the CLR")


def _lineage(credentials: Sequence[Document]) -> int:
    held = {c["credentialSubject"]["achievement"].get("id") for c in credentials}
    sources = [s for c in credentials for step in _steps(c) for s in step.get("sources", [])]
    for source in sources:
        if source not in held:
            raise InvalidCredentialError(f"converted credits name the source {source!r}, which "
                                         "is no achievement in the CLR")
    return len(sources)


def _steps(credential: Document) -> list[Document]:
    steps = credential["credentialSubject"]["achievement"].get("lineage", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise InvalidCredentialError(f"credential {credential.get('id')}: lineage is not a "
                                     "list of LineageSteps")
    return steps


# -- the report -----------------------------------------------------------------------------


def _schema_result(found: tuple[list[str], list[str]]) -> str:
    checked, not_shipped = found
    text = f"valid against {', '.join(checked)}" if checked else "no shipped schema named"
    return text + (f"; not checked (not shipped): {', '.join(not_shipped)}" if not_shipped
                   else "")


def _summary(document: Document, transcript_id: UUID, credentials: Sequence[Document],
             key: PublicKey, anchored: bool, checks: tuple[Check, ...]) -> VerifiedTranscript:
    try:
        entries = tuple(_entry(c) for c in credentials)
        identity = document["credentialSubject"]["identifier"][0]["identityHash"]
        return VerifiedTranscript(
            transcript_id=transcript_id, name=str(document.get("name", "")),
            issuer=str(document["issuer"]["id"]), school=str(document["issuer"].get("name", "")),
            key_id=key.key_id, identity_hash=str(identity), entries=entries,
            anchored=anchored, checks=checks)
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as e:
        raise InvalidCredentialError(f"signed, but not a readable CLR ({e!r})") from None


def _entry(credential: Document) -> TranscriptEntry:
    subject = credential["credentialSubject"]
    return TranscriptEntry(
        credential_id=str(credential["id"]), name=str(credential["name"]),
        achievement_type=str(subject["achievement"]["achievementType"]),
        credits=Decimal(repr(subject["creditsEarned"])).quantize(Decimal("0.01")))
