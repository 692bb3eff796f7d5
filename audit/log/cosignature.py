"""Ed25519 checkpoint cosignatures (c2sp.org/tlog-cosignature, signature type 0x04): the
key id, the signed message, signing and verifying, and cosigner verifier keys.

Standard library plus `cryptography` only: the offline verifier may import this.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from audit.errors import KeyFileError

COSIGNATURE = b"\x04"
DASH = "\u2014 "
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2 ** 63 - 1


@dataclass(frozen=True)
class Cosigner:
    """A cosigner's name and public key (what a policy's `witness` line names)."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        """SHA-256(name || "\\n" || 0x04 || public key)[:4]."""
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        """NAME+HEXID+BASE64(0x04 || key)."""
        return (f"{self.name}+{self.key_id.hex()}+"
                f"{base64.b64encode(COSIGNATURE + self.public).decode()}")


def key_id(name: str, public: bytes) -> bytes:
    """The cosignature key id: SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE + public).digest()[:4]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte Ed25519 public key."""
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def parse_vkey(text: str) -> Cosigner:
    """A cosigner from its vkey (signature type 0x04); KeyFileError when it is not one."""
    try:
        name, hexid, b64 = text.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        kid = bytes.fromhex(hexid)
    except ValueError as exc:
        raise KeyFileError(f"not a verifier key (NAME+ID+KEY): {exc}") from None
    if raw[:1] != COSIGNATURE or len(raw) != 33:
        raise KeyFileError(f"{name}: not an Ed25519 cosignature key (type 0x04)")
    if kid != key_id(name, raw[1:]):
        raise KeyFileError(f"{name}: key id does not match its name and key")
    return Cosigner(name, raw[1:])


def message(note_text: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line, then the note's text (the
    checkpoint body, without its signature lines)."""
    return f"{HEADER}time {timestamp}\n{note_text}".encode()


def note_text(note: str) -> str:
    """The text of a signed note: everything before the last blank line, with its final
    newline."""
    text, sep, _ = note.rpartition("\n\n")
    if not sep:
        raise ValueError("not a signed note: no blank line before the signatures")
    return text + "\n"


def sign(note: str, key: Ed25519PrivateKey, name: str, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of `name` on a checkpoint note."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise ValueError("a cosignature's timestamp is positive and below 2**63")
    sig = key.sign(message(note_text(note), timestamp))
    raw = key_id(name, public_bytes(key)) + timestamp.to_bytes(8, "big") + sig
    return f"{DASH}{name} {base64.b64encode(raw).decode()}\n"


def verify(note: str, cosigner: Cosigner) -> int | None:
    """The timestamp of the cosigner's valid cosignature on the note, or None when it has
    none that verifies (lines of other keys are ignored, as signed-note requires)."""
    try:
        text = note_text(note)
    except ValueError:
        return None
    public = Ed25519PublicKey.from_public_bytes(cosigner.public)
    for line in note[len(text) + 1:].split("\n"):
        if not line.startswith(DASH):
            continue
        name, _, b64 = line[len(DASH):].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            continue
        if name != cosigner.name or raw[:4] != cosigner.key_id or len(raw) != 4 + 8 + 64:
            continue
        timestamp = int.from_bytes(raw[4:12], "big")
        try:
            public.verify(raw[12:], message(text, timestamp))
        except InvalidSignature:
            return None
        return timestamp
    return None


def lines(note: str) -> list[str]:
    """The signature lines of a note (each without its newline)."""
    text = note_text(note)
    return [line for line in note[len(text) + 1:].split("\n") if line.startswith(DASH)]
