"""Checkpoints as C2SP signed notes (tlog-checkpoint) with Ed25519 keys.

Standard library plus `cryptography` only: the offline verifier imports this.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from audit.errors import KeyFileError, NoteError

ED25519 = b"\x01"
DASH = "\u2014 "


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint: origin, tree size, root hash, and the note text."""

    origin: str
    size: int
    root: bytes
    text: str


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key hash of the note format: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The public key as a note verifier key: NAME+HEXID+BASE64(0x01||key)."""
    public = _raw_public(key)
    return f"{name}+{key_id(name, public).hex()}+{base64.b64encode(ED25519 + public).decode()}"


def parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """(name, key id, public key) from a verifier key string."""
    try:
        name, hexid, b64 = text.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        if raw[:1] != ED25519 or len(raw) != 33:
            raise ValueError("not an Ed25519 key")
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
        kid = bytes.fromhex(hexid)
    except ValueError as exc:
        raise KeyFileError(f"not a verifier key (NAME+ID+KEY): {exc}") from None
    if kid != key_id(name, raw[1:]):
        raise KeyFileError("verifier key id does not match its name and key")
    return name, kid, public


def body(origin: str, size: int, root: bytes) -> str:
    """The checkpoint body: origin, size, base64 root, each on its own line."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign(origin: str, size: int, root: bytes, key: Ed25519PrivateKey, name: str) -> str:
    """A signed checkpoint note."""
    text = body(origin, size, root)
    public = _raw_public(key.public_key())
    sig = key.sign(text.encode())
    return f"{text}\n{DASH}{name} {base64.b64encode(key_id(name, public) + sig).decode()}\n"


def open_note(text: str, vkey: str, origin: str | None = None) -> Checkpoint:
    """Parse a checkpoint note and check its signature against vkey; raises NoteError."""
    name, kid, public = parse_verifier_key(vkey)
    head, sep, sigs = text.partition("\n\n")
    if not sep:
        raise NoteError("not a signed note: no blank line before the signatures")
    lines = head.split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint body needs origin, size and root lines")
    note_origin, size_text, root_text = lines[0], lines[1], lines[2]
    if origin is not None and note_origin != origin:
        raise NoteError(f"unknown checkpoint origin {note_origin!r} (expected {origin!r})")
    try:
        size = int(size_text)
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise NoteError("checkpoint size or root is malformed") from None
    if size < 0 or len(root) != 32 or str(size) != size_text:
        raise NoteError("checkpoint size or root is malformed")
    signed = (head + "\n").encode()
    for line in sigs.split("\n"):
        if not line.startswith(DASH):
            continue
        sig_name, _, b64 = line[len(DASH):].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            continue
        if sig_name != name or raw[:4] != kid:
            continue
        try:
            public.verify(raw[4:], signed)
        except InvalidSignature:
            raise NoteError(f"checkpoint at size {size}: signature does not verify") from None
        return Checkpoint(note_origin, size, root, text)
    raise NoteError(f"checkpoint at size {size}: not signed by the trusted key "
                    f"{name}+{kid.hex()}")


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM (PKCS#8) file."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: cannot read signing key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


def ensure_private_key(path: str | Path) -> tuple[Ed25519PrivateKey, bool]:
    """Load the key at path, creating it (mode 0600) when missing; True if created."""
    p = Path(path)
    if p.exists():
        return load_private_key(p), False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key, True


def read_verifier_key(path: str | Path) -> str:
    """A verifier key from a file (its first non-empty line)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read public key: {exc}") from None
    parse_verifier_key(text)
    return text
