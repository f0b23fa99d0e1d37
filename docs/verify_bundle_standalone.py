#!/usr/bin/env python3
"""Check a creditledger transcript bundle (or consistency proof) offline, on its own.

    python verify_bundle_standalone.py bundle.json [--root-key KEY_FILE] [--checkpoint FILE]
        [--witness VKEY ... [--quorum K] [--max-age DURATION]]

Needs Python 3.8+ and the ``cryptography`` package, nothing else: no creditledger, no database.
It is an independent implementation of ``creditledger verify-bundle`` (same checks, same fault
names, same exit codes: 0 intact and complete, 1 fails verification or stale, 2 unusable input,
3 intact but not proven complete). Without ``--root-key`` it trusts the root key the file names,
and says so. ``--checkpoint`` names a newer checkpoint you hold: a bundle proven against an
older one is ``stale-checkpoint``. ``--witness`` (a witness's verifier key, or a file holding
it; give it once per witness) demands the witnesses' C2SP cosignatures on the bundle's checkpoint:
``--quorum K`` of them (default: all), none older than ``--max-age`` (``24h``, ``7d``...); else
``no-witness-quorum``.

What it checks, for a bundle (format ``creditledger-bundle/2``, or ``/1`` without point 6b):

1. the checkpoint (a C2SP signed note) is signed by the root key under the ledger's origin;
2. every event's fields hash to its hash: SHA-256(0x00 || msgpack([position, commit, aggregate,
   version, topic, state, previous hash, previous hash of the aggregate])), the RFC 9162 leaf;
3. every event's RFC 9162 inclusion proof leads to the checkpoint's root;
4. every event's hash is at its place in its commit's signed statement;
5. the key registry events (genesis, registrations, revocations) rebuild which key could sign
   when, for whom and in which role; each commit's key could sign at the commit's time, and its
   Ed25519 signature verifies over, in a ledger of format creditledger/1,
   b"creditledger/commit/v1\\0" || msgpack([ledger, commit, first position, time, key, hashes])
   and in format creditledger/2
   b"creditledger/commit/v2\\0" || msgpack([ledger, commit, first position, time, key,
   staff id, role, hashes]);
6. each aggregate's versions run 1..n, each linked to the previous one's hash;
6b. completeness (docs/completeness.md): every head proof leads to the index root the
   checkpoint's ``creditledger-heads/1`` line commits to; every aggregate held runs to exactly its
   head there; every achievement the account credits is held, and the transfer ledger is held or
   proven absent (``bad-index-proof``, ``incomplete-aggregate``);
7. who wrote it (the write policy, for the learner's own records): a registry change is the
   root's, or an administrator's for its own institution's staff keys; the account's events are
   its home school's (a credit entry comes with the achievement's recognition, a reversal with
   its revocation); an achievement is recognised by the institution that certified it, or by
   the home school together with its recognition of that institution's course certificate (the
   bundle's evidence); only the certifier revokes it. (``creditledger verify-bundle`` replays
   the whole policy, transfers included.)
8. the account is the learner's, every achievement is the learner's and credited to the account
   (and reversed there exactly when revoked), and every credited achievement is present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import struct
import sys
import time
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

BUNDLE_FORMAT = "creditledger-bundle/2"
BUNDLE_FORMAT_1 = "creditledger-bundle/1"
HEADS_FORMAT = "creditledger-heads/1"
CONSISTENCY_FORMAT = "creditledger-consistency/1"
ORIGIN_PREFIX = "creditledger.example/"
COMMIT_DOMAIN = b"creditledger/commit/v1\x00"
COMMIT_DOMAIN_V2 = b"creditledger/commit/v2\x00"
FORMATS = ("creditledger/1", "creditledger/2")
ZERO = bytes(32)
LEDGER_NS = uuid.UUID("ff83e6db-a30d-5e7a-916d-2c201cad7203")
REGISTRY_NS = uuid.UUID("6f1d3d52-8a55-4f0e-9a43-3c4d1f2b9e10")
REG = "creditledger.registry:KeyRegistry."
GENESIS, REGISTERED, REVOKED_KEY = REG + "Genesis", REG + "KeyRegistered", REG + "KeyRevoked"
POLICY = REG + "PolicyDeclared"
ACCOUNT = "creditledger.domain.learner:LearnerAccount."
ACHIEVEMENT = "creditledger.domain.achievement:Achievement."
CERTIFICATE = "creditledger.domain.alliance.certificate:"
CERTIFICATE_RECOGNISED = CERTIFICATE + "CertificateRecognition.Recognised"
CERTIFICATE_ISSUED = CERTIFICATE + "CourseCertificate.Issued"
ROLES = ("account", "achievement", "transfers", "evidence")
STAFF_ROLES = ("registrar", "assessor", "secretariat_officer", "auditor")
REGISTRARS = ("administrator", "registrar")
ASSESSORS = ("administrator", "registrar", "assessor")


class Unusable(Exception):
    """The input is not a bundle at all (exit 2)."""


class Fault(Exception):
    """The bundle fails verification (exit 1): ``kind`` and a sentence."""

    def __init__(self, kind: str, detail: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{kind}{where}: {detail}")
        self.kind = kind


# -- the bytes that are hashed and signed --------------------------------------------------------


def _mp_int(n: int) -> bytes:
    if 0 <= n <= 0x7F:
        return bytes([n])
    if -32 <= n < 0:
        return struct.pack(">b", n)
    for lo, hi, code, fmt in ((0, 0xFF, 0xCC, ">B"), (0, 0xFFFF, 0xCD, ">H"),
                              (0, 0xFFFFFFFF, 0xCE, ">I"), (0, 2**64 - 1, 0xCF, ">Q"),
                              (-128, -1, 0xD0, ">b"), (-(2**15), -1, 0xD1, ">h"),
                              (-(2**31), -1, 0xD2, ">i"), (-(2**63), -1, 0xD3, ">q")):
        if lo <= n <= hi:
            return bytes([code]) + struct.pack(fmt, n)
    raise Unusable(f"integer out of range: {n}")


def _mp_len(n: int, small: tuple[int, int] | None, codes: tuple[int, int, int]) -> bytes:
    if small is not None and n <= small[1]:
        return bytes([small[0] | n])
    if n <= 0xFF and codes[0]:
        return bytes([codes[0], n])
    return bytes([codes[1]]) + struct.pack(">H", n) if n <= 0xFFFF else \
        bytes([codes[2]]) + struct.pack(">I", n)


def msgpack(value: Any) -> bytes:
    """The msgpack encoding of ints, str, bytes and lists, as msgspec writes them."""
    if isinstance(value, bool):
        raise Unusable("booleans do not occur here")
    if isinstance(value, int):
        return _mp_int(value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _mp_len(len(raw), (0xA0, 31), (0xD9, 0xDA, 0xDB)) + raw
    if isinstance(value, bytes):
        return _mp_len(len(value), None, (0xC4, 0xC5, 0xC6)) + value
    if isinstance(value, list):
        return _mp_len(len(value), (0x90, 15), (0, 0xDC, 0xDD)) + b"".join(map(msgpack, value))
    raise Unusable(f"cannot encode {type(value).__name__}")


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# -- RFC 9162 proofs (sections 2.1.3.2 and 2.1.4.2) ---------------------------------------------


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    if not 0 <= index < size or any(len(h) != 32 for h in [leaf, root, *proof]):
        raise ValueError("malformed inclusion proof")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise ValueError(f"inclusion proof for leaf {index} of {size} does not match the root")


def verify_consistency(size1: int, size2: int, proof: list[bytes], r1: bytes, r2: bytes) -> None:
    if not 0 < size1 <= size2 or any(len(p) != 32 for p in proof):
        raise ValueError("malformed consistency proof")
    if size1 == size2:
        if proof or r1 != r2:
            raise ValueError("equal sizes need an empty proof and equal roots")
        return
    if not proof or len(r1) != 32 or len(r2) != 32:
        raise ValueError("malformed consistency proof")
    path = ([r1] if size1 & (size1 - 1) == 0 else []) + list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != r1 or sr != r2:
        raise ValueError("consistency proof does not reproduce both roots")


# -- C2SP signed-note checkpoints ----------------------------------------------------------------


def open_checkpoint(note: str, origin: str, key: bytes) -> tuple[int, bytes]:
    """Verify the root key's signature on a checkpoint note; return (tree size, root)."""
    size, root, _ = open_checkpoint_lines(note, origin, key)
    return size, root


def open_checkpoint_lines(note: str, origin: str, key: bytes) -> tuple[int, bytes, list[str]]:
    """As :func:`open_checkpoint`, and the note's extension lines (after the root line)."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n") or any(ord(c) < 32 for c in note.replace("\n", "")):
        raise ValueError("not a signed note")
    text = note[: cut + 1].encode("utf-8")
    key_hash = hashlib.sha256(origin.encode("utf-8") + b"\n\x01" + key).digest()[:4]
    verified = False
    for line in note[cut + 2 : -1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            raise ValueError("malformed signature line")
        blob = _b64(parts[2], "signature")
        if parts[1] == origin and blob[:4] == key_hash:
            try:
                Ed25519PublicKey.from_public_bytes(key).verify(blob[4:], text)
            except InvalidSignature:
                raise ValueError("the root key's signature does not verify") from None
            verified = True
    if not verified:
        raise ValueError("the checkpoint is not signed by the root key")
    lines = text.decode("utf-8")[:-1].split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise ValueError(f"the checkpoint's origin is not {origin}")
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", lines[1]):
        raise ValueError("malformed tree size")
    root = _b64(lines[2], "root hash")
    if len(root) != 32:
        raise ValueError("malformed root hash")
    return int(lines[1]), root, lines[3:]


def _b64(text: Any, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise Unusable(f"{what} is not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise Unusable(f"{what} is not canonical base64")
    return raw


# -- reading the bundle --------------------------------------------------------------------------

_EVENT = {"position": int, "commit_seq": int, "originator_id": str, "originator_version": int,
          "topic": str, "state": bytes, "prev_hash": bytes, "prev_aggregate_hash": bytes,
          "hash": bytes, "proof": list}
_COMMIT = {"seq": int, "first_position": int, "committed_at": int, "key_id": str,
           "event_hashes": list, "signature": bytes}


def _fields(obj: Any, spec: dict[str, type], what: str,
            more: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of ``spec`` (typed; bytes as canonical base64); ``obj`` has exactly these
    and ``more`` (checked by the caller), nothing else."""
    if not isinstance(obj, dict):
        raise Unusable(f"{what} is not an object")
    if set(obj) != set(spec) | set(more):
        raise Unusable(f"{what} has the fields {sorted(obj)}, not {sorted(set(spec) | set(more))}")
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        value = obj.get(name)
        if kind is bytes:
            value = _b64(value, f"{what}.{name}")
        elif kind is list:
            if not isinstance(value, list):
                raise Unusable(f"{what}.{name} is not a list")
            value = [_b64(v, f"{what}.{name}") for v in value]
        elif not isinstance(value, kind) or isinstance(value, bool):
            raise Unusable(f"{what}.{name} is missing or not a {kind.__name__}")
        if isinstance(value, int):
            _mp_int(value)  # in range
        out[name] = value
    return out


MAX_DEPTH = 64


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("a key appears twice in one object")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json(data: bytes) -> Any:
    """Strict JSON: UTF-8, no key twice, no NaN, at most MAX_DEPTH levels of nesting."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise Unusable(f"not strict JSON ({e})") from None
    except RecursionError:
        raise Unusable(f"nested more than {MAX_DEPTH} levels deep") from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Unusable(f"nested more than {MAX_DEPTH} levels deep")
        children = list(item.values()) if isinstance(item, dict) else \
            item if isinstance(item, list) else []
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return value


def _state(e: dict[str, Any]) -> dict[str, Any]:
    try:
        state = json.loads(e["state"])
    except (ValueError, UnicodeDecodeError):
        raise Fault("unreadable-content", "the event's content is not plain JSON",
                    e["position"]) from None
    if not isinstance(state, dict):
        raise Fault("unreadable-content", "the event's content is not a JSON object",
                    e["position"])
    return state


def natural_key_id(*parts: Any) -> str:
    return uuid.uuid5(LEDGER_NS, json.dumps(list(parts), separators=(",", ":"),
                                            ensure_ascii=False)).hex


def micros(text: Any) -> int:
    """RFC 3339 time (as msgspec writes it) to microseconds since the epoch."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                     r"(Z|[+-]\d\d:\d\d)", text if isinstance(text, str) else "")
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    days = _days(y, mo, d)
    frac = int((m.group(7) or "0").ljust(6, "0")[:6])
    offset = 0 if m.group(8) == "Z" else \
        (1 if m.group(8)[0] == "+" else -1) * (int(m.group(8)[1:3]) * 60 + int(m.group(8)[4:]))
    return ((days * 86400 + h * 3600 + mi * 60 + s - offset * 60) * 1_000_000) + frac


def _days(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


# -- the checks ----------------------------------------------------------------------------------


def check_event(e: dict[str, Any], size: int, root: bytes, commits: dict[int, Any]) -> None:
    link = [e["position"], e["commit_seq"], e["originator_id"], e["originator_version"],
            e["topic"], e["state"], e["prev_hash"], e["prev_aggregate_hash"]]
    pos = e["position"]
    if hashlib.sha256(b"\x00" + msgpack(link)).digest() != e["hash"]:
        raise Fault("hash-mismatch", "the event's fields do not hash to its hash", pos)
    if not 1 <= pos <= size:
        raise Fault("not-covered-by-checkpoint", f"the checkpoint covers events 1..{size}", pos)
    try:
        verify_inclusion(e["hash"], pos - 1, size, e["proof"], root)
    except ValueError as err:
        raise Fault("bad-inclusion-proof", str(err), pos) from None
    commit = commits.get(e["commit_seq"])
    if commit is None:
        raise Fault("missing-commit", f"commit {e['commit_seq']} is not in the bundle", pos)
    i = pos - commit["first_position"]
    if not 0 <= i < len(commit["event_hashes"]) or commit["event_hashes"][i] != e["hash"]:
        raise Fault("not-in-commit", f"commit {commit['seq']} does not list its hash", pos)


def check_commits(b: dict[str, Any], root_key: bytes, commits: dict[int, Any]) -> dict[int, Any]:
    """Replay the registry; check each commit's key, signature and registry rule. Return each
    commit's signer record [raw key, valid from, revoked at, principal, role, staff id]."""
    registry = sorted(b["registry"], key=lambda e: e["position"])
    rid = uuid.uuid5(REGISTRY_NS, f"{b['ledger_id']}/key-registry").hex
    first = registry[0] if registry else None
    if first is None or first["position"] != 1 or first["topic"] != GENESIS or \
            first["originator_id"] != rid:
        raise Fault("bad-genesis", "the bundle lacks the ledger's genesis event")
    try:
        genesis = json.loads(first["state"])
    except (ValueError, UnicodeDecodeError):
        raise Fault("bad-genesis", "undecodable genesis", 1) from None
    if not isinstance(genesis, dict) or genesis.get("ledger_id") != b["ledger_id"] \
            or not isinstance(genesis.get("root"), dict):
        raise Fault("bad-genesis", "the genesis names another ledger", 1)
    if genesis["root"].get("public_key") != base64.b64encode(root_key).decode():
        raise Fault("root-key-mismatch", "the genesis names another root key", 1)
    if genesis.get("format") not in FORMATS:
        raise Fault("bad-genesis", f"unknown format {genesis.get('format')!r}", 1)
    keys: dict[str, list[Any]] = {}  # key id -> [raw, valid from, revoked at, who, role, staff]
    signers: dict[int, Any] = {}
    applied = 0
    for c in sorted(commits.values(), key=lambda c: c["seq"]):
        end = c["first_position"] + len(c["event_hashes"])
        upto = end if c["seq"] == 1 else c["first_position"]
        while applied < len(registry) and registry[applied]["position"] < upto:
            apply_registry(keys, registry[applied], rid, commits)
            applied += 1
        record, at = keys.get(c["key_id"]), c["committed_at"]
        problem = "unknown-key" if record is None else "key-not-yet-valid" if at < record[1] \
            else "key-revoked" if record[2] is not None and at >= record[2] else None
        if problem or record is None:
            raise Fault(problem or "unknown-key", f"commit {c['seq']} is signed by "
                        f"{c['key_id']}: {problem}", c["first_position"])
        check_registry_rule(keys, record, [e for e in registry
                                           if c["first_position"] <= e["position"] < end])
        head = [b["ledger_id"], c["seq"], c["first_position"], at, c["key_id"]]
        message = COMMIT_DOMAIN + msgpack([*head, c["event_hashes"]]) \
            if genesis["format"] == FORMATS[0] else \
            COMMIT_DOMAIN_V2 + msgpack([*head, record[5], record[4], c["event_hashes"]])
        try:
            Ed25519PublicKey.from_public_bytes(record[0]).verify(c["signature"], message)
        except InvalidSignature:
            raise Fault("bad-signature", f"the signature of commit {c['seq']} does not verify",
                        c["first_position"]) from None
        signers[c["seq"]] = record
    return signers


def apply_registry(keys: dict[str, list[Any]], e: dict[str, Any], rid: str,
                   commits: dict[int, Any]) -> None:
    pos, topic = e["position"], e["topic"]
    if e["originator_id"] != rid or topic not in (GENESIS, REGISTERED, REVOKED_KEY, POLICY) or \
            (topic == GENESIS and pos != 1) or (topic == POLICY and e["commit_seq"] != 1):
        raise Fault("registry-violation", "not an event of this ledger's key registry", pos)
    state = _state(e)
    try:
        if topic == POLICY:
            return
        if topic == REVOKED_KEY:
            record = keys.get(state["key_id"])
            if record is not None:
                record[2] = max(micros(state["effective_at"]),
                                commits[e["commit_seq"]]["committed_at"])
            return
        entry = state["root" if topic == GENESIS else "entry"]
        raw = _b64(entry["public_key"], "public key")
        if len(raw) != 32 or "ed25519:" + hashlib.sha256(raw).hexdigest()[:32] != entry["key_id"]:
            raise ValueError(f"key id {entry['key_id']} does not match its public key")
        role = "root" if topic == GENESIS else entry.get("role") or "administrator"
        keys[entry["key_id"]] = [raw, micros(entry["valid_from"]), None, entry["principal"],
                                 role, entry.get("staff_id", "")]
    except (KeyError, TypeError, ValueError, AttributeError, Unusable) as err:
        raise Fault("registry-violation", f"malformed registry event: {err}", pos) from None


def check_registry_rule(keys: dict[str, list[Any]], signer: list[Any],
                        events: list[dict[str, Any]]) -> None:
    """A registry change is the root's; or an administrator's, registering or revoking its own
    institution's staff keys."""
    for e in events:
        if signer[4] == "root":
            continue
        state = _state(e)
        entry = state.get("entry") if e["topic"] == REGISTERED else \
            keys.get(state.get("key_id"), [None] * 6) if e["topic"] == REVOKED_KEY else None
        principal, role = (entry.get("principal"), entry.get("role")) \
            if isinstance(entry, dict) else (entry[3], entry[4]) if entry else (None, None)
        if signer[4] != "administrator" or role not in STAFF_ROLES or principal != signer[3]:
            raise Fault("unauthorised-write", f"{describe(signer)} may not change the key "
                        "registry there", e["position"])


def check_links(a: dict[str, Any]) -> None:
    previous, oid = ZERO, a["originator_id"]
    if not a["events"]:
        raise Fault("aggregate-version-gap", f"aggregate {oid} has no events")
    for number, e in enumerate(a["events"], 1):
        if e["originator_id"] != oid or e["originator_version"] != number:
            raise Fault("aggregate-version-gap", f"expected version {number} of {oid}",
                        e["position"])
        if e["prev_aggregate_hash"] != previous:
            raise Fault("broken-aggregate-link", f"version {number} of {oid} does not link to "
                        f"version {number - 1}", e["position"])
        previous = e["hash"]


def describe(signer: list[Any]) -> str:
    return f"{signer[3]} ({signer[4]}{' ' + signer[5] if signer[5] else ''})"


def check_writers(b: dict[str, Any], signers: dict[int, Any]) -> None:
    """Who wrote the learner's account and achievements (point 7 of the module's list)."""
    by_commit: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for a in b["aggregates"]:
        for e in a["events"]:
            by_commit.setdefault(e["commit_seq"], []).append((e["topic"], _state(e)))
    issued = {a["originator_id"]: _state(a["events"][0]) for a in b["aggregates"]
              if a["role"] == "evidence" and a["events"][0]["topic"] == CERTIFICATE_ISSUED}
    for a in b["aggregates"]:
        if a["role"] == "account":
            home = None
            for e in a["events"]:
                home = check_account_event(e, signers[e["commit_seq"]], home,
                                           by_commit[e["commit_seq"]])
        elif a["role"] == "achievement":
            certifier = None
            for e in a["events"]:
                certifier = check_achievement_event(e, signers[e["commit_seq"]], certifier,
                                                    by_commit[e["commit_seq"]], issued)


def _refuse(e: dict[str, Any], signer: list[Any], why: str) -> Fault:
    return Fault("unauthorised-write", f"{describe(signer)} may not write "
                 f"{e['topic'].rpartition('.')[2]}: {why}", e["position"])


def check_account_event(e: dict[str, Any], signer: list[Any], home: Any,
                        commit: list[tuple[str, dict[str, Any]]]) -> Any:
    name, state = e["topic"][len(ACCOUNT):], _state(e)
    roles = ASSESSORS if name == "Credited" else REGISTRARS
    if not e["topic"].startswith(ACCOUNT) or signer[4] not in roles:
        raise _refuse(e, signer, f"not an account event its role {signer[4]} may write")
    if name == "Opened":
        named = state.get("home_institution")
        if named not in (None, signer[3]):
            raise _refuse(e, signer, f"the account's home school is {named}")
        return named or signer[3]
    if name == "Enrolled":
        if state.get("institution") != signer[3]:
            raise _refuse(e, signer, f"it enrols the learner at {state.get('institution')}")
        return signer[3]
    partner = {"Credited": "Recognised", "Reversed": "Revoked"}.get(name)
    if partner is not None:
        wanted = _uuid(state)
        if not any(t == ACHIEVEMENT + partner and natural_key_id(
                "achievement", *s.get("record", {}).get("natural_key", [])) == wanted
                for t, s in commit if t == ACHIEVEMENT + "Recognised") and not any(
                t == ACHIEVEMENT + partner for t, _ in commit):
            raise _refuse(e, signer, f"not in the commit of the achievement's {partner}")
        return home
    if home != signer[3]:
        raise _refuse(e, signer, f"the account's home school is {home}")
    return home


def check_achievement_event(e: dict[str, Any], signer: list[Any], certifier: Any,
                            commit: list[tuple[str, dict[str, Any]]],
                            issued: dict[str, dict[str, Any]]) -> Any:
    name, state = e["topic"][len(ACHIEVEMENT):], _state(e)
    if signer[4] not in (REGISTRARS if name == "Revoked" else ASSESSORS):
        raise _refuse(e, signer, f"its role {signer[4]} may not")
    if name != "Recognised":
        if signer[3] != certifier:
            raise _refuse(e, signer, f"the achievement is {certifier}'s")
        return certifier
    record = state.get("record") if isinstance(state.get("record"), dict) else {}
    certified_by = record.get("certified_by")
    if certified_by == signer[3]:
        return certified_by
    for topic, recognition in commit:  # the home school, recognising a course certificate
        certificate = issued.get(_hex(recognition.get("certificate_id")))
        if topic == CERTIFICATE_RECOGNISED and recognition.get("home_school") == signer[3] \
                and _hex(recognition.get("achievement_id")) == e["originator_id"] \
                and certificate is not None \
                and certificate.get("facts", {}).get("school") == certified_by:
            return certified_by
    raise _refuse(e, signer, f"it is certified by {certified_by}, and the commit holds no "
                  f"recognition of a course certificate {certified_by} issued")


def _hex(value: Any) -> str:
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        return ""


def check_transcript(b: dict[str, Any], signers: dict[int, Any]) -> list[str]:
    learner = b["learner_id"]
    by_role: dict[str, list[Any]] = {r: [a for a in b["aggregates"] if a["role"] == r]
                                     for r in ROLES}
    accounts, transfers = by_role["account"], by_role["transfers"]
    if len(accounts) != 1 or accounts[0]["originator_id"] != natural_key_id("learner", learner):
        raise Fault("wrong-learner", f"the bundle needs the one account of {learner}")
    if len(transfers) > 1 or any(t["originator_id"] != natural_key_id("credit-transfers", learner)
                                 for t in transfers):
        raise Fault("wrong-learner", f"a transfer ledger is not {learner}'s")
    account = [(e["topic"], _state(e)) for e in accounts[0]["events"]]
    opened = account[0][1]
    if not account[0][0].endswith(".Opened") or opened.get("learner_id") != learner:
        raise Fault("wrong-learner", f"the account is not opened for {learner}",
                    accounts[0]["events"][0]["position"])
    credited = {_uuid(s) for t, s in account if t == ACCOUNT + "Credited"}
    reversed_ = {_uuid(s) for t, s in account if t == ACCOUNT + "Reversed"}
    person = opened.get("personal_data")
    name = person.get("name") if isinstance(person, dict) else "?"
    if isinstance(person, str) and person.startswith("sealed:"):  # only the school's key opens it
        name = "personal data sealed"
    if any(t == ACCOUNT + "PersonalDataErased" for t, _ in account):
        name = "personal data erased"
    lines = [f"account of {learner} ({name}): {len(account)} events, {len(credited)} "
             f"achievements credited, {len(reversed_)} reversed"]
    seen = set()
    for a in by_role["achievement"]:
        states = [(e["topic"], _state(e)) for e in a["events"]]
        record = states[0][1].get("record")
        record = record if isinstance(record, dict) else {}
        key = record.get("natural_key")
        oid = a["originator_id"]
        if states[0][0] != ACHIEVEMENT + "Recognised" or record.get("learner_id") != learner \
                or not isinstance(key, list) or natural_key_id("achievement", *key) != oid:
            raise Fault("wrong-learner", f"achievement {oid} is not a recognised achievement "
                        f"of {learner}", a["events"][0]["position"])
        revoked = any(t == ACHIEVEMENT + "Revoked" for t, _ in states)
        if oid not in credited or oid in seen or revoked != (oid in reversed_):
            raise Fault("incomplete-transcript", f"achievement {oid} does not match the "
                        "account's credit entries", a["events"][-1]["position"])
        seen.add(oid)
        lines.append(f"  {record.get('title')}: {record.get('credits')} credits "
                     f"({record.get('category')}), {record.get('kind')} certified by "
                     f"{record.get('certified_by')} on {record.get('recognised_on')}, signed "
                     f"by {describe(signers[a['events'][0]['commit_seq']])}"
                     + (" — REVOKED" if revoked else ""))
    if credited - seen:
        raise Fault("incomplete-transcript",
                    f"credited achievement {sorted(credited - seen)[0]} is not in the bundle")
    return lines


def _uuid(state: dict[str, Any]) -> str:
    try:
        return uuid.UUID(str(state["achievement_id"])).hex
    except (KeyError, ValueError):
        raise Fault("unreadable-content", "a credit entry names no achievement") from None


# -- the index of heads (creditledger-heads/1: docs/completeness.md) ------------------------------


def heads_leaf(key: bytes, version: int, head: bytes) -> bytes:
    return hashlib.sha256(b"\x02" + key + version.to_bytes(8, "big") + head).digest()


def heads_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x03" + left + right).digest()


def key_bit(key: bytes, i: int) -> int:
    return (key[i >> 3] >> (7 - (i & 7))) & 1


def read_heads(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise Unusable("bundle: heads must be a list")
    proofs = []
    for p in value:
        proof = _fields(p, {"originator_id": str, "version": int, "head": bytes,
                            "siblings": list}, "head proof", ("other",))
        other = p.get("other")
        proof["other"] = None if other is None else \
            _fields(other, {"key": bytes, "version": int, "head": bytes}, "head proof.other")
        proofs.append(proof)
    return proofs


def check_head_proof(p: dict[str, Any], root: bytes) -> None:
    """Raise ValueError unless the proof is well formed and folds to ``root``."""
    key = hashlib.sha256(p["originator_id"].encode("utf-8")).digest()
    siblings, other = p["siblings"], p["other"]
    if len(siblings) > 256 or any(len(s) != 32 for s in siblings):
        raise ValueError("siblings must be at most 256 hashes of 32 bytes")
    if p["version"] < 0:
        raise ValueError("a negative version")
    if p["version"] > 0:
        if len(p["head"]) != 32 or other is not None:
            raise ValueError("a membership proof needs a 32-byte head and no other leaf")
        h = heads_leaf(key, p["version"], p["head"])
    elif p["head"]:
        raise ValueError("an absence proof (version 0) has an empty head")
    elif other is None:
        h = bytes(32)
    else:
        if len(other["key"]) != 32 or len(other["head"]) != 32 or other["version"] < 1:
            raise ValueError("the other leaf needs a 32-byte key and head, version >= 1")
        if other["key"] == key or any(key_bit(other["key"], i) != key_bit(key, i)
                                      for i in range(len(siblings))):
            raise ValueError("the other leaf is not another aggregate on this path")
        h = heads_leaf(other["key"], other["version"], other["head"])
    for i in reversed(range(len(siblings))):
        h = heads_node(siblings[i], h) if key_bit(key, i) else heads_node(h, siblings[i])
    if h != root:
        raise ValueError("the proof does not lead to the index root")


def heads_root(extensions: list[str]) -> bytes | None:
    lines = [line for line in extensions if line.split(" ", 1)[0] == HEADS_FORMAT]
    if not lines:
        return None
    if len(lines) > 1:
        raise Fault("bad-index-proof", "the checkpoint carries more than one heads line")
    try:
        root = _b64(lines[0][len(HEADS_FORMAT) + 1:], "heads root")
    except Unusable:
        root = b""
    if len(root) != 32:
        raise Fault("bad-index-proof", "the heads line's root is not canonical base64 of 32 bytes")
    return root


def named_evidence(b: dict[str, Any]) -> list[tuple[str, str]]:
    """The evidence that held evidence names (a certificate recognition's certificate, a
    certificate's alliance and status-list entry): (id, why), each to be held as evidence."""
    named: list[tuple[str, str]] = []
    for a in b["aggregates"]:
        if a["role"] != "evidence" or not a["events"]:
            continue
        first, oid = a["events"][0], a["originator_id"]
        try:
            state = _state(first)
            if first["topic"] == CERTIFICATE_RECOGNISED:
                named.append((uuid.UUID(str(state["certificate_id"])).hex,
                              f"the certificate recognition {oid} names"))
            elif first["topic"] == CERTIFICATE_ISSUED:
                facts = state["facts"]
                named.append((natural_key_id("alliance", str(facts["alliance"])),
                              f"the alliance of certificate {oid}"))
                status = facts.get("status")
                if status is not None:
                    named.append((natural_key_id("status-entry", str(status["key_id"]),
                                                 str(int(status["list_number"])),
                                                 str(int(status["index"]))),
                                  f"the status-list entry of certificate {oid}"))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise Fault("unreadable-content", "an evidence event names no certificate, "
                        "alliance or status entry", first["position"]) from None
    return named


def check_completeness(b: dict[str, Any], size: int, extensions: list[str]) -> str | None:
    """The rules of docs/completeness.md, in order; None: completeness not proven."""
    if b["format"] == BUNDLE_FORMAT_1:
        return None
    proofs = b["heads"]
    root = heads_root(extensions)
    if root is None:
        if not proofs:
            return None
        raise Fault("bad-index-proof", "head proofs, but no creditledger-heads/1 line")
    for p in proofs:
        try:
            check_head_proof(p, root)
        except ValueError as e:
            raise Fault("bad-index-proof", f"the head proof of {p['originator_id']}: {e}") \
                from None
    for a in b["aggregates"]:
        oid, events = a["originator_id"], a["events"]
        mine = [p for p in proofs if p["originator_id"] == oid and p["version"] > 0]
        if len(mine) != 1:
            raise Fault("incomplete-aggregate", f"{a['role']} {oid} has {len(mine)} head "
                        "proofs, not one")
        if len(events) != mine[0]["version"] or events[-1]["hash"] != mine[0]["head"]:
            raise Fault("incomplete-aggregate", f"{a['role']} {oid} holds versions "
                        f"1..{len(events)}; its head at checkpoint {size} is version "
                        f"{mine[0]['version']}")
    roles = {a["originator_id"]: a["role"] for a in b["aggregates"]}
    for a in b["aggregates"]:
        for e in a["events"] if a["role"] == "account" else []:
            if e["topic"] == ACCOUNT + "Credited":
                aid = _uuid(_state(e))
                if roles.get(aid) != "achievement":
                    raise Fault("incomplete-aggregate", f"achievement {aid}, credited to the "
                                "account, is not in the bundle")
    transfers = natural_key_id("credit-transfers", b["learner_id"])
    absent = any(p["originator_id"] == transfers and p["version"] == 0 for p in proofs)
    if roles.get(transfers) != "transfers" and not absent:
        raise Fault("incomplete-aggregate", f"transfers {transfers}: the learner's transfer "
                    "ledger is neither in the bundle nor proven absent")
    for aid, why in named_evidence(b):
        if roles.get(aid) != "evidence":
            raise Fault("incomplete-aggregate", f"evidence {aid}, {why}, is not in the bundle")
    seen: set[str] = set()
    for p in proofs:
        if p["originator_id"] not in roles and not (p["originator_id"] == transfers
                                                    and p["version"] == 0):
            raise Fault("bad-index-proof", f"a head proof of {p['originator_id']}, which the "
                        "bundle does not hold")
        if p["originator_id"] in seen:
            raise Fault("bad-index-proof", f"two head proofs of {p['originator_id']}")
        seen.add(p["originator_id"])
    return (f"complete: {len(b['aggregates'])} aggregates, each up to its head in the "
            f"checkpoint's index of heads (size {size})")


def check_fresh(size: int, note: str, held: str, origin: str, key: bytes) -> None:
    """The bundle's checkpoint (``note``, of ``size`` events) against a newer one the receiver
    holds: the same size must be the same checkpoint text (root and index of heads)."""
    try:
        held_size, _ = open_checkpoint(held, origin, key)
    except ValueError as e:
        raise Unusable(f"the checkpoint you hold: {e}") from None
    if held_size > size:
        raise Fault("stale-checkpoint", f"proven against size {size} but you hold a checkpoint "
                    f"of size {held_size}; ask for a bundle at {held_size}")
    if held_size == size and held[: held.rfind("\n\n")] != note[: note.rfind("\n\n")]:
        raise Fault("bad-checkpoint", f"the bundle's checkpoint and the one you hold both have "
                    f"{size} events but say different things (another root or index of heads): "
                    "a split view")


# -- witness cosignatures (C2SP tlog-cosignature, cosignature/v1) --------------------------------


def read_witness_key(vkey: str) -> tuple[str, bytes, bytes]:
    """A witness verifier key ``name+hex(key ID)+base64(0x04 || key)``: (name, key ID, key)."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
        raise Unusable(f"not a witness verifier key (name+id+key): {vkey[:80]!r}")
    name, key_id, blob = parts
    raw = _b64(blob, f"witness key {name}")
    if len(raw) != 33 or raw[:1] != b"\x04":
        raise Unusable(f"witness key {name}: not a cosignature/v1 Ed25519 key (type 0x04)")
    if hashlib.sha256(name.encode("utf-8") + b"\n\x04" + raw[1:]).digest()[:4].hex() \
            != key_id.lower():
        raise Unusable(f"witness key {name}: the key ID does not match the key")
    return name, bytes.fromhex(key_id), raw[1:]


def cosignature_time(note: str, witness: tuple[str, bytes, bytes]) -> int | None:
    """The timestamp of the witness's valid cosignature on ``note``; None if it has none (a
    line of its name and key ID that does not verify is an error, not an absence)."""
    name, key_id, key = witness
    cut = note.rfind("\n\n")
    body = note[: cut + 1].encode("utf-8")
    for line in note[cut + 2 : -1].split("\n"):
        parts = line.split(" ")
        blob = _b64(parts[2], "signature")
        if parts[1] != name or blob[:4] != key_id:
            continue
        if len(blob) != 4 + 8 + 64:
            raise ValueError(f"the cosignature of {name} has the wrong length")
        stamp = int.from_bytes(blob[4:12], "big")
        message = b"cosignature/v1\ntime " + str(stamp).encode("ascii") + b"\n" + body
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(blob[12:], message)
        except InvalidSignature:
            raise ValueError(f"the cosignature of {name} does not verify") from None
        return stamp
    return None


def check_quorum(note: str, witnesses: list[tuple[str, bytes, bytes]], quorum: int,
                 max_age: int | None, now: int) -> dict[str, int]:
    """Demand ``quorum`` of the witnesses' cosignatures, none older than ``max_age`` seconds."""
    cosigned: dict[str, int] = {}
    missing: list[str] = []
    stale: list[str] = []
    for w in witnesses:
        try:
            stamp = cosignature_time(note, w)
        except ValueError as err:
            raise Fault("no-witness-quorum", str(err)) from None
        if stamp is None:
            missing.append(w[0])
        elif stamp > now + 60:
            raise Fault("no-witness-quorum", f"the cosignature of {w[0]} is dated in the future")
        elif max_age is not None and now - stamp > max_age:
            stale.append(w[0])
        else:
            cosigned[w[0]] = stamp
    if len(cosigned) < quorum:
        why = [f"no cosignature from {', '.join(missing)}"] if missing else []
        if stale:
            why.append(f"cosignatures older than {max_age} s from {', '.join(stale)}")
        raise Fault("no-witness-quorum", f"{len(cosigned)} of the {quorum} witness cosignatures "
                    f"demanded: {'; '.join(why)}")
    return cosigned


def duration(text: str) -> int:
    """Seconds in ``7d``, ``24h``, ``90m``, ``1h30m``, ``3600s`` or ``3600``."""
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not text or match is None:
        raise Unusable(f"--max-age: {text!r} is not a duration like 24h, 7d or 90m")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


def read_bundle(data: Any) -> dict[str, Any]:
    version2 = data.get("format") == BUNDLE_FORMAT if isinstance(data, dict) else False
    b = _fields(data, {"ledger_id": str, "learner_id": str, "root_key": bytes,
                       "checkpoint": str}, "bundle",
                ("format", "registry", "aggregates", "commits", *(("heads",) if version2 else ())))
    b["format"] = data["format"]
    b["heads"] = read_heads(data["heads"]) if version2 else None
    if not isinstance(data.get("registry"), list) or not isinstance(data.get("aggregates"), list) \
            or not isinstance(data.get("commits"), list):
        raise Unusable("bundle: registry, aggregates and commits must be lists")
    b["registry"] = [_fields(e, _EVENT, "event") for e in data["registry"]]
    b["aggregates"] = []
    for a in data["aggregates"]:
        agg = _fields(a, {"role": str, "originator_id": str}, "aggregate", ("events",))
        if agg["role"] not in ROLES or not isinstance(a.get("events"), list):
            raise Unusable(f"bundle: unknown aggregate role {agg['role']!r} or no event list")
        agg["events"] = [_fields(e, _EVENT, "event") for e in a["events"]]
        b["aggregates"].append(agg)
    b["commits"] = [_fields(c, _COMMIT, "commit") for c in data["commits"]]
    if len(b["root_key"]) != 32:
        raise Unusable("bundle: the root key is not 32 bytes")
    return b


def verify_bundle(data: Any, pinned: bytes | None, held: str | None = None,
                  quorum: tuple[list[tuple[str, bytes, bytes]], int, int | None] | None = None
                  ) -> tuple[list[str], bool]:
    """Check a bundle; return its lines and whether it is proven complete. ``quorum`` is
    (witness keys, K, maximum age in seconds or None): demand K of their cosignatures."""
    b = read_bundle(data)
    key = b["root_key"]
    if pinned is not None and pinned != key:
        raise Fault("root-key-mismatch", "the bundle names another root key than the pinned one")
    origin = ORIGIN_PREFIX + b["ledger_id"]
    try:
        size, root, extensions = open_checkpoint_lines(b["checkpoint"], origin, key)
    except (ValueError, Unusable) as err:
        raise Fault("bad-checkpoint", str(err)) from None
    if held is not None:
        check_fresh(size, b["checkpoint"], held, origin, key)
    commits = {c["seq"]: c for c in b["commits"]}
    if len(commits) != len(b["commits"]):
        raise Unusable("bundle: a commit is listed twice")
    events_held = b["registry"] + [e for a in b["aggregates"] for e in a["events"]]
    positions = [e["position"] for e in events_held]
    if len(set(positions)) != len(positions):  # a copy of a genuine event adds nothing: refuse
        raise Unusable("bundle: an event is listed twice")
    for e in events_held:
        check_event(e, size, root, commits)
    signers = check_commits(b, key, commits)
    for a in b["aggregates"]:
        check_links(a)
    complete = check_completeness(b, size, extensions)
    lines = check_transcript(b, signers)
    check_writers(b, signers)
    if quorum is not None:
        cosigned = check_quorum(b["checkpoint"], quorum[0], quorum[1], quorum[2],
                                int(time.time()))
        lines.append("cosigned by witnesses " + ", ".join(
            f"{name} ({time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(t))})"
            for name, t in sorted(cosigned.items())))
    trust = "pinned" if pinned else "named by the bundle, NOT pinned: pass --root-key"
    events = sum(len(a["events"]) for a in b["aggregates"])
    return [f"intact: transcript of learner {b['learner_id']} in ledger {b['ledger_id']}: "
            f"{events} events, each signed and included in the checkpoint of {size} events; "
            f"root key ed25519:{hashlib.sha256(key).hexdigest()[:32]} ({trust})",
            complete or "completeness: NOT proven (a bundle of format /1, or a checkpoint that "
            "predates the index of heads): ask for a bundle against a newer checkpoint",
            *lines], complete is not None


def verify_consistency_file(data: Any, pinned: bytes | None) -> list[str]:
    p = _fields(data, {"ledger_id": str, "root_key": bytes, "old": str, "new": str,
                       "proof": list}, "proof file", ("format",))
    key = p["root_key"]
    if len(key) != 32:
        raise Unusable("the root key is not 32 bytes")
    if pinned is not None and pinned != key:
        raise Fault("root-key-mismatch", "the file names another root key than the pinned one")
    origin = ORIGIN_PREFIX + p["ledger_id"]
    try:
        size1, root1 = open_checkpoint(p["old"], origin, key)
        size2, root2 = open_checkpoint(p["new"], origin, key)
        verify_consistency(size1, size2, p["proof"], root1, root2)
    except (ValueError, Unusable) as err:  # a signed note that is not one fails, as in bundles
        raise Fault("inconsistent", str(err)) from None
    return [f"consistent: ledger {p['ledger_id']} at {size1} events is a prefix of the ledger "
            f"at {size2} events ({'pinned' if pinned else 'root key NOT pinned'})"]


def read_key(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read().strip()
    if data.startswith(b"-----BEGIN"):
        key = load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise Unusable("root key: not an Ed25519 key")
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    for decode in (bytes.fromhex, lambda t: base64.b64decode(t, validate=True)):
        try:
            raw = decode(data.decode("ascii"))
        except (ValueError, binascii.Error):
            continue
        if len(raw) == 32:
            return raw
    raise Unusable("root key: expected PEM, base64 (32 bytes) or hex (64 digits)")


USAGE = ("usage: verify_bundle_standalone.py FILE.json [--root-key KEY_FILE] [--checkpoint "
         "CHECKPOINT_FILE] [--witness VKEY ...] [--quorum K] [--max-age DURATION]")


def parse_args(argv: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The file, and the options (``--witness`` may be given many times)."""
    args: list[str] = []
    options: dict[str, Any] = {"--root-key": None, "--checkpoint": None, "--witness": [],
                               "--quorum": None, "--max-age": None}
    rest = list(argv)
    while rest:
        item = rest.pop(0)
        if item not in options:
            args.append(item)
            continue
        if not rest:
            raise Unusable(f"{item} needs a value")
        if item == "--witness":
            options[item].append(rest.pop(0))
        else:
            options[item] = rest.pop(0)
    return args, options


def witness_policy(options: dict[str, Any]
                   ) -> tuple[list[tuple[str, bytes, bytes]], int, int | None] | None:
    """What --witness/--quorum/--max-age demand (None: no witness check)."""
    given = options["--witness"]
    if not given:
        if options["--quorum"] is not None or options["--max-age"] is not None:
            raise Unusable("--quorum and --max-age need at least one --witness")
        return None
    keys = []
    for vkey in given:
        if os.path.isfile(vkey):
            with open(vkey, encoding="utf-8") as f:
                vkey = f.read()
        keys.append(read_witness_key(vkey))
    text = options["--quorum"]
    k = len(keys) if text is None else int(text) if text.isdigit() else 0
    if not 1 <= k <= len(keys):
        raise Unusable(f"--quorum {text}: choose 1..{len(keys)} (the witnesses given)")
    age = options["--max-age"]
    return keys, k, None if age is None else duration(age)


def main(argv: list[str]) -> int:
    complete = True
    try:
        args, options = parse_args(argv)
        if len(args) != 1:
            print(USAGE, file=sys.stderr)
            return 2
        pinned = read_key(options["--root-key"]) if options["--root-key"] is not None else None
        quorum = witness_policy(options)
        held = None
        if options["--checkpoint"] is not None:
            with open(options["--checkpoint"], encoding="utf-8") as f:
                held = f.read()
        with open(args[0], "rb") as f:
            data = _json(f.read())
        kind = data.get("format") if isinstance(data, dict) else None
        if kind in (BUNDLE_FORMAT, BUNDLE_FORMAT_1):
            lines, complete = verify_bundle(data, pinned, held, quorum)
        elif kind == CONSISTENCY_FORMAT:
            lines = verify_consistency_file(data, pinned)
        else:
            raise Unusable(f"not a {BUNDLE_FORMAT} bundle (format {kind!r})")
    except Fault as fault:
        print(f"TAMPERED: {fault}")
        return 1
    except (Unusable, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # never a traceback, never "intact" by accident
        print(f"error: unusable input ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0 if complete else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
