"""The c2sp.org/tlog-proof@v1 text format: a header line, `extra` (base64), `index`, the
RFC 6962 inclusion proof (one base64 hash a line, from the leaf's sibling up), a blank
line, then the checkpoint verbatim with its signature and cosignature lines.

Baton puts the event's canonical bytes in `extra`: the entry itself, so that the proof
stands alone. The spec says `extra` is not authenticated; here it is checked, not
trusted: its leaf hash must lead through the inclusion proof to the signed root.

Standard library only: the offline verifier imports this. Parsing is strict (base64 in
its one canonical spelling, no leading zeroes, a final newline), so that a changed
character anywhere is either a different proof or no proof at all.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

HEADER = "c2sp.org/tlog-proof@v1"
EXTENSION = ".tlog-proof"  # the spec's suggested file extension
HASH_SIZE = 32


class ProofFormatError(ValueError):
    """Text that is not a c2sp.org/tlog-proof@v1 proof."""


@dataclass(frozen=True)
class Proof:
    """An entry's index, its bytes (`extra`), its inclusion proof and the checkpoint."""

    index: int
    extra: bytes | None
    hashes: tuple[bytes, ...]
    checkpoint: str


def render(proof: Proof) -> str:
    """The proof as text (ends with the checkpoint's final newline)."""
    lines = [HEADER]
    if proof.extra is not None:
        lines.append(f"extra {base64.b64encode(proof.extra).decode()}")
    lines.append(f"index {proof.index}")
    lines += [base64.b64encode(h).decode() for h in proof.hashes]
    return "\n".join(lines) + "\n\n" + proof.checkpoint


def _b64(text: str, what: str) -> bytes:
    """Strict base64: the alphabet, padding, and the one spelling that encodes the bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProofFormatError(f"{what} is not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise ProofFormatError(f"{what} is not base64 in its canonical spelling")
    return raw


def parse(text: str) -> Proof:
    """A proof from its text; ProofFormatError naming what is wrong."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != HEADER:
        raise ProofFormatError(f"not a {HEADER} proof (its first line)")
    at = 1
    extra = None
    if lines[at].startswith("extra "):
        extra = _b64(lines[at][len("extra "):], "the extra line")
        at += 1
    word, _, number = lines[at].partition(" ")
    if word != "index" or not number.isascii() or not number.isdigit() or (
            number != "0" and number.startswith("0")):
        raise ProofFormatError(f"line {at + 1}: expected `index N` (decimal, no leading "
                               "zeroes)")
    index = int(number)
    at += 1
    hashes = []
    while at < len(lines) and lines[at] != "":
        h = _b64(lines[at], f"line {at + 1} (an inclusion proof hash)")
        if len(h) != HASH_SIZE:
            raise ProofFormatError(f"line {at + 1}: a proof hash of {len(h)} bytes, not "
                                   f"{HASH_SIZE}")
        hashes.append(h)
        at += 1
    if at >= len(lines) - 1:
        raise ProofFormatError("no checkpoint after the inclusion proof")
    checkpoint = "\n".join(lines[at + 1:])
    if not checkpoint.endswith("\n") or checkpoint.endswith("\n\n"):
        raise ProofFormatError("the checkpoint's last signature line must end the proof, "
                               "with one newline")
    return Proof(index, extra, tuple(hashes), checkpoint)
