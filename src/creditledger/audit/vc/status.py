"""Revocation anyone can check offline: W3C Bitstring Status List (VC 2.0).

A certificate's ``credentialStatus`` is a ``BitstringStatusListEntry``: bit ``index`` of the
list ``statusListCredential``. The list is a ``BitstringStatusListCredential`` signed by the
same key as the certificates it covers (so a verifier can require the same issuer), generated
from the ledger: a bit is set when the certificate it stands for is revoked. Its
``encodedList`` is the multibase base64url (``u``) of the GZIP of the bitstring, bit 0 the most
significant bit of the first byte (the specification's order).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from creditledger.audit.vc.contexts import VC_V2
from creditledger.audit.vc.integrity import RDFC, TIME_FORMAT, create_proof, verify_proof
from creditledger.crypto import did
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain.credential_status import LIST_SIZE, status_list_id
from creditledger.errors import InvalidCredentialError

PURPOSE = "revocation"
BASE_URL = "https://w3id.org/creditledger/status-lists/"
"""Where a list is published: this, then the list's UUID (an https URL, which online verifiers
fetch; ``creditledger status-list`` writes the files to publish there). Offline, a verifier is
given the file."""
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusListCredential"


def list_url(key_id: str, list_number: int) -> str:
    """The id (and URL) of list ``list_number`` of the key ``key_id``."""
    return f"{BASE_URL}{status_list_id(key_id, list_number)}"


def entry(key_id: str, list_number: int, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` of a certificate whose bit is ``index`` of that list."""
    url = list_url(key_id, list_number)
    return {"id": f"{url}#{index}", "type": ENTRY_TYPE, "statusPurpose": PURPOSE,
            "statusListIndex": str(index), "statusListCredential": url}


def encode(indices: Iterable[int], size: int = LIST_SIZE) -> str:
    """The ``encodedList`` of a list of ``size`` bits with ``indices`` set (deterministic:
    the GZIP header carries no time)."""
    bits = bytearray(size // 8)
    for index in indices:
        if not 0 <= index < size:
            raise ValueError(f"index {index} is outside a list of {size} entries")
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=")
    return "u" + packed.decode("ascii")


def decode(encoded: object) -> bytes:
    """The bitstring of an ``encodedList`` (:class:`InvalidCredentialError` if it is none)."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise InvalidCredentialError("encodedList is not multibase base64url ('u...')")
    try:
        packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
        bits = gzip.decompress(packed)
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error) as e:
        raise InvalidCredentialError(f"encodedList is not a GZIP bitstring ({e})") from None
    if len(bits) * 8 < LIST_SIZE:
        raise InvalidCredentialError(f"the list has {len(bits) * 8} entries; at least "
                                     f"{LIST_SIZE} are required")
    return bits


def list_credential(key: SigningKey, list_number: int, revoked: Iterable[int], *,
                    valid_from: datetime) -> dict[str, Any]:
    """The signed status list ``list_number`` of ``key``, with the ``revoked`` bits set."""
    url = list_url(key.key_id, list_number)
    document = {
        "@context": [VC_V2], "id": url, "type": ["VerifiableCredential", LIST_TYPE],
        "issuer": did.did_key(key.public_key), "validFrom": valid_from.strftime(TIME_FORMAT),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList",
                              "statusPurpose": PURPOSE, "encodedList": encode(revoked)},
    }
    return {**document, "proof": create_proof(document, key, created=valid_from,
                                              cryptosuite=RDFC)}


def revoked(status: Mapping[str, Any], lists: Mapping[str, Mapping[str, Any]], *,
            issuer: str) -> bool:
    """Whether the list says the credential with ``status`` (its ``credentialStatus``) was
    revoked. ``lists`` are the status list credentials at hand, by id; the one it names must
    be there, signed by ``issuer`` (the credential's issuer)."""
    if status.get("type") != ENTRY_TYPE or status.get("statusPurpose") != PURPOSE:
        raise InvalidCredentialError(f"credentialStatus is not a {ENTRY_TYPE} for {PURPOSE}")
    url = status.get("statusListCredential")
    index = _index(status.get("statusListIndex"))
    found = lists.get(str(url))
    if found is None:
        raise InvalidCredentialError(f"the status list {url} was not given")
    check_list(found, issuer)
    bits = decode(found["credentialSubject"].get("encodedList"))
    if index >= len(bits) * 8:
        raise InvalidCredentialError(f"statusListIndex {index} is past the list's end")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def check_list(document: Mapping[str, Any], issuer: str) -> PublicKey:
    """A status list credential: its shape, issuer and proof (the key that signed it)."""
    subject = document.get("credentialSubject")
    if document.get("type") != ["VerifiableCredential", LIST_TYPE] \
            or not isinstance(subject, dict) or subject.get("statusPurpose") != PURPOSE:
        raise InvalidCredentialError(f"the status list is not a {LIST_TYPE} for {PURPOSE}")
    if document.get("issuer") != issuer:
        raise InvalidCredentialError(f"the status list was issued by {document.get('issuer')},"
                                     f" not by the credential's issuer {issuer}")
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise InvalidCredentialError("the status list is not signed (one proof expected)")
    key = verify_proof({k: v for k, v in document.items() if k != "proof"}, proof)
    if did.did_key(key) != issuer:
        raise InvalidCredentialError("the status list's proof is not by its issuer's key")
    return key


def _index(value: object) -> int:
    if not isinstance(value, str) or not value.isdigit():
        raise InvalidCredentialError(f"statusListIndex {value!r} is not a decimal number")
    return int(value)
