"""Tests for creditledger.crypto.merkle: RFC 9162 golden data, reference agreement, tampering."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import sys
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditledger.crypto import merkle
from creditledger.crypto.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    InvalidProof,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_hashes,
    verify_consistency,
    verify_inclusion,
)
from creditledger.crypto.merkle_tree import MemoryNodeStore, MerkleTree

from . import merkle_reference as ref

# --- golden data: transparency-dev/merkle testdata --------------------------------------------

GOLDEN_CASE_COUNT = 196


def _golden_dir() -> Path:
    """$CREDITLEDGER_TESTDATA (the testdata root or rfc9162/ itself), else the copy vendored
    in ``tests/data/rfc9162`` (Apache-2.0, see its README)."""
    override = os.environ.get("CREDITLEDGER_TESTDATA")
    if not override:
        return Path(__file__).resolve().parents[1] / "data" / "rfc9162"
    root = Path(override)
    return root / "rfc9162" if (root / "rfc9162").is_dir() else root


GOLDEN_DIR = _golden_dir()
GOLDEN_FILES = sorted(GOLDEN_DIR.rglob("*.json")) if GOLDEN_DIR.is_dir() else []
MISSING_GOLDEN_FILE = GOLDEN_DIR / "golden-data-is-missing.json"

# The leaves behind the golden happy paths (transparency-dev/merkle testonly.LeafInputs).
GOLDEN_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _case_id(path: Path) -> str:
    return path.relative_to(GOLDEN_DIR).with_suffix("").as_posix()


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _golden_proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case["proof"] or []]  # some files say "proof": null


def _check_golden_inclusion(case: dict[str, Any]) -> None:
    leaf, root = _b64(case["leafHash"]), _b64(case["root"])
    verify_inclusion(leaf, case["leafIdx"], case["treeSize"], _golden_proof(case), root)


def _check_golden_consistency(case: dict[str, Any]) -> None:
    root1, root2 = _b64(case["root1"]), _b64(case["root2"])
    verify_consistency(case["size1"], case["size2"], _golden_proof(case), root1, root2)


def _golden_happy_paths(kind: str) -> list[dict[str, Any]]:
    happy = [p for p in GOLDEN_FILES if p.name == "happy-path.json"]
    return [_load(p) for p in happy if _case_id(p).startswith(f"{kind}/")]


def test_golden_data_is_present_with_every_case() -> None:
    assert GOLDEN_DIR.is_dir(), f"RFC 9162 golden data not found at {GOLDEN_DIR}"
    assert len(GOLDEN_FILES) == GOLDEN_CASE_COUNT
    kinds = {(_case_id(p).split("/")[0], _load(p)["wantErr"]) for p in GOLDEN_FILES}
    assert kinds == {(k, e) for k in ("inclusion", "consistency") for e in (True, False)}


@pytest.mark.parametrize("case_file", GOLDEN_FILES or [MISSING_GOLDEN_FILE], ids=_case_id)
def test_golden_case_verifies_exactly_when_it_is_labelled_good(case_file: Path) -> None:
    assert case_file.is_file(), f"RFC 9162 golden data not found at {GOLDEN_DIR}"
    case = _load(case_file)
    check = _check_golden_inclusion if "leafIdx" in case else _check_golden_consistency
    if case["wantErr"]:
        with pytest.raises(InvalidProof):
            check(case)
    else:
        check(case)


def test_generated_inclusion_proofs_equal_the_golden_happy_paths() -> None:
    hashes = [leaf_hash(d) for d in GOLDEN_LEAVES]
    tree = _tree_from_hashes(hashes)
    cases = _golden_happy_paths("inclusion")
    assert len(cases) == 5
    for case in cases:
        index, size = case["leafIdx"], case["treeSize"]
        assert inclusion_proof(hashes, index, size) == _golden_proof(case)
        assert tree.inclusion_proof(index, size) == _golden_proof(case)
        assert tree.root(size) == root_from_hashes(hashes[:size]) == _b64(case["root"])


def test_generated_consistency_proofs_equal_the_golden_happy_paths() -> None:
    hashes = [leaf_hash(d) for d in GOLDEN_LEAVES]
    tree = _tree_from_hashes(hashes)
    cases = _golden_happy_paths("consistency")
    assert len(cases) == 5
    for case in cases:
        size1, size2 = case["size1"], case["size2"]
        assert consistency_proof(hashes, size1, size2) == _golden_proof(case)
        assert tree.consistency_proof(size1, size2) == _golden_proof(case)
        assert (tree.root(size1), tree.root(size2)) == (_b64(case["root1"]), _b64(case["root2"]))


# --- helpers for the property tests -----------------------------------------------------------

MAX_LEAVES = 300
# At least 150 examples (about 4 s for this file), more under a bigger loaded profile (soak).
PROPERTY_SETTINGS = settings(max_examples=max(150, settings().max_examples), deadline=None)


def _tree_from_hashes(hashes: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    for h in hashes:
        tree.append_hash(h)
    return tree


@cache
def _fixture(n: int) -> tuple[list[bytes], list[bytes], MerkleTree]:
    """n distinct data entries, their leaf hashes, and the tree built by appending them."""
    data = [b"entry %d" % i for i in range(n)]
    hashes = [leaf_hash(d) for d in data]
    return data, hashes, _tree_from_hashes(hashes)


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _verifies(check: Callable[[], None]) -> bool:
    try:
        check()
    except InvalidProof:
        return False
    return True


bits = st.integers(0, HASH_SIZE * 8 - 1)
tree_sizes = st.integers(1, MAX_LEAVES)


@st.composite
def inclusion_cases(draw: st.DrawFn, min_size: int = 1) -> tuple[int, int, int]:
    """(n leaves appended, size of the proved tree, leaf index)."""
    n = draw(st.integers(min_size, MAX_LEAVES))
    size = draw(st.integers(min_size, n))
    return n, size, draw(st.integers(0, size - 1))


@st.composite
def consistency_cases(draw: st.DrawFn, strict: bool = False) -> tuple[int, int, int]:
    """(n leaves appended, size1, size2) with 0 < size1 <= size2 <= n (size1 < size2 if strict)."""
    n = draw(st.integers(2 if strict else 1, MAX_LEAVES))
    size2 = draw(st.integers(2 if strict else 1, n))
    return n, draw(st.integers(1, size2 - 1 if strict else size2)), size2


def changed_sizes(size: int) -> st.SearchStrategy[int]:
    """Sizes near ``size`` (where equal proof shapes are common) or anywhere in range."""
    return st.integers(max(0, size - 4), size + 4) | st.integers(0, MAX_LEAVES + 2)


def _inclusion(n: int, size: int, index: int) -> tuple[bytes, list[bytes], bytes]:
    _, hashes, tree = _fixture(n)
    return hashes[index], tree.inclusion_proof(index, size), tree.root(size)


def _consistency(n: int, size1: int, size2: int) -> tuple[list[bytes], bytes, bytes]:
    _, _, tree = _fixture(n)
    return tree.consistency_proof(size1, size2), tree.root(size1), tree.root(size2)


# --- fast tree == module functions == literal RFC reference -----------------------------------


@PROPERTY_SETTINGS
@given(n=tree_sizes, data=st.data())
def test_roots_equal_the_rfc_mth_for_every_tree_size(n: int, data: st.DataObject) -> None:
    entries, hashes, tree = _fixture(n)
    size = data.draw(st.integers(0, n))
    expected = ref.mth(entries[:size])
    assert root_from_hashes(hashes[:size]) == expected
    assert tree.root(size) == expected
    assert tree.root() == ref.mth(entries)


@PROPERTY_SETTINGS
@given(inclusion_cases())
def test_inclusion_proofs_equal_the_rfc_path_and_verify(case: tuple[int, int, int]) -> None:
    n, size, index = case
    entries, hashes, tree = _fixture(n)
    expected = ref.path(index, entries[:size])
    assert inclusion_proof(hashes, index, size) == expected
    assert tree.inclusion_proof(index, size) == expected
    verify_inclusion(hashes[index], index, size, expected, ref.mth(entries[:size]))


@PROPERTY_SETTINGS
@given(consistency_cases())
def test_consistency_proofs_equal_the_rfc_subproof_and_verify(case: tuple[int, int, int]) -> None:
    n, size1, size2 = case
    entries, hashes, tree = _fixture(n)
    expected = ref.proof(size1, entries[:size2])
    assert consistency_proof(hashes, size1, size2) == expected
    assert tree.consistency_proof(size1, size2) == expected
    verify_consistency(size1, size2, expected, ref.mth(entries[:size1]), ref.mth(entries[:size2]))


# --- tampered inclusion proofs are rejected ---------------------------------------------------


@PROPERTY_SETTINGS
@given(inclusion_cases(min_size=2), st.data(), bits)
def test_flipped_bit_in_inclusion_proof_is_rejected(
    case: tuple[int, int, int], data: st.DataObject, bit: int
) -> None:
    n, size, index = case
    leaf, proof, root = _inclusion(n, size, index)
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = _flip(proof[position], bit)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, proof, root)


@PROPERTY_SETTINGS
@given(inclusion_cases(), bits)
def test_flipped_bit_in_leaf_hash_is_rejected(case: tuple[int, int, int], bit: int) -> None:
    n, size, index = case
    leaf, proof, root = _inclusion(n, size, index)
    with pytest.raises(InvalidProof):
        verify_inclusion(_flip(leaf, bit), index, size, proof, root)


@PROPERTY_SETTINGS
@given(inclusion_cases(), bits)
def test_flipped_bit_in_inclusion_root_is_rejected(case: tuple[int, int, int], bit: int) -> None:
    n, size, index = case
    leaf, proof, root = _inclusion(n, size, index)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, proof, _flip(root, bit))


@PROPERTY_SETTINGS
@given(inclusion_cases(), st.data())
def test_added_or_removed_inclusion_proof_hash_is_rejected(
    case: tuple[int, int, int], data: st.DataObject
) -> None:
    n, size, index = case
    leaf, proof, root = _inclusion(n, size, index)
    position = data.draw(st.integers(0, len(proof)))
    remove = data.draw(st.booleans(), label="remove")
    if proof and remove:
        del proof[min(position, len(proof) - 1)]
    else:
        proof.insert(position, data.draw(st.sampled_from([*proof, root, leaf, EMPTY_ROOT])))
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, proof, root)


@PROPERTY_SETTINGS
@given(inclusion_cases(min_size=2), st.data())
def test_changed_leaf_index_is_rejected(case: tuple[int, int, int], data: st.DataObject) -> None:
    n, size, index = case
    leaf, proof, root = _inclusion(n, size, index)
    other = data.draw(st.integers(0, size + 2).filter(lambda i: i != index))
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, other, size, proof, root)


@PROPERTY_SETTINGS
@given(inclusion_cases(), st.data())
def test_changed_tree_size_is_rejected_unless_the_path_shape_is_identical(
    case: tuple[int, int, int], data: st.DataObject
) -> None:
    # An inclusion proof does not commit to the tree size by itself: e.g. leaf 0 of 3 and of 4
    # have the same path shape. The size must come authenticated with the root.
    n, size, index = case
    other = data.draw(changed_sizes(size))
    leaf, proof, root = _inclusion(n, size, index)
    same_shape = index < other and ref.path_shape(index, other) == ref.path_shape(index, size)
    assert _verifies(lambda: verify_inclusion(leaf, index, other, proof, root)) == same_shape


# --- tampered consistency proofs are rejected -------------------------------------------------


@PROPERTY_SETTINGS
@given(consistency_cases(strict=True), st.data(), bits)
def test_flipped_bit_in_consistency_proof_is_rejected(
    case: tuple[int, int, int], data: st.DataObject, bit: int
) -> None:
    n, size1, size2 = case
    proof, root1, root2 = _consistency(n, size1, size2)
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = _flip(proof[position], bit)
    with pytest.raises(InvalidProof):
        verify_consistency(size1, size2, proof, root1, root2)


@PROPERTY_SETTINGS
@given(consistency_cases(), st.booleans(), bits)
def test_flipped_bit_in_either_consistency_root_is_rejected(
    case: tuple[int, int, int], in_first: bool, bit: int
) -> None:
    n, size1, size2 = case
    proof, root1, root2 = _consistency(n, size1, size2)
    if in_first:
        root1 = _flip(root1, bit)
    else:
        root2 = _flip(root2, bit)
    with pytest.raises(InvalidProof):
        verify_consistency(size1, size2, proof, root1, root2)


@PROPERTY_SETTINGS
@given(consistency_cases(), st.data())
def test_added_or_removed_consistency_proof_hash_is_rejected(
    case: tuple[int, int, int], data: st.DataObject
) -> None:
    n, size1, size2 = case
    proof, root1, root2 = _consistency(n, size1, size2)
    position = data.draw(st.integers(0, len(proof)))
    remove = data.draw(st.booleans(), label="remove")
    if proof and remove:
        del proof[min(position, len(proof) - 1)]
    else:
        proof.insert(position, data.draw(st.sampled_from([*proof, root1, root2, EMPTY_ROOT])))
    with pytest.raises(InvalidProof):
        verify_consistency(size1, size2, proof, root1, root2)


@PROPERTY_SETTINGS
@given(consistency_cases(), st.data())
def test_changed_consistency_sizes_are_rejected_unless_the_proof_shape_is_identical(
    case: tuple[int, int, int], data: st.DataObject
) -> None:
    # Like inclusion proofs, consistency proofs do not commit to the sizes by themselves:
    # e.g. the proofs from 2 to 3 and from 2 to 4 have the same shape.
    n, size1, size2 = case
    other1, other2 = data.draw(changed_sizes(size1)), data.draw(changed_sizes(size2))
    proof, root1, root2 = _consistency(n, size1, size2)
    shape = ref.subproof_shape(size1, size2)
    same_shape = 0 < other1 <= other2 and ref.subproof_shape(other1, other2) == shape
    verdict = _verifies(lambda: verify_consistency(other1, other2, proof, root1, root2))
    assert verdict == same_shape


def test_proofs_verify_for_other_sizes_with_the_same_shape_so_sizes_need_a_signed_root() -> None:
    leaf, proof, root = _inclusion(4, 3, 0)
    assert ref.path_shape(0, 3) == ref.path_shape(0, 4)
    verify_inclusion(leaf, 0, 4, proof, root)  # the size-3 proof and root, claimed as size 4
    proof, root1, root2 = _consistency(4, 2, 3)
    assert ref.subproof_shape(2, 3) == ref.subproof_shape(2, 4)
    verify_consistency(2, 4, proof, root1, root2)  # the 2 -> 3 proof, claimed as 2 -> 4


# --- edge cases -------------------------------------------------------------------------------


def test_leaf_and_node_hashes_are_sha256_with_rfc_domain_prefixes() -> None:
    left, right = b"L" * HASH_SIZE, b"R" * HASH_SIZE
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(b"").hex().startswith("6e340b9cffb37a98")


def test_empty_tree_root_is_sha256_of_the_empty_string() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root_from_hashes([]) == EMPTY_ROOT
    assert MerkleTree().root() == MerkleTree().root(0) == EMPTY_ROOT


def test_single_leaf_tree_has_the_leaf_hash_as_root_and_an_empty_inclusion_proof() -> None:
    leaf = leaf_hash(b"only")
    tree = _tree_from_hashes([leaf])
    assert root_from_hashes([leaf]) == tree.root() == leaf
    assert inclusion_proof([leaf], 0, 1) == tree.inclusion_proof(0, 1) == []
    verify_inclusion(leaf, 0, 1, [], leaf)


def test_consistency_between_equal_sizes_is_an_empty_proof_and_needs_equal_roots() -> None:
    _, hashes, tree = _fixture(7)
    for size in range(1, 8):
        assert consistency_proof(hashes, size, size) == tree.consistency_proof(size, size) == []
        verify_consistency(size, size, [], tree.root(size), tree.root(size))
        with pytest.raises(InvalidProof, match="different roots"):
            verify_consistency(size, size, [], tree.root(size), tree.root(size % 7 + 1))
        with pytest.raises(InvalidProof, match="must be empty"):
            verify_consistency(size, size, [tree.root(size)], tree.root(size), tree.root(size))


def test_consistency_from_an_empty_tree_is_neither_produced_nor_accepted() -> None:
    # transparency-dev/merkle golden data rejects every size1 == 0 case, even 0 -> 0.
    _, hashes, tree = _fixture(3)
    for size2 in range(4):
        with pytest.raises(InvalidProof, match="empty tree"):
            consistency_proof(hashes, 0, size2)
        with pytest.raises(InvalidProof, match="empty tree"):
            tree.consistency_proof(0, size2)
        with pytest.raises(InvalidProof, match="empty tree"):
            verify_consistency(0, size2, [], EMPTY_ROOT, tree.root(size2))


def test_inclusion_in_an_empty_tree_is_rejected() -> None:
    with pytest.raises(InvalidProof):
        inclusion_proof([], 0, 0)
    with pytest.raises(InvalidProof):
        MerkleTree().inclusion_proof(0, 0)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf_hash(b""), 0, 0, [], EMPTY_ROOT)


H = leaf_hash(b"x")
SHORT = H[:-1]
MALFORMED_CALLS: dict[str, Callable[[], object]] = {
    "index-equal-to-size": lambda: verify_inclusion(H, 3, 3, [H, H], H),
    "negative-index": lambda: verify_inclusion(H, -1, 3, [H, H], H),
    "negative-size": lambda: verify_consistency(-1, 3, [H], H, H),
    "size1-above-size2": lambda: verify_consistency(4, 3, [H], H, H),
    "boolean-size": lambda: verify_inclusion(H, 0, True, [], H),
    "short-leaf-hash": lambda: verify_inclusion(SHORT, 0, 1, [], H),
    "short-root": lambda: verify_inclusion(H, 0, 1, [], SHORT),
    "short-proof-hash": lambda: verify_inclusion(H, 0, 2, [SHORT], H),
    "short-consistency-root": lambda: verify_consistency(1, 2, [H], SHORT, H),
    "short-consistency-proof-hash": lambda: verify_consistency(1, 2, [SHORT], H, H),
    "non-bytes-hash": lambda: verify_inclusion(H, 0, 2, ["x" * 32], H),  # type: ignore[list-item]
    "short-leaf-in-list": lambda: root_from_hashes([H, SHORT]),
    "proof-size-beyond-leaves": lambda: inclusion_proof([H, H], 0, 3),
    "consistency-beyond-leaves": lambda: consistency_proof([H, H], 1, 3),
    "tree-proof-beyond-size": lambda: _tree_from_hashes([H]).inclusion_proof(0, 2),
    "tree-root-beyond-size": lambda: _tree_from_hashes([H]).root(2),
    "append-short-hash": lambda: MerkleTree().append_hash(SHORT),
}


@pytest.mark.parametrize("call", MALFORMED_CALLS.values(), ids=MALFORMED_CALLS.keys())
def test_malformed_arguments_raise_invalid_proof(call: Callable[[], object]) -> None:
    with pytest.raises(InvalidProof):
        call()


def test_invalid_proof_is_a_value_error() -> None:
    assert issubclass(InvalidProof, ValueError)


# --- the incremental tree ---------------------------------------------------------------------


class CountingStore(MemoryNodeStore):
    """A MemoryNodeStore that counts reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super().get(level, index)


def test_appending_stores_exactly_the_completed_perfect_subtrees() -> None:
    store = MemoryNodeStore()
    tree = MerkleTree(store)
    for n in range(1, 70):
        tree.append(b"%d" % n)
        expected = {(lvl, k) for lvl in range(8) for k in range(n >> lvl) if (k + 1) << lvl <= n}
        assert set(store.nodes) == expected
        assert len(store) == 2 * n - n.bit_count()


def test_reopened_tree_continues_with_identical_roots_and_proofs() -> None:
    _, hashes, full = _fixture(77)
    store = MemoryNodeStore()
    first = MerkleTree(store)
    for h in hashes[:40]:
        first.append_hash(h)
    reopened = MerkleTree(store, 40)
    for h in hashes[40:]:
        reopened.append_hash(h)
    assert reopened.size == 77
    assert reopened.root() == full.root()
    assert reopened.inclusion_proof(39, 77) == full.inclusion_proof(39, 77)
    assert reopened.consistency_proof(40, 77) == full.consistency_proof(40, 77)


def _reads_of(store: CountingStore, operation: Callable[[], object]) -> int:
    store.reads = 0
    operation()
    return store.reads


def test_roots_and_proofs_read_logarithmically_many_nodes() -> None:
    store = CountingStore()
    tree = MerkleTree(store)
    for i in range(1500):
        tree.append(b"%d" % i)
    assert store.reads == 0, "appending must not read the store"
    for size in [1, 2, 3, 255, 256, 257, 1000, 1023, 1024, 1025, 1499, 1500]:
        reads = [_reads_of(store, partial(tree.root, size))]
        for index in {0, size // 2, size - 1}:
            reads.append(_reads_of(store, partial(tree.inclusion_proof, index, size)))
        for size1 in {1, size // 3 or 1, size}:
            reads.append(_reads_of(store, partial(tree.consistency_proof, size1, size)))
        assert max(reads) <= 2 * size.bit_length() + 1, (size, reads)


def test_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(merkle.__file__).read_text(encoding="utf-8"))
    nodes = list(ast.walk(tree))
    imported = {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in nodes if isinstance(n, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} <= set(sys.stdlib_module_names)
