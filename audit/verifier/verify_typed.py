"""The per-line pass of a run of event lines (verify_batch) read by msgspec, when it is
installed (issue #29): the same findings as verify_batch._read, in about two thirds of
its time (3.6 µs a line against 5.2 when it came; reading a line as a typed array took
0.3 µs more off), the whole verify in about three quarters.

msgspec reads each line as a typed array (the seq an integer, the chain hash a string,
the event's and the content's raw bytes; no fifth element), reads the event's bytes into
a struct of format 2's keys (any other key refuses), and reads the content. The leaf is
the hash of the element's raw bytes, which are exactly the bytes between the chain hash
and what follows: the line's length is checked to be its elements' lengths and the
separators, so there is no room for anything else. Whatever msgspec reads it reads as
json.loads would, or refuses (it is the stricter: no lone surrogate, no number out of a
double's range); a refusal, like any line not in the export's layout, sends the run to
the standard library's reading (tests/unit/test_verify_typed.py holds both to that). A
line nested deeper than fast_json.MAX_DEPTH reaches neither: every path refuses it by
name. At import a few answers are checked (a key twice, NaN, a lone surrogate, a
trailing comma, an unknown key): a msgspec that gives another is left aside.

The offline verifier runs without msgspec: then `READ` is None and verify_batch reads
with the standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from itertools import repeat
from operator import attrgetter
from typing import Any

from audit.log.event_record import POLICY_REF
from audit.verifier.verify_lean import SHORT_KEYS

try:
    import msgspec
    # An older msgspec where the verifier is copied to lacks what is used here: without.
    if tuple(map(int, msgspec.__version__.split(".")[:2])) < (0, 18):
        msgspec = None  # type: ignore[assignment]
except (ImportError, AttributeError, ValueError):  # the standard-library-only install
    msgspec = None  # type: ignore[assignment]

_SHA = hashlib.sha256


# What a key absent from an event reads as in the run's checks, in either reading (the
# dicts' default for dict.get, the struct's default): None, and `...` for the policy
# reference, which then says none at all (a null one is refused).
ABSENT = {POLICY_REF: ...}


def dict_field(objs: list[Any], key: str) -> Iterator[Any]:
    """Each event's value of a key (the standard library's reading: dicts)."""
    return map(dict.get, objs, repeat(key), repeat(ABSENT.get(key)))


def dict_keys_known(objs: list[Any]) -> bool:
    """Every key of every event is one of format 2's."""
    return set().union(*objs) <= SHORT_KEYS


def struct_field(objs: list[Any], key: str) -> Iterator[Any]:
    """Each event's value of a key (msgspec's reading: the struct's default, ABSENT's,
    when the event has none)."""
    return map(attrgetter(key), objs)


def struct_keys_known(objs: list[Any]) -> bool:
    """Every key is format 2's: the struct has those and refuses any other."""
    return True


READ: Callable[[int, bytes, list[str], Any], bool] | None = None

if msgspec is not None:
    # Format 2's keys, any other refused; v and s required, as the dict reading's checks
    # require them; an absent key reads as ABSENT says.
    Event = msgspec.defstruct(
        "Event", [("v", Any), ("s", Any),
                  *[(key, Any, ABSENT.get(key)) for key in sorted(SHORT_KEYS - {"v", "s"})]],
        forbid_unknown_fields=True, module=__name__)

    # An event line's elements: its seq, the chain hash, the event's raw bytes and, when
    # it has any, the raw content (a fifth element, or a float or bool for the seq, refuse).
    class Line(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
        """An event line: [seq, chain hash, event, content]."""

        seq: int
        chain: str
        event: msgspec.Raw
        content: msgspec.Raw = msgspec.Raw()  # none: empty

    _LINE = msgspec.json.Decoder(Line).decode
    _EVENT = msgspec.json.Decoder(Event).decode
    _ANY = msgspec.json.Decoder().decode

    def read(seq: int, link: bytes, lines: list[str], run: Any) -> bool:
        """verify_batch._read's pass by msgspec: fills the run's events, leaves, contents
        and chain; False when a line is not in the export's layout."""
        sha, line_of, event, anything = _SHA, _LINE, _EVENT, _ANY
        objs, leaves, contents = run.objs, run.leaves, run.contents
        parts: Line | None = None
        for line in lines:
            seq += 1
            parts = line_of(line)
            raw = parts.event
            leaf = sha(b"\x00" + raw).digest()
            link = sha(b"\x02" + link + leaf).digest()
            if parts.seq != seq or parts.chain != link.hex() or not line.endswith("]\n"):
                return False
            # bytes: '[' seq ',"' chain '",' event [',' content] ']' '\n': the chain hash
            # is 64 characters (equal to hex), the seq as str() writes it (an int, and
            # JSON has no other way to write it as short)
            size = len(line) if line.isascii() else len(line.encode())
            content = parts.content
            if not content:
                if size != len(str(seq)) + 71 + len(raw):
                    return False
                contents.append(None)
            else:
                if size != len(str(seq)) + 72 + len(raw) + len(content):
                    return False
                read_content = anything(content)
                if type(read_content) is not list:
                    return False
                contents.append(read_content)
            objs.append(event(raw))
            leaves.append(leaf)
        if parts is not None:
            run.chain, run.chain_hex = link, parts.chain
        return True

    def _reads_as_json() -> bool:
        """msgspec answers these as the checks assume (a later version could differ): the
        last of a key twice, and a lone surrogate's escape, NaN, a trailing comma and a
        key of no format refused."""
        try:
            if next(struct_field([_EVENT('{"v":1,"v":2,"s":0}')], "v")) != 2:
                return False
        except ValueError:
            return False
        for refused in ('"\\ud800"', "[NaN]", "[1,]"):
            try:
                _ANY(refused)
            except ValueError:
                continue
            return False
        try:
            _EVENT('{"v":2,"s":0,"zz":1}')
        except ValueError:
            return True
        return False

    READ = read if _reads_as_json() else None
