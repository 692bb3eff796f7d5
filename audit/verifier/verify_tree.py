"""RFC 9162 Merkle roots for the offline verifier, in batches: leaves are folded into
perfect subtrees a level at a time (one list comprehension per level instead of a Python
loop per leaf), and subtrees made elsewhere (another process's range of leaves) are
combined with the ones already held.

Standard library only. audit/log/merkle.py holds the one-at-a-time definitions; the tests
check that both give the same roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

# A perfect subtree: (first leaf index, level, hash); it covers 2**level leaves.
Subtree = tuple[int, int, bytes]


def perfect_root(leaves: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree (len(leaves) a power of two), level by level."""
    sha = hashlib.sha256
    level = list(leaves)
    while len(level) > 1:
        level = [sha(b"\x01" + left + right).digest()
                 for left, right in zip(level[::2], level[1::2], strict=True)]
    return level[0]


class Tree:
    """The perfect subtrees covering leaves [start, size), merged wherever two are
    siblings; with start 0 it is the log's compact range and gives its root."""

    __slots__ = ("start", "size", "stack")

    def __init__(self, start: int = 0, stack: Sequence[Subtree] = ()):
        self.start = start
        self.stack: list[Subtree] = []
        self.size = start
        for sub in stack:
            self.push(sub)

    def push(self, sub: Subtree) -> None:
        """Add the subtree that begins where the covered range ends."""
        pos, level, node = sub
        if pos != self.size:
            raise ValueError(f"a subtree at {pos} does not follow leaf {self.size - 1}")
        self.size = pos + (1 << level)
        stack = self.stack
        # Siblings: the same level, adjacent, and the left one aligned to the parent.
        while stack and stack[-1][1] == level and not stack[-1][0] & (2 << level) - 1:
            left = stack.pop()
            node = hashlib.sha256(b"\x01" + left[2] + node).digest()
            pos, level = left[0], level + 1
        stack.append((pos, level, node))

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append leaf hashes: cut into the largest aligned perfect subtrees, each
        hashed a level at a time."""
        done, n = 0, len(leaves)
        while done < n:
            pos = self.size
            width = 1 << (n - done).bit_length() - 1
            if pos:
                width = min(width, pos & -pos)  # aligned: pos is a multiple of width
            self.push((pos, width.bit_length() - 1,
                       perfect_root(leaves[done:done + width]) if width > 1
                       else leaves[done]))
            done += width

    def snapshot(self) -> list[Subtree]:
        """The subtrees held now (for another Tree to push)."""
        return list(self.stack)

    def root(self) -> bytes:
        """The Merkle tree hash of leaves [0, size) (start must be 0)."""
        if self.start:
            raise ValueError("only a tree that starts at leaf 0 has a root")
        if not self.stack:
            return EMPTY_ROOT
        sha = hashlib.sha256
        node = self.stack[-1][2]
        for _, _, left in reversed(self.stack[:-1]):
            node = sha(b"\x01" + left + node).digest()
        return node

    def joined(self, later: Sequence[Subtree]) -> Tree:
        """A copy of this tree with the subtrees of a range that follows it pushed on."""
        out = Tree(self.start, self.stack)
        for sub in later:
            out.push(sub)
        return out
