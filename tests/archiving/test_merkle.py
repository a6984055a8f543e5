"""Merkle root, inclusion proofs and their checks (RFC 6962 test vectors and tampering)."""

from __future__ import annotations

import dataclasses

import pytest

from archiving.merkle import inclusion_proof, merkle_root, verify_inclusion

# RFC 6962 / certificate-transparency reference leaves and roots.
LEAVES = [
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
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_roots_match_rfc6962_reference(size: int) -> None:
    assert merkle_root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 64])
def test_every_leaf_proves_its_inclusion_and_nothing_else_does(size: int) -> None:
    leaves = [f"entry-{i}".encode() for i in range(size)]
    root = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(leaves, index)
        assert verify_inclusion(leaf, proof, root)
        assert not verify_inclusion(leaf + b"x", proof, root)
        if size > 1:
            moved = dataclasses.replace(proof, index=(index + 1) % size)
            assert not verify_inclusion(leaf, moved, root)
            assert not verify_inclusion(leaf, proof, merkle_root([*leaves[:-1], b"forged"]))


def test_bad_index_is_refused() -> None:
    with pytest.raises(ValueError):
        inclusion_proof([b"a"], 1)
