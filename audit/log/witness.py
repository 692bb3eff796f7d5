"""A transparency-log witness (c2sp.org/tlog-witness): it knows the logs it witnesses
(origin and key), checks each checkpoint's signature and its consistency with the last
one it cosigned, stores that size and root durably, and only then cosigns.

Independent of Baton's database: its only state is one small file.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.errors import KeyFileError, NoteError
from audit.log import cosignature, merkle, signed_note

SIZE_TYPE = "text/x.tlog.size"
MAX_PROOF = 63
KEY_PREFIX = "PRIVATE+KEY+"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to an add-checkpoint request."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """A parsed add-checkpoint body: old size, consistency proof, checkpoint note."""

    old: int
    proof: list[bytes]
    note: str


def parse_request(body: str) -> Request:
    """`old N`, up to 63 base64 proof lines, an empty line, the checkpoint; ValueError."""
    head, sep, note = body.partition("\n\n")
    if not sep:
        raise ValueError("no empty line before the checkpoint")
    first, *proof_lines = head.split("\n")
    word, _, number = first.partition(" ")
    if word != "old" or not number.isdigit() or (number != "0" and number[0] == "0"):
        raise ValueError("the first line is `old SIZE`")
    if len(proof_lines) > MAX_PROOF:
        raise ValueError(f"more than {MAX_PROOF} consistency proof lines")
    proof = [base64.b64decode(line, validate=True) for line in proof_lines]
    if any(len(p) != merkle.HASH_SIZE for p in proof):
        raise ValueError("a proof line is not a 32-byte hash")
    return Request(int(number), proof, note)


def request_body(old: int, proof: list[bytes], note: str) -> str:
    """The add-checkpoint body a log sends."""
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
    return "\n".join(lines) + "\n\n" + note


# --- the witness's key: one line holding its name, like a note signer key -------------


def new_key(name: str) -> tuple[str, str]:
    """(private key line, verifier key) for a new cosigner named `name`."""
    if not name or any(c.isspace() or c == "+" for c in name):
        raise KeyFileError("a witness name is non-empty, without spaces or +")
    key = Ed25519PrivateKey.generate()
    cosigner = cosignature.Cosigner(name, cosignature.public_bytes(key))
    seed = key.private_bytes_raw()
    line = (f"{KEY_PREFIX}{name}+{cosigner.key_id.hex()}+"
            f"{base64.b64encode(cosignature.COSIGNATURE + seed).decode()}")
    return line, cosigner.vkey


def load_key(path: str | Path) -> tuple[str, Ed25519PrivateKey]:
    """(name, key) from a witness key file written by `baton witness keygen`."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        name, hexid, b64 = text.removeprefix(KEY_PREFIX).split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        if not text.startswith(KEY_PREFIX) or raw[:1] != cosignature.COSIGNATURE:
            raise ValueError("not a witness key")
        key = Ed25519PrivateKey.from_private_bytes(raw[1:])
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: cannot read witness key: {exc}") from None
    if cosignature.key_id(name, cosignature.public_bytes(key)).hex() != hexid:
        raise KeyFileError(f"{path}: key id does not match its name and key")
    return name, key


# --- the witness ------------------------------------------------------------------------


class Witness:
    """Checks and cosigns checkpoints of known logs; one state file, updated atomically
    (checked and written under one lock) and durably (fsync, rename) before answering."""

    def __init__(self, name: str, key: Ed25519PrivateKey, logs: list[str], state: Path,
                 clock: Callable[[], float] = time.time):
        self.name, self.key, self.clock = name, key, clock
        self.logs: dict[str, str] = {}
        for vkey in logs:
            origin, _, _ = signed_note.parse_verifier_key(vkey)
            self.logs[origin] = vkey
        self.state_path = state
        self._guard = threading.Lock()
        # One process per state file: a second would break the check-then-store rule.
        self._lock_file = open(f"{state}.lock", "a")  # noqa: SIM115 - held while we live
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise KeyFileError(f"{state} is in use by another witness process") from None
        self.state: dict[str, Any] = (json.loads(state.read_text()) if state.exists()
                                      else {"logs": {}})

    def close(self) -> None:
        """Let another process take the state file."""
        self._lock_file.close()

    @property
    def vkey(self) -> str:
        """This witness's cosignature verifier key."""
        return cosignature.Cosigner(self.name, cosignature.public_bytes(self.key)).vkey

    def latest(self, origin: str) -> str | None:
        """The latest checkpoint cosigned for `origin`, with its cosignature."""
        found = self.state["logs"].get(origin)
        return None if found is None else str(found["checkpoint"])

    def add_checkpoint(self, body: str) -> Answer:
        """The add-checkpoint call: 200 and the cosignature line, or the protocol's
        refusal (400, 403, 404, 409 with the size it holds, 422)."""
        try:
            req = parse_request(body)
            origin = req.note.split("\n", 1)[0]
        except ValueError as exc:
            return Answer(400, f"{exc}\n")
        vkey = self.logs.get(origin)
        if vkey is None:
            return Answer(404, f"unknown log {origin!r}\n")
        try:
            cp = signed_note.open_note(req.note, vkey, origin)
        except NoteError as exc:
            return Answer(403, f"{exc}\n")
        if req.old > cp.size:
            return Answer(400, f"old size {req.old} is beyond the checkpoint's {cp.size}\n")
        with self._guard:
            held = self.state["logs"].get(origin, {"size": 0, "root": None})
            if req.old != held["size"]:
                return Answer(409, f"{held['size']}\n", SIZE_TYPE)
            refused = _inconsistent(req, cp, held)
            if refused:
                return Answer(422, f"{refused}\n")
            line = cosignature.sign(req.note, self.key, self.name, int(self.clock()))
            text = cosignature.note_text(req.note)
            log_sig = [s for s in cosignature.lines(req.note)
                       if s.startswith(f"{cosignature.DASH}{origin} ")]
            self.state["logs"][origin] = {
                "size": cp.size, "root": base64.b64encode(cp.root).decode(),
                "checkpoint": text + "\n" + "".join(s + "\n" for s in log_sig) + line}
            self._store()
        return Answer(200, line)

    def _store(self) -> None:
        tmp = self.state_path.with_name(f".{self.state_path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)
        fd = os.open(self.state_path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself survives a power cut
        finally:
            os.close(fd)


def _inconsistent(req: Request, cp: signed_note.Checkpoint, held: dict[str, Any]) -> str:
    """Why the checkpoint does not extend what the witness holds ('' when it does)."""
    if cp.size == 0 and cp.root != merkle.EMPTY_ROOT:
        return "a tree of size 0 has the empty tree's root"
    if req.old == 0:
        return "a proof from size 0 is empty" if req.proof else ""
    old_root = base64.b64decode(held["root"])
    try:
        merkle.verify_consistency(req.old, cp.size, old_root, cp.root, req.proof)
    except merkle.ProofError as exc:
        return f"not consistent with size {req.old} cosigned before: {exc}"
    return ""
