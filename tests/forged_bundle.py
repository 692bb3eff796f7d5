"""A forger's rewrite of a JSON Lines export: events edited, every hash recomputed and
every checkpoint re-signed, so only what the verifier knows besides the bundle (a held
checkpoint, the public key, the contents of the bytes) can tell."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.log import merkle, signed_note


def forge(bundle: list[dict[str, Any]], key: Ed25519PrivateKey,
          edit: Callable[[int, bytes], bytes]) -> list[dict[str, Any]]:
    """Each event's bytes through `edit(seq, body)`, the chain and tree rebuilt, and a
    checkpoint signed with `key` at every size the bundle had one; content and erased
    records kept (the verifier accounts for each)."""
    header = bundle[0]
    origin = header["origin"]
    sizes = {signed_note.open_note(i["note"], header["public_key"]).size
             for i in bundle if i["type"] == "checkpoint"}
    chain, rng = merkle.GENESIS, merkle.CompactRange()
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    for item in bundle:
        if item["type"] == "event":
            body = edit(item["seq"], base64.b64decode(item["bytes"]))
            leaf = merkle.leaf_hash(body)
            new_chain = merkle.chain_hash(chain, leaf)
            rows.append({**item, "bytes": base64.b64encode(body).decode(),
                         "leaf_hash": leaf.hex(), "prev_chain": chain.hex(),
                         "chain_hash": new_chain.hex()})
            chain = new_chain
            rng.append(leaf)
            if rng.size in sizes:
                notes.append(signed_note.sign(origin, rng.size, rng.root(), key, origin))
        elif item["type"] in ("content", "erased"):
            rows.append(item)
    return [header, *({"type": "checkpoint", "note": n} for n in notes), *rows,
            {"type": "end", "size": sum(r["type"] == "event" for r in rows)}]
