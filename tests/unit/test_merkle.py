"""RFC 9162 hashing and proofs, against every test vector in tests/data/rfc9162."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.log import merkle

# Copied into the repository (with their licence) so a clone anywhere runs them.
VECTORS = Path(__file__).resolve().parents[1] / "data" / "rfc9162"
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                     "5051525354555657", "606162636465666768696a6b6c6d6e6f")]


def files(kind: str) -> list[Path]:
    found = sorted((VECTORS / kind).rglob("*.json"))
    assert found, f"no {kind} vectors under {VECTORS}"
    return found


def b64(value: str) -> bytes:
    return base64.b64decode(value) if value else b""


@pytest.mark.parametrize("path", files("inclusion"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_inclusion_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    args = (case["leafIdx"], case["treeSize"], b64(case["leafHash"]),
            [b64(p) for p in case["proof"] or []], b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", files("consistency"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_consistency_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    args = (case["size1"], case["size2"], b64(case["root1"]), b64(case["root2"]),
            [b64(p) for p in case["proof"] or []])
    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_reference_root_of_the_eight_leaves() -> None:
    root = merkle.root_of([merkle.leaf_hash(x) for x in LEAVES])
    assert base64.b64encode(root).decode() == "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


def test_generated_proofs_match_the_vectors() -> None:
    hashes = [merkle.leaf_hash(x) for x in LEAVES]

    def mth(a: int, b: int) -> bytes:
        return merkle.root_of(hashes[a:b])

    for path in files("inclusion"):
        case = json.loads(path.read_text())
        if not case["wantErr"] and path.parent.name.isdigit():
            assert merkle.inclusion_proof(case["leafIdx"], case["treeSize"], mth) == \
                [b64(p) for p in case["proof"] or []]
    for path in files("consistency"):
        case = json.loads(path.read_text())
        if not case["wantErr"] and path.parent.name.isdigit():
            assert merkle.consistency_proof(case["size1"], case["size2"], mth) == \
                [b64(p) for p in case["proof"] or []]


def naive_root(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return merkle.node_hash(naive_root(hashes[:k]), naive_root(hashes[k:]))


@given(st.integers(1, 300))
def test_compact_range_equals_the_recursive_definition(n: int) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    rng = merkle.CompactRange()
    for h in hashes:
        rng.append(h)
    assert rng.root() == naive_root(hashes)
    again = merkle.CompactRange.from_bytes(rng.size, rng.to_bytes())
    assert again.root() == rng.root()


@given(st.integers(1, 70), st.data())
def test_generated_proofs_verify(n: int, data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]

    def mth(a: int, b: int) -> bytes:
        return naive_root(hashes[a:b])

    m = data.draw(st.integers(0, n - 1))
    merkle.verify_inclusion(m, n, hashes[m], merkle.inclusion_proof(m, n, mth), mth(0, n))
    first = data.draw(st.integers(1, n))
    merkle.verify_consistency(first, n, mth(0, first), mth(0, n),
                              merkle.consistency_proof(first, n, mth))


def test_the_vectors_live_in_the_repository_with_their_licence() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert VECTORS.is_relative_to(repo / "tests")
    assert "Apache License" in (VECTORS / "LICENSE").read_text()
    assert len(files("inclusion")) + len(files("consistency")) > 100
