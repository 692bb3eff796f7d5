"""The ledger as a C2SP tiled transparency log (c2sp.org/tlog-tiles): tile paths, hash
tiles, entry bundles, and the static mirror that `baton audit tiles DIR` writes.

A tile at level L, index N holds up to 256 consecutive Merkle tree hashes of subtrees of
256**L leaves, starting at leaf N * 256**(L+1); level 0 holds the leaf hashes, and the
entry bundle N holds the entries (the ledger's canonical event bytes) behind them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from audit.log import ledger
from audit.store.schema import merkle_nodes

HEIGHT = 8
WIDTH = 1 << HEIGHT  # 256 hashes in a full tile
MAX_LEVEL = 63
MAX_ENTRY = 0xFFFF  # entry bundles prefix each entry with a big-endian uint16 length
ENTRIES = -1  # the level of entry bundles


class NoSuchTile(LookupError):
    """A tile path that is malformed, or names a tile the log cannot serve (yet)."""


class EntryTooLarge(ValueError):
    """An entry longer than an entry bundle's uint16 length prefix can say."""


@dataclass(frozen=True, order=True)
class Tile:
    """A tile (level >= 0) or an entry bundle (level ENTRIES); width 256 when full."""

    level: int
    index: int
    width: int = WIDTH

    @property
    def full(self) -> bool:
        """Whether the tile holds all 256 hashes (and so never changes)."""
        return self.width == WIDTH

    @property
    def path(self) -> str:
        """The path under the log's prefix, e.g. tile/0/x001/x234/067.p/5."""
        level = "entries" if self.level == ENTRIES else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{suffix}"

    @property
    def leaves(self) -> int:
        """How many leaves one hash of this tile covers (256**level)."""
        return WIDTH ** max(self.level, 0)

    @property
    def needs(self) -> int:
        """The smallest tree size that holds every hash of this tile."""
        return (self.index * WIDTH + self.width) * self.leaves


def encode_index(n: int) -> str:
    """The index as zero-padded 3-digit path elements, all but the last starting with x:
    1234067 -> x001/x234/067."""
    if n < 0:
        raise ValueError("a tile index is not negative")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"[0-9]{3}")


def parse_path(path: str) -> Tile:
    """The tile a path under tile/ names (`0/x001/x234/067.p/5`, `entries/001`);
    NoSuchTile unless it is the one canonical spelling of a tile."""
    parts = path.split("/")
    head = parts[0]
    width = WIDTH
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or not 1 <= int(parts[-1]) < WIDTH:
            raise NoSuchTile(f"bad partial tile width in {path!r}")
        width = int(parts[-1])
        parts = parts[:-2] + [parts[-2][:-2]]
    groups = parts[1:]
    if head == "entries":
        level = ENTRIES
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise NoSuchTile(f"bad tile level in {path!r}")
    if (not groups or not _LAST.fullmatch(groups[-1])
            or not all(_GROUP.fullmatch(g) for g in groups[:-1])):
        raise NoSuchTile(f"bad tile index in {path!r}")
    index = int("".join(g.lstrip("x") for g in groups))
    if encode_index(index) != "/".join(groups):
        raise NoSuchTile(f"tile index not in its shortest form in {path!r}")
    return Tile(level, index, width)


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every hash tile of a tree of `size` leaves, full then partial, level by level."""
    level = 0
    while size >= WIDTH ** level and level <= MAX_LEVEL:
        count = size // WIDTH ** level  # hashes at this level
        for index in range(count // WIDTH):
            yield Tile(level, index)
        if count % WIDTH:
            yield Tile(level, count // WIDTH, count % WIDTH)
        level += 1


def bundles_for_size(size: int) -> Iterator[Tile]:
    """Every entry bundle of a tree of `size` leaves."""
    for tile in tiles_for_size(size):
        if tile.level > 0:
            return
        yield Tile(ENTRIES, tile.index, tile.width)


def _check_served(tile: Tile, size: int) -> None:
    if tile.needs > size:
        raise NoSuchTile(f"{tile.path} needs a tree of {tile.needs} leaves; the log has "
                         f"{size}")


def hash_tile(conn: Connection, tile: Tile, size: int) -> bytes:
    """The concatenated hashes of a hash tile of the log, which has `size` leaves."""
    _check_served(tile, size)
    first = tile.index * WIDTH
    if tile.level == 0:
        found: Sequence[bytes] = ledger.leaf_hashes(conn, first, first + tile.width)
    else:
        found = conn.execute(select(merkle_nodes.c.hash).where(
            merkle_nodes.c.level == HEIGHT * tile.level, merkle_nodes.c.idx >= first,
            merkle_nodes.c.idx < first + tile.width).order_by(merkle_nodes.c.idx)
        ).scalars().all()
    if len(found) == tile.width:
        return b"".join(bytes(h) for h in found)
    # Subtree hashes not stored (a log older than its stored nodes): compute them.
    mth = ledger.subtree_hasher(conn)
    return b"".join(mth((first + i) * tile.leaves, (first + i + 1) * tile.leaves)
                    for i in range(tile.width))


def encode_bundle(entries: list[bytes]) -> bytes:
    """Entries, each after its length as a big-endian uint16."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise EntryTooLarge(f"an entry of {len(entry)} bytes does not fit a bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ValueError when it is cut short."""
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("entry bundle ends inside a length prefix")
        n = int.from_bytes(data[at:at + 2], "big")
        if at + 2 + n > len(data):
            raise ValueError("entry bundle ends inside an entry")
        entries.append(data[at + 2:at + 2 + n])
        at += 2 + n
    return entries


def entry_bundle(conn: Connection, tile: Tile, size: int) -> bytes:
    """The entry bundle of the log, which has `size` leaves: the canonical event bytes."""
    _check_served(tile, size)
    first = tile.index * WIDTH
    return encode_bundle(ledger.bodies(conn, first, first + tile.width))


def read(conn: Connection, tile: Tile, size: int) -> bytes:
    """A hash tile's or an entry bundle's bytes."""
    if tile.level == ENTRIES:
        return entry_bundle(conn, tile, size)
    return hash_tile(conn, tile, size)


@dataclass
class Mirrored:
    """What one run of the static writer did."""

    size: int
    written: int
    kept: int
    removed: int


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_static(conn: Connection, directory: Path, checkpoint: str, size: int, *,
                 entries: bool = True) -> Mirrored:
    """Write the tiles (and entry bundles, unless `entries` is false) of a tree of `size`
    leaves under `directory`, then its checkpoint: files already there are kept (tiles
    never change), so each run writes only what is new; partial tiles whose full tile now
    exists are removed."""
    written = kept = removed = 0
    wanted = [*tiles_for_size(size), *(bundles_for_size(size) if entries else ())]
    for tile in wanted:
        target = directory / tile.path
        if target.exists():
            kept += 1
            continue
        _write_atomic(target, read(conn, tile, size))
        written += 1
        if tile.full:
            partials = target.with_name(target.name + ".p")
            if partials.is_dir():
                for old in partials.iterdir():
                    old.unlink()
                    removed += 1
                partials.rmdir()
    # Last: a reader who sees this checkpoint finds every tile it needs.
    _write_atomic(directory / "checkpoint", checkpoint.encode())
    return Mirrored(size, written, kept, removed)
