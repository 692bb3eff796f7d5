"""Canonical event bytes (sorted-key compact JSON, RFC 8785-compatible) and commitments."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from audit.log.fast_json import sorted_compact

MAX_SAFE_INT = 2**53 - 1


class _Refused(ValueError):
    """A value canonical JSON does not allow; `path` is filled in on the way out."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why
        self.path: list[str] = []


def _quick(value: Any) -> bool | None:
    """The first pass over every append: True when every value is allowed and every key
    is ASCII, False when every value is allowed and some key is not, None when in doubt
    (a refusal, a subclass of an allowed type): `_check` then decides, with its path."""
    kind = type(value)
    if kind is dict:
        ascii_keys = True
        for k in value:
            if type(k) is not str:
                return None
            ascii_keys = ascii_keys and k.isascii()
        values = value.values()
    elif kind is list:
        ascii_keys, values = True, value
    elif kind is str or value is None or kind is bool:
        return True
    elif kind is int:
        return -MAX_SAFE_INT <= value <= MAX_SAFE_INT or None
    else:
        return None
    for v in values:  # scalars inline: a call per value is what this pass saves
        kind = type(v)
        if kind is str or v is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
                return None
            continue
        inner = _quick(v)
        if inner is None:
            return None
        ascii_keys = ascii_keys and inner
    return ascii_keys


def _check(value: Any) -> bool:
    """Raise on a value canonical JSON does not allow; True when every key is ASCII.
    (No path is built unless something is refused.)"""
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise _Refused(f"integer {value} is beyond 2^53")
        return True
    if isinstance(value, dict):
        ascii_keys = True
        for k, v in value.items():
            if not isinstance(k, str):
                raise _Refused("keys must be strings")
            try:
                ascii_keys = _check(v) and ascii_keys and k.isascii()
            except _Refused as exc:
                exc.path.append(f".{k}")
                raise
        return ascii_keys
    if isinstance(value, list):
        ascii_keys = True
        for i, v in enumerate(value):
            try:
                ascii_keys = _check(v) and ascii_keys
            except _Refused as exc:
                exc.path.append(f"[{i}]")
                raise
        return ascii_keys
    raise _Refused(f"{type(value).__name__} is not allowed in canonical JSON "
                   "(use strings for decimals and timestamps)")


def _utf16_sorted(value: Any) -> Any:
    # RFC 8785 orders keys by UTF-16 code units, which differs from code-point order
    # only for keys holding characters above U+FFFF next to U+E000..U+FFFF.
    if isinstance(value, dict):
        return {k: _utf16_sorted(value[k])
                for k in sorted(value, key=lambda k: k.encode("utf-16-be"))}
    if isinstance(value, list):
        return [_utf16_sorted(v) for v in value]
    return value


# Built once: json.dumps with arguments builds an encoder on every call.
_SORTED = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False)
_AS_GIVEN = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_bytes(value: dict[str, Any]) -> bytes:
    """RFC 8785 JSON (keys in UTF-16 order, compact, UTF-8) of strings, safe integers,
    booleans and null."""
    ascii_keys = _quick(value)
    if ascii_keys is None:
        try:
            ascii_keys = _check(value)
        except _Refused as exc:
            raise ValueError(f"${''.join(reversed(exc.path))}: {exc.why}") from None
    if ascii_keys:
        # ASCII keys: code-point order (sort_keys) is UTF-16 order.
        fast = sorted_compact(value)  # orjson: the same bytes (None: it will not)
        return fast if fast is not None else _SORTED.encode(value).encode("utf-8")
    return _AS_GIVEN.encode(_utf16_sorted(value)).encode("utf-8")


def content_text(value: Any) -> str:
    """The text a commitment covers: the string itself, or the canonical JSON of a list."""
    if isinstance(value, str):
        return value
    return canonical_bytes({"v": value}).decode("utf-8")[5:-1]


def commitment(salt: bytes, text: str) -> str:
    """SHA-256(salt || UTF-8 text), hex: binds the ledger to text it does not hold."""
    return hashlib.sha256(salt + text.encode("utf-8")).hexdigest()


def new_salt() -> bytes:
    """A fresh random 32-byte salt (one per field)."""
    return os.urandom(32)
