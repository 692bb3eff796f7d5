"""Tile paths, the tiles of a tree and entry bundles, against c2sp.org/tlog-tiles' own
examples; the per-client rate limit of /log/ with a fake clock."""

from __future__ import annotations

import pytest

from api.rate_limit import RateLimiter, retry_after
from audit.log.tiles import (
    ENTRIES,
    EntryTooLarge,
    NoSuchTile,
    Tile,
    bundles_for_size,
    decode_bundle,
    encode_bundle,
    encode_index,
    parse_path,
    tiles_for_size,
)


def test_the_specs_index_example() -> None:
    # "index 1234067 will be encoded as x001/x234/067"
    assert encode_index(1234067) == "x001/x234/067"
    assert parse_path("0/x001/x234/067") == Tile(0, 1234067)
    assert encode_index(0) == "000"
    assert encode_index(999) == "999"
    assert encode_index(1000) == "x001/000"


@pytest.mark.parametrize("tile, path", [
    (Tile(0, 1234067), "tile/0/x001/x234/067"),
    (Tile(1, 5, 17), "tile/1/005.p/17"),
    (Tile(ENTRIES, 273, 112), "tile/entries/273.p/112"),
    (Tile(ENTRIES, 0), "tile/entries/000"),
    (Tile(63, 0, 1), "tile/63/000.p/1"),
])
def test_paths_round_trip(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert parse_path(path.removeprefix("tile/")) == tile


@pytest.mark.parametrize("path", [
    "00/000",          # level with a leading zero
    "64/000",          # level above 63
    "-1/000",
    "0/1",             # not 3 digits
    "0/0001",
    "0/x000/001",      # not the shortest spelling of 1
    "0/001/002",       # all but the last element start with x
    "0/x001",          # the last one does not
    "0/000.p/0",       # width 1..255
    "0/000.p/256",
    "0/000.p/07",      # width with a leading zero
    "0/000.p/",
    "0",
    "data/000",
    "entries/000.q/5",
])
def test_malformed_paths_name_no_tile(path: str) -> None:
    with pytest.raises(NoSuchTile):
        parse_path(path)


def test_the_specs_tree_of_70000() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    # level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    # 17, and one partial level 2 tile of width 1"
    found = list(tiles_for_size(70_000))
    assert [t for t in found if t.level == 0 and t.full] == [Tile(0, i) for i in range(273)]
    assert [t for t in found if t.level == 0 and not t.full] == [Tile(0, 273, 112)]
    assert [t for t in found if t.level == 1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert [t for t in found if t.level == 2] == [Tile(2, 0, 1)]
    assert max(t.level for t in found) == 2
    assert len(list(bundles_for_size(70_000))) == 274


def test_the_specs_tree_of_256() -> None:
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1"
    assert list(tiles_for_size(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(tiles_for_size(0)) == []
    assert list(tiles_for_size(1)) == [Tile(0, 0, 1)]


def test_the_partial_tile_width_formula() -> None:
    # "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256
    # entries."
    for size in (1, 255, 256, 257, 65_535, 65_536, 70_000, 16_777_217):
        partial = {t.level: t.width for t in tiles_for_size(size) if not t.full}
        for level, width in partial.items():
            assert width == (size // 256 ** level) % 256


def test_a_tile_needs_a_tree_that_holds_it() -> None:
    assert Tile(0, 0).needs == 256
    assert Tile(0, 1, 5).needs == 261
    assert Tile(1, 0, 1).needs == 256
    assert Tile(2, 0, 1).needs == 65_536
    assert Tile(ENTRIES, 273, 112).needs == 70_000


def test_entry_bundles_are_uint16_big_endian_length_prefixed() -> None:
    entries = [b"", b"a", b"x" * 300, b"y" * 0xFFFF]
    data = encode_bundle(entries)
    assert data[:2] == b"\x00\x00"
    assert data[2:5] == b"\x00\x01a"
    assert data[5:7] == b"\x01\x2c"  # 300, big-endian
    assert decode_bundle(data) == entries
    with pytest.raises(EntryTooLarge):
        encode_bundle([b"z" * 0x10000])
    with pytest.raises(ValueError):
        decode_bundle(b"\x00\x05abc")
    with pytest.raises(ValueError):
        decode_bundle(b"\x00")


def test_the_rate_limit_allows_its_rate_and_refuses_beyond() -> None:
    now = [0.0]
    limiter = RateLimiter(100, clock=lambda: now[0])
    assert all(limiter.take("a") == 0 for _ in range(100)), "a burst of the rate passes"
    wait = limiter.take("a")
    assert wait == pytest.approx(0.01)
    assert retry_after(wait) == 1
    assert limiter.take("b") == 0, "per client"
    # A steady 100 requests a second is never refused.
    for _ in range(1000):
        now[0] += 0.01
        assert limiter.take("a") == 0
