"""The electronic course certificate (电子课程合格证书) as a portable Open Badges 3.0 credential.

The document is a W3C Verifiable Credential of type ``OpenBadgeCredential`` (Open Badges 3.0):
the alliance is the ``issuer``, the offering school the achievement's ``creator`` and the
subject's ``source`` (who assessed it), ``achievementType`` is ``"Course"``; ``creditsEarned``,
``term`` and ``result`` carry credits, term and score; hours, course type, assessment method and
the makeup flag are extensions under the ``creditledger:`` prefix. See ``docs/alliance.md``.

It carries two Data Integrity proofs, cryptosuite ``eddsa-jcs-2022``: the offering school's, and
the secretariat's (the alliance seal) chained to it with ``previousProof``. Each proof signs,
with Ed25519, ``SHA-256(JCS(proof options + @context)) || SHA-256(JCS(document))`` where
*document* is the credential without proofs — plus, for the seal, the school's proof — and JCS
is the JSON Canonicalization Scheme (RFC 8785). The key is named by a ``did:key``
verification method, so a verifier can check the signatures with nothing but the document; who
the keys belong to, and whether the certificate was revoked, needs trusted keys or the ledger.

JCS is implemented here for the JSON this module writes and reads: objects, arrays, strings,
booleans, null, integers of at most 2**53 - 1, and decimal fractions such as 2.5 (written as
ECMAScript writes them); anything else is refused, never guessed.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, Protocol
from uuid import UUID

import msgspec
import typer

from creditledger.crypto.keys import InvalidSignature, PublicKey, SigningKey
from creditledger.domain.alliance.values import CertificateFacts, CertificateProof
from creditledger.domain.ids import institution_id, natural_key_id
from creditledger.errors import CreditLedgerError, UnusableLedgerError, ValidationError
from creditledger.registry import KeyRegistry

W3C_VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: The namespace of the ``creditledger:`` extension terms (a placeholder domain: the terms are
#: defined in docs/alliance.md, not at this address).
EXTENSION_NS = "https://creditledger.invalid/ns/alliance/v1#"
CONTEXT: tuple[Any, ...] = (W3C_VC_V2, OB_V3, {"creditledger": EXTENSION_NS})
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
PURPOSE = "assertionMethod"
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as did:key uses it
_MAX_SAFE = 2**53 - 1


class InvalidCredentialError(ValidationError):
    """The document is not a valid certificate; ``reason`` says why (field ``document``)."""

    def __init__(self, reason: str) -> None:
        super().__init__("document", reason)
        self.reason = reason


class ProofRole(StrEnum):
    """Who made a proof: the offering school (开课学校) or the secretariat's seal (联盟公章)."""

    OFFERING_SCHOOL = "offering school"
    SECRETARIAT = "alliance secretariat"


# -- JCS (RFC 8785), base58btc and did:key ------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """The JCS form of ``value``: sorted keys (by UTF-16 code units), no whitespace, UTF-8."""
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE:
            raise InvalidCredentialError(f"the integer {value} is too large for JSON (I-JSON)")
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
    raise InvalidCredentialError(f"a {type(value).__name__} cannot be written as JSON")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise InvalidCredentialError(f"object keys must be strings, not {key!r}")
    return key


def _number(value: float) -> str:
    """ECMAScript's Number-to-String for the numbers we use; others are refused."""
    if not math.isfinite(value):
        raise InvalidCredentialError("NaN and infinities are not JSON numbers")
    if value.is_integer() and abs(value) <= _MAX_SAFE:
        return str(int(value))
    text = repr(value)  # shortest round-trip digits, as ECMAScript chooses them
    if "e" in text or "E" in text:
        raise InvalidCredentialError(f"the number {text} is outside the JCS subset implemented")
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
            raise InvalidCredentialError("a string holds a lone surrogate (not valid Unicode)")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    """Base58 with the Bitcoin alphabet (multibase ``z``), leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_B58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """The bytes of a base58btc string; refuses characters outside the alphabet."""
    number = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise InvalidCredentialError(f"{ch!r} is not a base58btc character")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def did_key(public_key: PublicKey) -> str:
    """The ``did:key`` of an Ed25519 public key (``did:key:z6Mk…``)."""
    return "did:key:z" + b58encode(_ED25519_PUB + public_key.raw)


def verification_method(public_key: PublicKey) -> str:
    """The verification method of a ``did:key``: ``did:key:z6Mk…#z6Mk…``."""
    did = did_key(public_key)
    return f"{did}#{did.removeprefix('did:key:')}"


def key_of_method(method: object) -> PublicKey:
    """The Ed25519 public key a ``did:key`` verification method names."""
    if not isinstance(method, str) or not method.startswith("did:key:z"):
        raise InvalidCredentialError(f"verificationMethod {method!r} is not an Ed25519 did:key")
    did, _, fragment = method.partition("#")
    encoded = did.removeprefix("did:key:")
    if fragment and fragment != encoded:
        raise InvalidCredentialError(f"verificationMethod {method!r}: the fragment is not the key")
    raw = b58decode(encoded[1:])
    if not raw.startswith(_ED25519_PUB) or len(raw) != 34 or b58encode(raw) != encoded[1:]:
        raise InvalidCredentialError(f"verificationMethod {method!r} is not an Ed25519 key")
    return PublicKey(raw[2:])


# -- the document --------------------------------------------------------------------------------


def urn(value: UUID) -> str:
    return f"urn:uuid:{value}"


def number(amount: Decimal) -> int | float:
    """Credits as a JSON number: 3 or 2.5 (two decimal places at most, so floats are exact
    enough to come back as the same two-place Decimal)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def identity_hash(learner_id: str, salt: str) -> str:
    """Open Badges' hashed identifier: ``sha256$`` + hex SHA-256 of the id and the salt."""
    return "sha256$" + hashlib.sha256((learner_id + salt).encode("utf-8")).hexdigest()


def credential_document(certificate_id: UUID, facts: CertificateFacts) -> dict[str, Any]:
    """The unsigned Open Badges 3.0 credential of a certificate."""
    school = {"id": urn(institution_id(facts.school)), "type": ["Profile"],
              "name": facts.school_name, "creditledger:code": facts.school}
    described = urn(natural_key_id("result_description", str(facts.offering_id)))
    achievement = {
        "id": urn(facts.offering_id), "type": ["Achievement"], "achievementType": "Course",
        "name": facts.course_name, "description": facts.introduction,
        "humanCode": facts.course_code,
        "criteria": {"narrative": f"考核成绩达到 {facts.pass_mark} 分（满分 {facts.score_scale}），"
                                  "且缺课不足总学时的三分之一。"},
        "creditsAvailable": number(facts.credits), "creator": school,
        "resultDescription": [{"id": described, "type": ["ResultDescription"], "name": "课程成绩",
                               "resultType": "RawScore", "valueMin": "0",
                               "valueMax": str(facts.score_scale),
                               "requiredValue": str(facts.pass_mark)}],
        "creditledger:hours": facts.hours, "creditledger:courseType": facts.course_type,
        "creditledger:assessmentMethod": facts.assessment_method.value,
    }
    subject = {
        "type": ["AchievementSubject"],
        "identifier": [{"type": "IdentityObject", "hashed": True, "identityType": "identifier",
                        "identityHash": identity_hash(facts.learner_id, facts.identity_salt),
                        "salt": facts.identity_salt}],
        "achievement": achievement, "creditsEarned": number(facts.credits), "term": facts.term,
        "source": school,
        "result": [{"type": ["Result"], "resultDescription": described,
                    "value": str(facts.score), "status": "Completed"}],
        "creditledger:byMakeup": facts.by_makeup,
    }
    return {
        "@context": list(CONTEXT), "id": urn(certificate_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"电子课程合格证书：{facts.course_name}",
        "issuer": {"id": urn(facts.alliance_id), "type": ["Profile"], "name": facts.alliance_name,
                   "creditledger:code": facts.alliance},
        "validFrom": f"{facts.issued_on.isoformat()}T00:00:00Z",
        "credentialSubject": subject,
    }


def proof_json(proof: CertificateProof) -> dict[str, Any]:
    """A stored proof as it appears in the document."""
    out = {"id": proof.id, "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE,
           "created": proof.created, "verificationMethod": proof.verification_method,
           "proofPurpose": PURPOSE, "proofValue": proof.proof_value}
    if proof.previous_proof is not None:
        out["previousProof"] = proof.previous_proof
    return out


def assemble(document: Mapping[str, Any], proofs: Sequence[CertificateProof]) -> dict[str, Any]:
    """The document with its proofs (a proof chain: school, then seal)."""
    return {**document, "proof": [proof_json(p) for p in proofs]}


def sign_proof(
    document: Mapping[str, Any], key: SigningKey, *, proof_id: str, created: datetime,
    previous: Sequence[CertificateProof] = (),
) -> CertificateProof:
    """Make an ``eddsa-jcs-2022`` proof of ``document`` (unsigned) with ``key``; a proof that
    chains to ``previous`` proofs signs them too."""
    options = {"id": proof_id, "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE,
               "created": created.astimezone(UTC).strftime(_TIME),
               "verificationMethod": verification_method(key.public_key),
               "proofPurpose": PURPOSE}
    if previous:
        options["previousProof"] = previous[-1].id
    unsecured = assemble(document, previous) if previous else dict(document)
    value = "z" + b58encode(key.sign(_hash_data(unsecured, options)))
    return CertificateProof(id=proof_id, created=options["created"],
                            verification_method=options["verificationMethod"],
                            proof_value=value, previous_proof=options.get("previousProof"))


def _hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """eddsa-jcs-2022: SHA-256 of the canonical proof configuration (the proof options with the
    document's ``@context``), then SHA-256 of the canonical document."""
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return (hashlib.sha256(canonical_json(config)).digest()
            + hashlib.sha256(canonical_json(unsecured)).digest())


def dumps(document: Mapping[str, Any]) -> bytes:
    """The file form of a credential: its canonical JSON (so every byte is significant)."""
    return canonical_json(document)


def digest(document: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical document, proofs included."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def parse_credential(data: bytes | str) -> dict[str, Any]:
    """Read a credential file: UTF-8 JSON, an object, no duplicate keys, no NaN."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise InvalidCredentialError(f"damaged: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise InvalidCredentialError(f"damaged: not JSON ({e.msg} at line {e.lineno}, "
                                     f"column {e.colno})") from None
    if not isinstance(value, dict):
        raise InvalidCredentialError("not a credential: the JSON is not an object")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidCredentialError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise InvalidCredentialError(f"{name} is not a JSON number")


# -- verifying -----------------------------------------------------------------------------------


class KeyTrust(Protocol):
    """Who may have made a proof: raises :class:`InvalidCredentialError` for a key it does not
    trust in that role. ``description`` says, in the report, how keys were trusted."""

    description: str

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None: ...


class EmbeddedKeys:
    """Trust whatever keys the document names: proves integrity, not who signed."""

    description = ("trusted the keys embedded in the document (did:key): this shows the "
                   "document is unchanged since signing, not who signed it")

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None:
        return None


class GivenKeys:
    """Trust only the given public keys (in either role; the two proofs must use two keys)."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self.keys = {k.raw: k for k in keys}
        self.description = "trusted the given keys: " + ", ".join(
            k.key_id for k in self.keys.values())

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None:
        if key.raw not in self.keys:
            raise InvalidCredentialError(f"the {role.value}'s proof was made with key "
                                         f"{key.key_id}, which is not among the given keys")


class LedgerKeys:
    """Trust the keys a ledger's registry gives each role: the offering school's key for its
    proof, the secretariat's for the seal, each registered and not revoked when it signed."""

    def __init__(self, registry: KeyRegistry, *, school: str, secretariat: str) -> None:
        self.registry = registry
        self.principals = {ProofRole.OFFERING_SCHOOL: school, ProofRole.SECRETARIAT: secretariat}
        self.description = (f"checked against the ledger's key registry (offering school "
                            f"{school}, secretariat {secretariat})")

    def check(self, role: ProofRole, key: PublicKey, created: datetime) -> None:
        principal = self.principals[role]
        entry = self.registry.entries.get(key.key_id)
        if entry is None or entry.principal != principal:
            raise InvalidCredentialError(f"the {role.value}'s proof was made with key "
                                         f"{key.key_id}, which is not registered to {principal}")
        revoked_at = self.registry.revoked.get(key.key_id)
        valid_from = entry.valid_from.replace(microsecond=0)  # ``created`` has whole seconds
        if created < valid_from or (revoked_at is not None and created >= revoked_at):
            raise InvalidCredentialError(f"the {role.value}'s key {key.key_id} was not valid "
                                         f"at {created.strftime(_TIME)}")


class VerifiedProof(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    key_id: str
    verification_method: str
    created: str


class VerifiedCredential(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid certificate says, and how far it was checked."""

    certificate_id: UUID
    course_code: str
    course_name: str
    school: str
    alliance: str
    credits: Decimal
    hours: int
    score: str
    term: str
    identity_hash: str
    proofs: tuple[VerifiedProof, ...]
    keys: str
    revocation: str


#: Whether a certificate was revoked: ``None`` if not, else a sentence saying when and why.
RevocationCheck = Callable[[UUID], str | None]


def verify_credential(
    document: Mapping[str, Any], *, trust: KeyTrust | None = None,
    revoked: RevocationCheck | None = None,
) -> VerifiedCredential:
    """Check both proofs of a certificate, the keys they use, and (if ``revoked`` is given)
    that it was not revoked. Returns what it says, or raises :class:`InvalidCredentialError`
    with the reason. Without ``trust``, the embedded keys are trusted (see :class:`EmbeddedKeys`).
    """
    trust = trust or EmbeddedKeys()
    certificate_id = credential_id(document)
    school, seal = _proofs(document)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    checked = [verify_proof(ProofRole.OFFERING_SCHOOL, school, unsecured, trust),
               verify_proof(ProofRole.SECRETARIAT, seal, {**unsecured, "proof": [school]},
                             trust)]
    if checked[0].key_id == checked[1].key_id:
        raise InvalidCredentialError("both proofs were made with the same key: the seal must "
                                     "be the secretariat's own")
    note = "not checked (offline: give the ledger to check it)"
    if revoked is not None:
        why = revoked(certificate_id)
        if why is not None:
            raise InvalidCredentialError(f"the certificate was revoked: {why}")
        note = "checked: not revoked"
    return _summary(document, certificate_id, tuple(checked), trust.description, note)


def credential_id(document: Mapping[str, Any]) -> UUID:
    """The certificate id of an Open Badges 3.0 course credential, after checking its shape."""
    context = document.get("@context")
    if not isinstance(context, list) or context[:2] != [W3C_VC_V2, OB_V3]:
        raise InvalidCredentialError("not an Open Badges 3.0 credential: @context must start "
                                     "with the VC 2.0 and OB 3.0 contexts")
    if document.get("type") != ["VerifiableCredential", "OpenBadgeCredential"]:
        raise InvalidCredentialError("not an OpenBadgeCredential (type)")
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    if not isinstance(achievement, dict) or achievement.get("achievementType") != "Course":
        raise InvalidCredentialError("not a course certificate: credentialSubject.achievement"
                                     ".achievementType must be Course")
    identifier = document.get("id")
    try:
        if not isinstance(identifier, str) or not identifier.startswith("urn:uuid:"):
            raise ValueError
        return UUID(identifier.removeprefix("urn:uuid:"))
    except ValueError:
        raise InvalidCredentialError(
            f"the credential id {identifier!r} is not a urn:uuid") from None


def _proofs(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    proofs = document.get("proof")
    if proofs is None:
        raise InvalidCredentialError("no proof: the certificate is not signed")
    if not isinstance(proofs, list) or not all(isinstance(p, dict) for p in proofs):
        raise InvalidCredentialError("proof must be a list of proofs")
    if len(proofs) != 2:
        raise InvalidCredentialError(f"{len(proofs)} proof(s): expected two, the offering "
                                     "school's and the alliance secretariat's seal")
    firsts = [p for p in proofs if "previousProof" not in p]
    if len(firsts) != 1:
        raise InvalidCredentialError("expected one proof without previousProof (the school's)")
    school = firsts[0]
    seal = proofs[1] if proofs[0] is school else proofs[0]
    if not isinstance(school.get("id"), str) or seal.get("previousProof") != school["id"]:
        raise InvalidCredentialError("the seal's previousProof does not name the school's proof")
    return school, seal


def verify_proof(
    role: ProofRole, proof: Mapping[str, Any], unsecured: Mapping[str, Any], trust: KeyTrust
) -> VerifiedProof:
    """Check one proof over ``unsecured`` (the document without proofs, plus the proofs this
    one chains to) and that ``trust`` accepts its key in ``role``."""
    for name, wanted in (("type", PROOF_TYPE), ("cryptosuite", CRYPTOSUITE),
                         ("proofPurpose", PURPOSE)):
        if proof.get(name) != wanted:
            raise InvalidCredentialError(f"the {role.value}'s proof: {name} must be {wanted}")
    key = key_of_method(proof.get("verificationMethod"))
    created = _created(role, proof.get("created"))
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidCredentialError(f"the {role.value}'s proofValue is not multibase base58btc")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        key.verify(b58decode(value[1:]), _hash_data(unsecured, options))
    except InvalidSignature:
        raise InvalidCredentialError(
            f"the {role.value}'s signature does not match: the document was changed after it "
            "was signed, or the proof was made with another key") from None
    trust.check(role, key, created)
    return VerifiedProof(role=role.value, key_id=key.key_id,
                         verification_method=str(proof["verificationMethod"]),
                         created=str(proof["created"]))


def _created(role: ProofRole, value: object) -> datetime:
    try:
        return datetime.strptime(str(value), _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidCredentialError(f"the {role.value}'s proof: created {value!r} is not "
                                     "a UTC time like 2022-07-10T08:00:00Z") from None


def _summary(document: Mapping[str, Any], certificate_id: UUID,
             proofs: tuple[VerifiedProof, ...], keys: str, revocation: str) -> VerifiedCredential:
    try:
        subject = document["credentialSubject"]
        achievement = subject["achievement"]
        return VerifiedCredential(
            certificate_id=certificate_id, course_code=str(achievement.get("humanCode", "")),
            course_name=str(achievement["name"]), school=str(subject["source"]["name"]),
            alliance=str(document["issuer"]["name"]),
            credits=Decimal(repr(subject["creditsEarned"])).quantize(Decimal("0.01")),
            hours=int(achievement.get("creditledger:hours", 0)),
            score=str(subject["result"][0]["value"]), term=str(subject.get("term", "")),
            identity_hash=str(subject["identifier"][0]["identityHash"]), proofs=proofs,
            keys=keys, revocation=revocation)
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as e:
        raise InvalidCredentialError(f"signed, but not a readable course certificate ({e!r})"
                                     ) from None


# -- command line ------------------------------------------------------------------------------


def register_cli(app: typer.Typer) -> None:
    """Add ``creditledger verify-credential`` and ``creditledger export-credential`` to ``app``."""

    @app.command("verify-credential")
    def verify_credential_command(
        file: Annotated[Path, typer.Argument(help="The certificate (Open Badges 3.0 JSON).")],
        key: Annotated[list[Path] | None, typer.Option(
            "--key", help="Trust only this public key (PEM, base64 or hex file); repeat for "
            "the school's and the secretariat's.")] = None,
        ledger: Annotated[str | None, typer.Option(
            "--ledger", help="Check keys and revocation against this alliance ledger (a file or "
            "a postgresql:// URL).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Verify an electronic course certificate (电子课程合格证书) offline: exit 0 valid,
        1 invalid (changed, wrong key, unsigned, revoked), 2 unusable input."""
        try:
            data = file.read_bytes()
            trusted = [_key_file(k) for k in key or []]
        except OSError as e:
            _unusable(f"{file}: {e.strerror}")
        except CreditLedgerError as e:
            _unusable(str(e))
        try:
            verified = check_file(data, trusted, ledger)
        except InvalidCredentialError as e:
            typer.echo(json.dumps({"valid": False, "reason": e.reason}, ensure_ascii=False)
                       if as_json else f"INVALID: {e.reason}")
            raise typer.Exit(1) from None
        except CreditLedgerError as e:
            _unusable(str(e))
        if as_json:
            typer.echo(json.dumps({"valid": True, **msgspec.to_builtins(verified)},
                                  ensure_ascii=False, indent=2))
        else:
            typer.echo("\n".join(summary_lines(verified)))

    @app.command("export-credential")
    def export_credential_command(
        ledger: Annotated[str, typer.Argument(
            metavar="LEDGER", help="The alliance ledger: a file or a postgresql:// URL.")],
        certificate: Annotated[str, typer.Argument(help="The certificate id (UUID).")],
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Write the credential here, not to stdout.")] = None,
    ) -> None:
        """Export a sealed course certificate as an Open Badges 3.0 credential (JCS JSON)."""
        from creditledger.bank import CreditBank

        try:
            certificate_id = UUID(certificate)
        except ValueError:
            _unusable(f"certificate: {certificate!r} is not a UUID")
        try:
            bank = CreditBank.open(ledger)
            try:
                data = dumps(bank.export_course_certificate(certificate_id))
            finally:
                bank.close()
        except CreditLedgerError as e:
            _unusable(str(e))
        if output is None:
            sys.stdout.buffer.write(data + b"\n")
        else:
            output.write_bytes(data)
            typer.echo(f"certificate {certificate_id} written to {output}", err=True)


def check_file(data: bytes, trusted: Sequence[PublicKey], ledger: str | Path | None
               ) -> VerifiedCredential:
    """What ``verify-credential`` checks: the given keys if any, and the ledger if given."""
    document = parse_credential(data)
    verified = verify_credential(document, trust=GivenKeys(trusted) if trusted else None)
    if ledger is None:
        return verified
    from creditledger.bank import CreditBank

    bank = CreditBank.open(ledger)
    try:
        against = bank.check_course_certificate(document)
    finally:
        bank.close()
    keys = against.keys + (f"; {verified.keys}" if trusted else "")
    result: VerifiedCredential = msgspec.structs.replace(against, keys=keys)
    return result


def summary_lines(v: VerifiedCredential) -> list[str]:
    """A verified certificate as readable lines (what ``verify-credential`` prints)."""
    lines = [f"valid: 电子课程合格证书 {v.course_name} ({v.course_code}), {v.credits} credits, "
             f"{v.hours} hours, score {v.score}, term {v.term}",
             f"  issued by {v.alliance}; assessed by {v.school}; learner {v.identity_hash}"]
    lines += [f"  proof {n}: {p.role}, key {p.key_id}, created {p.created}"
              for n, p in enumerate(v.proofs, 1)]
    return [*lines, f"  keys: {v.keys}", f"  revocation: {v.revocation}"]


def _key_file(path: Path) -> PublicKey:
    try:
        return PublicKey.from_text(path.read_bytes())
    except OSError as e:
        raise UnusableLedgerError(f"--key {path}: {e.strerror}") from None
    except UnusableLedgerError as e:
        raise UnusableLedgerError(f"--key {path}: {str(e).removeprefix('root key: ')}"
                                  ) from None


def _unusable(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
