"""The ledger served as C2SP tiles under /log/ and mirrored by `baton audit tiles DIR`.

The client in this file is written from c2sp.org/tlog-tiles, tlog-checkpoint, signed-note
and RFC 6962 alone: it imports nothing of Baton's to parse, hash or verify.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.cli import main
from audit.log import ledger, tiles
from tests.initialised_app import Client, make_client
from tests.integration.conftest import Ledger
from tests.unit.fakes import DEMO_ACTORS
from tests.unit.scenario import OPEN
from workflow import services

# --- a client from the specifications alone -------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def spec_verify_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """signed-note + tlog-checkpoint: (origin, size, root) once the log's Ed25519
    signature over the note text verifies."""
    name, key_hex, key_b64 = vkey.split("+", 2)  # names hold no +; base64 may
    key = base64.b64decode(key_b64)
    assert key[0] == 0x01 and len(key) == 33, "an Ed25519 vkey"
    key_id = sha256(name.encode() + b"\n" + key)[:4]
    assert key_id.hex() == key_hex
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    verified = False
    for line in signatures.splitlines():
        assert line.startswith("\u2014 ")
        sig_name, sig_b64 = line[2:].split(" ")
        raw = base64.b64decode(sig_b64)
        if sig_name == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[4:], text.encode())
            verified = True
    assert verified, "signed by the log's key"
    origin, size, root = text.splitlines()[:3]
    return origin, int(size), base64.b64decode(root)


def spec_path(level: str, n: int, width: int) -> str:
    """tlog-tiles: <N> as zero-padded 3-digit elements, all but the last with an x."""
    elements = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        elements.insert(0, f"x{n % 1000:03d}")
    return f"tile/{level}/{'/'.join(elements)}" + (f".p/{width}" if width < 256 else "")


def spec_entries(bundle: bytes) -> list[bytes]:
    """Big-endian uint16 length-prefixed entries."""
    out, at = [], 0
    while at < len(bundle):
        n = int.from_bytes(bundle[at:at + 2], "big")
        out.append(bundle[at + 2:at + 2 + n])
        at += 2 + n
    return out


def spec_mth(start: int, end: int, leaf: Callable[[int], bytes],
             stored: dict[tuple[int, int], bytes]) -> bytes:
    """RFC 6962 2.1 MTH(D[start:end]), taking a subtree's hash from a hash tile when one
    covers it exactly (stored[(level, index)] for 256**level-leaf subtrees)."""
    n = end - start
    if n == 1:
        return leaf(start)
    for level in (2, 1):
        span = 256 ** level
        if n == span and start % span == 0 and (level, start // span) in stored:
            return stored[(level, start // span)]
    k = 1 << ((n - 1).bit_length() - 1)
    return sha256(b"\x01" + spec_mth(start, start + k, leaf, stored)
                  + spec_mth(start + k, end, leaf, stored))


def spec_client(get: Callable[[str], bytes], vkey: str) -> tuple[int, bytes, list[bytes]]:
    """Fetch the checkpoint, verify it, fetch every tile and entry bundle it needs, check
    each entry against its leaf hash, and recompute the root: (size, root, entries)."""
    origin, size, root = spec_verify_checkpoint(get("checkpoint").decode(), vkey)
    leaves: list[bytes] = []
    entries: list[bytes] = []
    stored: dict[tuple[int, int], bytes] = {}
    level = 0
    while size >= 256 ** level:
        count = size // 256 ** level
        for n in range(-(-count // 256)):
            width = min(256, count - n * 256)
            data = get(spec_path(str(level), n, width))
            assert len(data) == 32 * width
            hashes = [data[i:i + 32] for i in range(0, len(data), 32)]
            if level == 0:
                bundle = spec_entries(get(spec_path("entries", n, width)))
                assert len(bundle) == width
                assert [sha256(b"\x00" + e) for e in bundle] == hashes
                entries += bundle
                leaves += hashes
            else:
                for i, h in enumerate(hashes):
                    stored[(level, n * 256 + i)] = h
        level += 1
    from_entries = spec_mth(0, size, lambda i: leaves[i], {})
    from_tiles = spec_mth(0, size, lambda i: leaves[i], stored)
    assert from_entries == from_tiles == root
    return size, root, entries


# --- Baton ------------------------------------------------------------------------------


def grow(client: Client, count: int) -> None:
    """Open `count` escalations in one transaction (fast), then sign a checkpoint."""
    baton = client.app.extensions["baton"]
    policy = baton.policy()
    with baton.uow() as uow:
        for _ in range(count):
            services.open_escalation(uow=uow, actor=DEMO_ACTORS["alice"],
                                     escalation_id=uuid.uuid4().hex, payload=dict(OPEN),
                                     policy=policy, now=baton.now())
        uow.checkpoint(baton.now(), force=True)
        uow.commit()


def fetcher(client: Client, who: str | None = "aud") -> Callable[[str], bytes]:
    def get(path: str) -> bytes:
        r = client.http.get(f"/log/{path}", headers=client.h(who))
        assert r.status_code == 200, (path, r.status_code, r.data[:200])
        return bytes(r.data)
    return get


def vkey_of(client: Client) -> str:
    return str(client.get("/audit/public-key", "aud").json["verifier_key"])


def test_a_client_written_from_the_spec_agrees_with_batons_checkpoint(
        tmp_path: Path) -> None:
    client = make_client(tmp_path)
    client.open()
    grow(client, 600)
    size, root, entries = spec_client(fetcher(client), vkey_of(client))
    api = client.get("/audit/checkpoint", "aud").json
    assert (size, root) == (api["size"], base64.b64decode(api["root"]))
    assert size > 512, "two full level-0 tiles, a partial one, a partial level-1 tile"
    events = client.get(f"/audit/events?limit={size}", "aud").json["items"]
    assert [base64.b64decode(e["bytes"]) for e in events] == entries, "the canonical bytes"


def test_headers_and_media_types(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    grow(client, 300)
    r = client.http.get("/log/checkpoint")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "no-cache" in r.headers["Cache-Control"]
    full = client.http.get("/log/tile/0/000")
    assert full.headers["Content-Type"] == "application/octet-stream"
    assert "immutable" in full.headers["Cache-Control"]
    assert len(full.data) == 8192, "a full tile is 256 hashes"
    size = int(r.data.decode().split("\n")[1])
    partial = client.http.get(f"/log/tile/0/001.p/{size - 256}")
    assert partial.status_code == 200 and len(partial.data) == 32 * (size - 256)
    leaves = [full.data[i:i + 32] for i in range(0, 8192, 32)]
    level1 = client.http.get("/log/tile/1/000.p/1")
    assert level1.data == spec_mth(0, 256, lambda i: leaves[i], {})
    assert "immutable" in level1.headers["Cache-Control"], "a partial tile never changes"


def test_entry_bundles_need_read_audit_unless_the_log_is_public(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    grow(client, 3)
    path = "/log/tile/entries/000.p/4"
    assert client.http.get("/log/tile/0/000.p/4").status_code == 200, "hashes are public"
    assert client.http.get(path).status_code == 401
    refused = client.http.get(path, headers=client.h("alice"))
    assert refused.status_code == 403 and refused.json["rule"] == "permission.read-audit"
    ok = client.http.get(path, headers=client.h("aud"))
    assert ok.status_code == 200 and "private" in ok.headers["Cache-Control"]
    assert len(spec_entries(ok.data)) == 4
    zipped = client.http.get(path, headers=client.h("aud", **{"Accept-Encoding": "gzip"}))
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == ok.data

    (tmp_path / "public").mkdir()
    public = make_client(tmp_path / "public")
    public.app.extensions["baton"].settings["BATON_LOG_PUBLIC"] = True
    grow(public, 3)
    assert public.http.get(path).status_code == 200


def test_tiles_the_log_cannot_hold_are_not_found(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    grow(client, 3)  # 4 events with the policy's
    for path in ("0/000", "0/000.p/5", "1/000.p/1", "entries/001.p/1", "0/x000/000",
                 "00/000", "0/000.p/0", "0/000.p/256", "64/000", "zz"):
        r = client.http.get(f"/log/tile/{path}", headers=client.h("aud"))
        assert r.status_code == 404, path


def test_too_many_requests_are_refused_with_retry_after(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    client.app.extensions["baton_log_limiter"].rate = 20.0
    client.app.extensions["baton_log_limiter"].burst = 20.0
    grow(client, 1)
    codes = [client.http.get("/log/checkpoint") for _ in range(60)]
    assert all(r.status_code == 200 for r in codes[:20])
    refused = [r for r in codes if r.status_code == 429]
    assert refused and int(refused[0].headers["Retry-After"]) >= 1


def test_the_static_mirror_is_the_same_layout_written_incrementally(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    grow(client, 300)
    baton = client.app.extensions["baton"]
    env = {"BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
           "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"]}
    out = tmp_path / "mirror"
    first = CliRunner().invoke(main, ["audit", "tiles", str(out)], env=env)
    assert first.exit_code == 0, first.output
    vkey = vkey_of(client)

    def from_disk(path: str) -> bytes:
        return (out / path).read_bytes()

    size, root, _ = spec_client(from_disk, vkey)
    assert size == 301  # the policy's event and 300 openings
    assert from_disk("tile/0/000") == fetcher(client)("tile/0/000")
    assert (out / "tile/0/001.p/45").exists()
    stamp = (out / "tile/0/000").stat().st_mtime_ns

    grow(client, 300)
    again = CliRunner().invoke(main, ["audit", "tiles", str(out)], env=env)
    assert again.exit_code == 0, again.output
    size, _, _ = spec_client(from_disk, vkey)
    assert size == 601
    assert (out / "tile/0/000").stat().st_mtime_ns == stamp, "full tiles are kept"
    assert not (out / "tile/0/001.p").exists(), "the partial tile made way for the full one"
    assert (out / "tile/0/002.p/89").exists()


def test_hash_tiles_on_each_backend(led: Ledger) -> None:
    with led.uow() as uow:
        for _ in range(300):
            services.open_escalation(uow=uow, actor=DEMO_ACTORS["alice"],
                                     escalation_id=uuid.uuid4().hex, payload=dict(OPEN),
                                     policy=led.policy, now=led.tick())
        uow.commit()
    with led.engine.connect() as conn:
        size = ledger.read_head(conn, lock=False).size
        level0 = tiles.read(conn, tiles.Tile(0, 0), size)
        level1 = tiles.read(conn, tiles.Tile(1, 0, 1), size)
        bundle = tiles.read(conn, tiles.Tile(tiles.ENTRIES, 0), size)
    leaves = [level0[i:i + 32] for i in range(0, 8192, 32)]
    assert level1 == spec_mth(0, 256, lambda i: leaves[i], {})
    assert [sha256(b"\x00" + e) for e in spec_entries(bundle)] == leaves
