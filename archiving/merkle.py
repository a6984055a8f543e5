"""Merkle trees in the RFC 6962 / RFC 9162 style: root, inclusion proof and its check.

Leaves and nodes are hashed apart (``0x00`` before a leaf, ``0x01`` before two children) so
that a node can never pass for a leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["InclusionProof", "inclusion_proof", "leaf_hash", "merkle_root", "verify_inclusion"]


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly below ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node(_root(hashes[:k]), _root(hashes[k:]))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root of the tree over ``leaves`` (SHA-256 of the empty string for no leaf)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _root([leaf_hash(leaf) for leaf in leaves])


@dataclass(frozen=True)
class InclusionProof:
    """Proof that one leaf is in a tree of ``tree_size`` leaves."""

    index: int
    """Position of the leaf (0-based)."""
    tree_size: int
    """Number of leaves in the tree."""
    path: tuple[bytes, ...]
    """Sibling hashes from the leaf up to the root."""


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) <= 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> InclusionProof:
    """The audit path of leaf ``index`` (RFC 6962 section 2.1.1)."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} outside a tree of {len(leaves)} leaves")
    hashes = [leaf_hash(leaf) for leaf in leaves]
    return InclusionProof(index=index, tree_size=len(leaves), path=tuple(_path(index, hashes)))


def verify_inclusion(leaf: bytes, proof: InclusionProof, root: bytes) -> bool:
    """True when ``leaf`` at ``proof.index`` belongs to the tree with this ``root`` (RFC 9162 2.1.3.2)."""
    if not 0 <= proof.index < proof.tree_size:
        return False
    fn, sn = proof.index, proof.tree_size - 1
    current = leaf_hash(leaf)
    for sibling in proof.path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            current = _node(sibling, current)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            current = _node(current, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and current == root
