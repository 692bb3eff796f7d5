"""Bundle format 2's event lines a run at a time (issue #29): the checks of
`verify_embedded.fast_line` made once over a run of lines instead of once a line.

Per line only what must be: the line's seq, the event's span (the C scanner), its leaf
and chain link, the chain hash the line states, and its content. The checks of what the
events say (format, seq, keys, action, payload, commitments against the content, policy
references) are then made over the whole run, mostly by `map`, `zip`, `chain` and set
operations, whose loops run in C. Whatever a run holds that is not the usual event of
format 2 with all its content makes the run fail, changing nothing; the run is then read
a line at a time (fast_line, else slow_line), which names the problem, if there is one,
as the verifier always has (tests/unit/test_verify_batch.py holds it to that).

With msgspec installed, verify_typed makes the per-line pass instead (the same findings,
faster); without it, the standard library only (the offline verifier imports this).
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterator
from itertools import chain, compress
from typing import Any

from audit.log.fast_json import IN_A_LINE, any_too_deep
from audit.verifier import verify_typed
from audit.verifier.verify_lean import SCAN, SPECIAL_ACTIONS
from audit.verifier.verify_log import BATCH, PROGRESS_EVERY, Verifier

RUN = 64  # lines a run (msgspec: 64 beat 32 and 128; more keeps more events alive)
_SHA = hashlib.sha256
_UNHEX = binascii.unhexlify  # unlike bytes.fromhex, no whitespace: a salt is 64 hex digits
_B2A = binascii.b2a_base64
_TO_URL = bytes.maketrans(b"+/", b"-_")
_NONE = type(None)
_ABSENT = type(...)
_FAILED = (StopIteration, ValueError, TypeError, AttributeError, IndexError, KeyError,
           RecursionError)


class _Run:
    """What the per-line pass found in a run: each event's object (a dict, or msgspec's
    struct), leaf and content (None when its line has none), and the chain after it;
    `field` reads a key of every event, `keys_known` checks their keys."""

    __slots__ = ("objs", "leaves", "contents", "chain", "chain_hex", "field", "keys_known")

    def __init__(self) -> None:
        self.objs: list[Any] = []
        self.leaves: list[bytes] = []
        self.contents: list[Any] = []
        self.chain = b""
        self.chain_hex = ""
        self.field = verify_typed.dict_field
        self.keys_known = verify_typed.dict_keys_known


def fast_run(v: Verifier, lines: list[str]) -> bool:
    """Verify a run of event lines as the export writes them, each the usual event of
    format 2 with all its committed fields' text. False (nothing changed) when any line
    is anything else; then read the run a line at a time."""
    if v.structural or not lines or any_too_deep(lines, IN_A_LINE):
        return False  # too deep: slow_line refuses it by name
    try:
        run = _read(v.seq, v.chain, lines)
        if run is None or not _said(run, v.seq + 1) or not _contents(run):
            return False
        refs = list(run.field(run.objs, "pr"))  # ...: none (verify_typed.ABSENT)
        if not set(map(type, refs)) <= {int, _ABSENT}:
            return False
    except _FAILED:
        return False
    for ref in set(refs) - {...}:  # last: a range verifier notes the references
        if v.policy_of(ref) is None:
            return False
    _accept(v, run)
    return True


def _read(seq: int, link: bytes, lines: list[str]) -> _Run | None:
    """The per-line pass: seq, span, leaf, chain link and the chain hash stated, and the
    content beside the bytes (None when a line is not in the export's layout); msgspec's
    when it is installed."""
    run = _Run()
    if verify_typed.READ is not None:
        run.field, run.keys_known = verify_typed.struct_field, verify_typed.struct_keys_known
        return run if verify_typed.READ(seq, link, lines, run) else None
    return _scanned(seq, link, lines, run)


def _scanned(seq: int, link: bytes, lines: list[str], run: _Run) -> _Run | None:
    """The per-line pass by the standard library's JSON scanner."""
    sha, scan = _SHA, SCAN
    objs, leaves, contents = run.objs, run.leaves, run.contents
    i = 0
    for line in lines:
        seq += 1
        head = f'[{seq},"'
        i = len(head)
        if not line.startswith(head) or not line.startswith('",{', i + 64):
            return None
        obj, end = scan(line, i + 66)
        leaf = sha(b"\x00" + line[i + 66:end].encode()).digest()
        link = sha(b"\x02" + link + leaf).digest()
        if line[i:i + 64] != link.hex():
            return None
        objs.append(obj)
        leaves.append(leaf)
        if line[end] == "]":
            if line[end:] != "]\n":
                return None
            contents.append(None)
            continue
        if not line.startswith(",[", end):
            return None
        content, after = scan(line, end + 1)
        if line[after:] != "]\n":
            return None
        contents.append(content)
    run.chain, run.chain_hex = link, lines[-1][i:i + 64]
    return run


def _said(run: _Run, first: int) -> bool:
    """Each event is format 2 saying its seq, with format 2's keys only, not an action
    that takes the usual reading, its payload an object (or none) with no field shaped
    like a commitment."""
    objs, field = run.objs, run.field
    n = len(objs)
    said = list(field(objs, "s"))
    payloads = list(field(objs, "payload"))
    if not (list(field(objs, "v")) == [2] * n and said == list(range(first, first + n))
            and set(map(type, said)) == {int}
            and run.keys_known(objs)
            and SPECIAL_ACTIONS.isdisjoint(field(objs, "a"))
            and set(map(type, payloads)) <= {dict, _NONE}):
        return False
    values = list(chain.from_iterable(map(dict.values, filter(None, payloads))))
    # a clear field shaped like a commitment counts as one: the usual reading takes it
    return dict not in set(map(type, values)) or not any(
        "commitment" in value for value in values if type(value) is dict)


def _contents(run: _Run) -> bool:
    """Every event with commitments has the text of each committed field, in the order
    of its commitments, and SHA-256(salt || text) of each is its commitment; an event
    without them has no content."""
    committed: list[Any] = list(run.field(run.objs, "c"))
    contents = run.contents
    if (not set(map(type, committed)) <= {dict, _NONE}
            or list(map(bool, committed)) != list(map(bool, contents))):
        return False
    committing = list(map(bool, contents))
    if not any(committing):
        return True
    payloads: Iterator[Any] = run.field(list(compress(run.objs, committing)), "payload")
    committed = list(filter(None, committed))
    contents = list(filter(None, contents))
    # no payload field is committed too (stricter than event by event: a field clear in
    # one event and committed in another of the run sends the run a line at a time)
    if (list(map(len, committed)) != list(map(len, contents))
            or not set().union(*payloads).isdisjoint(set().union(*committed))):
        return False
    entries = list(chain.from_iterable(contents))
    if set(map(type, entries)) != {list}:
        return False
    names, salts, texts = zip(*entries, strict=True)
    if tuple(chain.from_iterable(committed)) != names:
        return False
    sha, unhex, b2a = _SHA, _UNHEX, _B2A
    made = b"".join([b2a(sha(unhex(salt) + text.encode()).digest())
                     for salt, text in zip(salts, texts, strict=True)]).translate(_TO_URL)
    wants = list(chain.from_iterable(map(dict.values, committed)))
    kinds = list(map(type, wants))
    if list in kinds:  # a list field's commitment: a list of one
        for at, kind in enumerate(kinds):
            if kind is list:
                wants[at] = wants[at][0] if len(wants[at]) == 1 else "!"
    # Each made commitment is 43 characters of base64url, "=" and a newline (b2a's
    # padding and line end): equal strings mean equal commitments one by one, for "="
    # is in no base64url text.
    return made == ("=\n".join(wants) + "=\n").encode()


def _accept(v: Verifier, run: _Run) -> None:
    """The run's events join the verifier: seq, chain, counts and the tree, cut at each
    size a checkpoint names (its root compared with the counts as a line at a time has
    them there)."""
    v._close_event()
    done, n = 0, len(run.objs)
    while done < n:
        first = v.seq + 1
        cut = min(n, done + v.next_due - first)
        v.seq += cut - done
        v.report.events += cut - done
        v.report.contents += sum(map(len, filter(None, run.contents[done:cut - 1])))
        v.pending.extend(run.leaves[done:cut])
        if v.next_due == v.seq + 1 or len(v.pending) >= BATCH:
            v.grow(v.pending)  # a root that differs: the last event's content uncounted
            v.pending = []
        v.report.contents += len(run.contents[cut - 1] or ())
        if v.progress is not None:
            for seq in range(-(-first // PROGRESS_EVERY) * PROGRESS_EVERY, v.seq + 1,
                             PROGRESS_EVERY):
                v.progressed(seq)
        done = cut
    v.chain, v.chain_hex = run.chain, run.chain_hex
    v.escalation = next(run.field(run.objs[-1:], "e"))
