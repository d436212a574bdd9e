"""RFC 6962/9162 primitives against a naive recursive reference (every index of every size up to 130)
and the Certificate Transparency frozen vectors, so our tree agrees with every other CT implementation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from synthguard.errors import ProofMismatch
from synthguard.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    Hash,
    InclusionProof,
    frontier_indexes,
    hashes_for_leaf,
    inclusion_path_length,
    leaf_hash,
    new_hash_indexes,
    node_hash,
    prove_consistency,
    prove_inclusion,
    size_for_stored_count,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 130

# --- the reference: RFC 6962 section 2.1, written as recursively as the RFC states it -------------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(len(leaves))
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [ref_mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], complete), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


# --- a storage built the way log.py builds it: appending through hashes_for_leaf -----------------


class DictStore:
    def __init__(self) -> None:
        self.hashes: dict[int, Hash] = {}
        self.size = 0

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        return [self.hashes[i] for i in indexes]

    def append(self, data: bytes) -> None:
        n = self.size
        siblings = self.read_hashes(new_hash_indexes(n))
        for offset, h in enumerate(hashes_for_leaf(n, leaf_hash(data), siblings)):
            assert stored_hash_index(0, n) + offset not in self.hashes, "a stored hash is never rewritten"
            self.hashes[stored_hash_index(0, n) + offset] = h
        self.size += 1


LEAVES = [f"entry {i}".encode() for i in range(MAX_SIZE)]


@pytest.fixture(scope="module")
def store() -> DictStore:
    s = DictStore()
    for data in LEAVES:
        s.append(data)
    return s


def test_roots_match_the_reference_for_every_size(store: DictStore) -> None:
    assert tree_hash(0, store) == EMPTY_ROOT == ref_mth([])
    for size in range(1, MAX_SIZE + 1):
        assert tree_hash(size, store) == ref_mth(LEAVES[:size]), size


def test_inclusion_proofs_match_the_reference_and_verify_for_every_index(store: DictStore) -> None:
    for size in range(1, MAX_SIZE + 1):
        root = ref_mth(LEAVES[:size])
        for index in range(size):
            proof = prove_inclusion(size, index, store)
            assert list(proof.hashes) == ref_path(index, LEAVES[:size]), (size, index)
            assert len(proof.hashes) == inclusion_path_length(index, size)
            verify_inclusion(proof, leaf_hash(LEAVES[index]), root)


def test_consistency_proofs_match_the_reference_and_verify_for_every_pair(store: DictStore) -> None:
    for second in range(1, MAX_SIZE + 1, 3):
        second_root = ref_mth(LEAVES[:second])
        for first in range(1, second + 1):
            proof = prove_consistency(first, second, store)
            assert list(proof.hashes) == ref_subproof(first, LEAVES[:second], True), (first, second)
            verify_consistency(proof, ref_mth(LEAVES[:first]), second_root)


def test_a_wrong_leaf_sibling_or_root_is_rejected(store: DictStore) -> None:
    size, index = 77, 41
    proof = prove_inclusion(size, index, store)
    root = tree_hash(size, store)
    with pytest.raises(ProofMismatch):
        verify_inclusion(proof, leaf_hash(b"forged"), root)
    for i in range(len(proof.hashes)):
        bad = list(proof.hashes)
        bad[i] = leaf_hash(b"x")
        with pytest.raises(ProofMismatch):
            verify_inclusion(InclusionProof(index, size, tuple(bad)), leaf_hash(LEAVES[index]), root)
    with pytest.raises(ProofMismatch):  # right hashes, wrong position: a reordered entry
        verify_inclusion(InclusionProof(index + 1, size, proof.hashes), leaf_hash(LEAVES[index]), root)


def test_truncated_or_padded_proofs_are_rejected_as_such(store: DictStore) -> None:
    proof = prove_inclusion(100, 37, store)
    root = tree_hash(100, store)
    with pytest.raises(ProofMismatch, match="too short"):
        verify_inclusion(InclusionProof(37, 100, proof.hashes[:-1]), leaf_hash(LEAVES[37]), root)
    with pytest.raises(ProofMismatch, match="too long"):
        verify_inclusion(InclusionProof(37, 100, (*proof.hashes, root)), leaf_hash(LEAVES[37]), root)
    with pytest.raises(ProofMismatch, match="outside"):
        verify_inclusion(InclusionProof(100, 100, proof.hashes), leaf_hash(LEAVES[37]), root)


def test_consistency_detects_a_rewritten_history(store: DictStore) -> None:
    proof = prove_consistency(20, 90, store)
    forged = ref_mth([b"rewritten", *LEAVES[1:20]])
    with pytest.raises(ProofMismatch):
        verify_consistency(proof, forged, tree_hash(90, store))
    with pytest.raises(ProofMismatch):
        verify_consistency(
            ConsistencyProof(20, 90, proof.hashes[:-1]), tree_hash(20, store), tree_hash(90, store)
        )
    with pytest.raises(ProofMismatch, match="different roots"):
        verify_consistency(ConsistencyProof(5, 5, ()), tree_hash(5, store), tree_hash(6, store))


def test_stored_layout_is_go_tlogs() -> None:
    # Values from golang.org/x/mod/sumdb/tlog: the dense order 0,1,2(level1),3,4,5(l1),6(l2),...
    assert [stored_hash_index(0, n) for n in range(8)] == [0, 1, 3, 4, 7, 8, 10, 11]
    assert [stored_hash_index(1, n) for n in range(4)] == [2, 5, 9, 12]
    assert stored_hash_index(2, 0) == 6 and stored_hash_index(3, 0) == 14
    for size in range(0, 300):
        assert size_for_stored_count(stored_hash_count(size)) == size
    assert len(frontier_indexes(0b1011)) == 3
    with pytest.raises(ValueError):
        size_for_stored_count(2)  # two leaves without their parent: never a finished append


# --- frozen vectors: Certificate Transparency's RFC 6962 test data --------------------------------

CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (1, 8): CT_INCLUSION[(0, 8)],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def test_certificate_transparency_vectors() -> None:
    s = DictStore()
    for data in CT_LEAVES:
        s.append(data)
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for size in range(1, 9):
        assert tree_hash(size, s).hex() == CT_ROOTS[size - 1]
    for (index, size), path in CT_INCLUSION.items():
        assert [h.hex() for h in prove_inclusion(size, index, s).hashes] == path
    for (first, second), path in CT_CONSISTENCY.items():
        assert [h.hex() for h in prove_consistency(first, second, s).hashes] == path
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")).hex() == CT_ROOTS[1]


def test_hash_text_form_is_strict_base64() -> None:
    h = leaf_hash(b"abc")
    assert Hash.parse(str(h)) == h
    for bad in ["", "abc", str(h)[:-1], str(h).replace("=", ""), " " + str(h)]:
        with pytest.raises(ValueError):
            Hash.parse(bad)
    with pytest.raises(ValueError):
        Hash(b"short")
