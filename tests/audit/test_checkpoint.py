"""C2SP tlog-checkpoint bodies and signed notes, byte for byte."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from creditledger.crypto.keys import SigningKey
from creditledger.crypto.note import (
    Checkpoint,
    SignedNote,
    key_hash,
    open_checkpoint,
    origin_for,
    sign_checkpoint,
    sign_note,
    verify_note,
    vkey,
)
from creditledger.errors import CheckpointError

ORIGIN = "creditledger.example/ledger-1"
ROOT = bytes(range(32))


def fixed_key(seed: int) -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def test_the_body_is_origin_size_and_base64_root_lines() -> None:
    body = Checkpoint(ORIGIN, 3, ROOT).body()
    assert body == (b"creditledger.example/ledger-1\n"
                    b"3\n"
                    b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    assert Checkpoint.parse(body) == Checkpoint(ORIGIN, 3, ROOT)
    assert Checkpoint(ORIGIN, 0, ROOT, ("ext line",)).body().endswith(b"\next line\n")


def test_a_signed_checkpoint_matches_one_built_by_hand() -> None:
    key = fixed_key(7)
    raw = key.public_key.raw
    body = b"creditledger.example/ledger-1\n3\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    key_id = hashlib.sha256(b"creditledger.example/ledger-1" + b"\x0a" + b"\x01" + raw).digest()[:4]
    signature = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32).sign(body)  # deterministic
    by_hand = (body.decode() + "\n" + "\u2014 creditledger.example/ledger-1 "
               + base64.b64encode(key_id + signature).decode() + "\n")
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), [key])
    assert note == by_hand
    assert key_hash(ORIGIN, key.public_key) == key_id
    # the signature verifies with plain cryptography over the body bytes
    blob = base64.b64decode(note.rsplit(" ", 1)[1])
    Ed25519PublicKey.from_public_bytes(raw).verify(blob[4:], body)


def test_the_signed_note_format_matches_the_go_reference_example() -> None:
    # golang.org/x/mod/sumdb/note's documented example key and note (Ed25519 is deterministic)
    seed = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(seed))
    text = (b"If you think cryptography is the answer to your problem,\n"
            b"then you don't know what your problem is.\n")
    note = sign_note(text, "PeterNeumann", [key]).format()
    assert note == text.decode() + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pA" \
        "cElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    assert vkey("PeterNeumann", key.public_key) == \
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"


def test_a_rotated_checkpoint_carries_both_signatures_and_either_key_verifies_it() -> None:
    old, new, stranger = fixed_key(1), fixed_key(2), fixed_key(3)
    note = sign_checkpoint(Checkpoint(ORIGIN, 10, ROOT), [old, new])
    assert note.count("\u2014 ") == 2
    parsed = SignedNote.parse(note)
    assert verify_note(parsed, ORIGIN, [old.public_key]) == [old.public_key]
    assert verify_note(parsed, ORIGIN, [new.public_key]) == [new.public_key]
    assert verify_note(parsed, ORIGIN, [old.public_key, new.public_key, stranger.public_key]) \
        == [old.public_key, new.public_key]
    with pytest.raises(CheckpointError, match="not signed by a trusted key"):
        verify_note(parsed, ORIGIN, [stranger.public_key])
    # a bad signature of a trusted key rejects the note, even if the other one is good
    lines = note.splitlines(keepends=True)
    blob = bytearray(base64.b64decode(lines[-1].split(" ")[2]))
    blob[10] ^= 1
    lines[-1] = f"\u2014 {ORIGIN} {base64.b64encode(bytes(blob)).decode()}\n"
    broken = SignedNote.parse("".join(lines))
    assert verify_note(broken, ORIGIN, [old.public_key]) == [old.public_key]  # unknown: ignored
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_note(broken, ORIGIN, [old.public_key, new.public_key])


def test_open_checkpoint_checks_origin_and_signature() -> None:
    key = fixed_key(4)
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), [key])
    assert open_checkpoint(note, ORIGIN, [key.public_key]).size == 5
    with pytest.raises(CheckpointError):
        open_checkpoint(note, origin_for("another"), [key.public_key])
    tampered = note.replace("\n5\n", "\n6\n")
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(tampered, ORIGIN, [key.public_key])


@pytest.mark.parametrize("note", [
    "",
    "no blank line\n",
    "a\n1\nAAAA\n\n\u2014 a AAAA\n",  # root not 32 bytes
    f"{ORIGIN}\n01\n{base64.b64encode(ROOT).decode()}\n\n\u2014 a AAAAAAAA\n",  # leading zero
    f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\n\n- a AAAAAAAA\n",  # not an em dash
    f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\n\n\u2014 a b c\n",
    f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\n\n\u2014 a AAAAAAA\n",  # base64
    f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\x07\n\n\u2014 a AAAAAAAA\n",
])
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(CheckpointError):
        SignedNote.parse(note).checkpoint()


@pytest.mark.parametrize("args", [("", 1, ROOT), ("a b", 1, ROOT), ("a+b", 1, ROOT),
                                  (ORIGIN, -1, ROOT), (ORIGIN, 1, b"short")])
def test_impossible_checkpoints_are_refused(args: tuple[str, int, bytes]) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(*args)
