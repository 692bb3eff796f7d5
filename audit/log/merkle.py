"""RFC 9162 Merkle tree hashing: leaves, nodes, the running chain, compact ranges, proofs.

Standard library only, so the offline verifier can use it without a database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
GENESIS = bytes(HASH_SIZE)
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request for one that cannot exist."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def chain_hash(prev: bytes, leaf: bytes) -> bytes:
    """SHA-256(0x02 || prev_chain || leaf): the running hash chain."""
    return hashlib.sha256(b"\x02" + prev + leaf).digest()


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size): O(log n) per append."""

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        if len(hashes) != bin(size).count("1"):
            raise ValueError("a compact range has one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns the (level, index, hash) of every subtree it completed."""
        made: list[tuple[int, int, bytes]] = []
        node = leaf
        index = self.size
        level = 0
        while index & 1:
            node = node_hash(self.hashes.pop(), node)
            level += 1
            index >>= 1
            made.append((level, index, node))
        self.hashes.append(node)
        self.size += 1
        return made

    def root(self) -> bytes:
        """The Merkle tree hash of leaves [0, size)."""
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            node = node_hash(h, node)
        return node

    def to_bytes(self) -> bytes:
        """The hashes, concatenated (the size is stored beside them)."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> CompactRange:
        """Rebuild from to_bytes()."""
        return cls(size, [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# A function returning the Merkle tree hash of leaves [start, end).
SubtreeHash = Callable[[int, int], bytes]


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes (for tests and small trees)."""
    rng = CompactRange()
    for leaf in leaves:
        rng.append(leaf)
    return rng.root()


def inclusion_proof(index: int, size: int, mth: SubtreeHash) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]) using mth(start, end) for subtree hashes."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return path(m, start, start + k) + [mth(start + k, end)]
        return path(m - k, start + k, end) + [mth(start, start + k)]

    return path(index, 0, size)


def consistency_proof(first: int, second: int, mth: SubtreeHash) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(m, D[n]) using mth(start, end) for subtree hashes."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")

    def sub(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [mth(start, end)]
        k = _split(n)
        if m <= k:
            return sub(m, start, start + k, whole) + [mth(start + k, end)]
        return sub(m - k, start + k, end, False) + [mth(start, start + k)]

    return sub(first, 0, second, True)


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    """RFC 9162 2.1.3.2; raises ProofError unless the proof holds."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is beyond tree size {size}")
    _check_hash("leaf hash", leaf)
    _check_hash("root", root)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash("proof element", p)
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 2.1.4.2; raises ProofError unless the proof holds."""
    if first > second:
        raise ProofError(f"size {first} is greater than size {second}")
    if first == 0:
        raise ProofError("a consistency check from the empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if first_root != second_root:
            raise ProofError("equal sizes but different roots")
        return
    _check_hash("first root", first_root)
    _check_hash("second root", second_root)
    if not proof:
        raise ProofError("empty consistency proof")
    for p in proof:
        _check_hash("proof element", p)
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != first_root:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("consistency proof does not lead to the second root")
