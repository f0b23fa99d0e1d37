"""The standalone verifier's building blocks agree with creditledger's own, bit for bit."""

from __future__ import annotations

import ast
import base64
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditledger.domain.ids import natural_key_id
from creditledger.store.format import CommitStatement, EventLink, datetime_to_micros

from .helpers import STANDALONE, load_standalone

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "rfc9162"  # vendored, Apache-2.0
_msgpack = msgspec.msgpack.Encoder(order="deterministic")
INTS = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 300), st.integers(-(2**63), -1))


@pytest.fixture(scope="module")
def sv() -> ModuleType:
    return load_standalone()


def test_the_standalone_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(STANDALONE.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    outside = {n.split(".")[0] for n in names} - set(sys.stdlib_module_names)
    assert outside == {"cryptography"}


@given(position=INTS, seq=INTS, oid=st.text(max_size=40), version=INTS,
       topic=st.text(max_size=300), state=st.binary(max_size=70_000),
       prev=st.binary(max_size=40), prev_agg=st.binary(max_size=40))
def test_event_links_encode_exactly_as_msgspec_encodes_them(
    position: int, seq: int, oid: str, version: int, topic: str, state: bytes, prev: bytes,
    prev_agg: bytes,
) -> None:
    sv = sys.modules.get("verify_bundle_standalone") or load_standalone()
    link = EventLink(position, seq, oid, version, topic, state, prev, prev_agg)
    assert sv.msgpack([position, seq, oid, version, topic, state, prev, prev_agg]) == \
        _msgpack.encode(link)


@given(ledger=st.text(max_size=40), seq=INTS, first=INTS, at=INTS, key=st.text(max_size=40),
       hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=40))
def test_commit_statements_encode_exactly_as_msgspec_encodes_them(
    ledger: str, seq: int, first: int, at: int, key: str, hashes: list[bytes],
) -> None:
    sv = sys.modules.get("verify_bundle_standalone") or load_standalone()
    statement = CommitStatement(ledger, seq, first, at, key, hashes)
    assert sv.COMMIT_DOMAIN + sv.msgpack([ledger, seq, first, at, key, hashes]) == \
        statement.message()


def test_long_arrays_and_strings_use_the_wide_headers(sv: ModuleType) -> None:
    for value in (["x"] * 70_000, "y" * 70_000, b"z" * 70_000, list(range(20))):
        assert sv.msgpack(value) == _msgpack.encode(value)


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2400, 1, 1),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                               timezone(timedelta(hours=-3, minutes=-30))])))
def test_times_read_as_the_store_reads_them(moment: datetime) -> None:
    sv = sys.modules.get("verify_bundle_standalone") or load_standalone()
    text = msgspec.json.encode(moment).decode().strip('"')
    assert sv.micros(text) == datetime_to_micros(moment)


@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_natural_key_ids_agree(parts: list[str]) -> None:
    sv = sys.modules.get("verify_bundle_standalone") or load_standalone()
    assert sv.natural_key_id(*parts) == natural_key_id(*parts).hex


def _golden(kind: str) -> list[dict[str, Any]]:
    files = sorted((GOLDEN / kind).rglob("*.json"))
    assert files, f"the vendored RFC 9162 golden data is missing from {GOLDEN}"
    return [json.loads(f.read_text()) for f in files]


def test_standalone_proof_checks_agree_with_the_rfc_9162_golden_data(sv: ModuleType) -> None:
    b64 = base64.b64decode
    for case in _golden("inclusion"):
        try:
            sv.verify_inclusion(b64(case["leafHash"] or ""), case["leafIdx"], case["treeSize"],
                                [b64(p) for p in case["proof"] or []], b64(case["root"] or ""))
            ok = True
        except ValueError:
            ok = False
        assert ok != case["wantErr"], case["desc"]
    for case in _golden("consistency"):
        try:
            sv.verify_consistency(case["size1"], case["size2"],
                                  [b64(p) for p in case["proof"] or []],
                                  b64(case["root1"] or ""), b64(case["root2"] or ""))
            ok = True
        except ValueError:
            ok = False
        assert ok != case["wantErr"], case["desc"]
