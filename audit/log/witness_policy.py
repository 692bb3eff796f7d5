"""Transparency log trust policies (c2sp.org/tlog-policy): the logs, the witnesses with
their cosignature keys and URLs, groups, and the quorum a checkpoint must meet.

Standard library plus `cryptography` only: the offline verifier may import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit.errors import KeyFileError
from audit.log import cosignature, signed_note

NONE = "none"


class PolicyFileError(ValueError):
    """A policy file that does not follow c2sp.org/tlog-policy."""


@dataclass(frozen=True)
class Witness:
    """A `witness NAME VKEY [URL]` line."""

    name: str
    cosigner: cosignature.Cosigner
    url: str | None


@dataclass(frozen=True)
class Group:
    """A `group NAME all|any|K MEMBER...` line: met when K of its members are."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass
class TrustPolicy:
    """Logs (vkeys), witnesses, groups and the quorum (a witness, a group or `none`)."""

    logs: list[str] = field(default_factory=list)
    witnesses: dict[str, Witness] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str = NONE

    def signed_by(self, note: str) -> set[str]:
        """The names of the policy's witnesses with a valid cosignature on the note."""
        return {w.name for w in self.witnesses.values()
                if cosignature.verify(note, w.cosigner) is not None}

    def met(self, signers: set[str], name: str | None = None) -> bool:
        """Whether `signers` (witness names) satisfy the quorum (or the named member)."""
        name = self.quorum if name is None else name
        if name == NONE:
            return True
        if name in self.witnesses:
            return name in signers
        group = self.groups[name]
        return sum(self.met(signers, m) for m in group.members) >= group.threshold

    def log_vkey(self, origin: str) -> str | None:
        """The policy's verifier key for the log with this origin."""
        for vkey in self.logs:
            if vkey.split("+", 1)[0] == origin:
                return vkey
        return None


def parse(text: str) -> TrustPolicy:
    """A policy from its text; PolicyFileError naming the line that is wrong."""
    policy = TrustPolicy()
    quorums = 0
    keys: set[bytes] = set()
    for number, raw in enumerate(text.split("\n"), 1):
        if any(ord(c) < 0x20 and c != "\t" for c in raw) or "\x7f" in raw:
            raise PolicyFileError(f"line {number}: control characters are not allowed")
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            kind = words[0]
            if kind == "log" and len(words) in (2, 3):
                signed_note.parse_verifier_key(words[1])
                policy.logs.append(words[1])
            elif kind == "witness" and len(words) in (3, 4):
                _new_name(policy, words[1])
                cosigner = cosignature.parse_vkey(words[2])
                if cosigner.public in keys:
                    raise PolicyFileError("a witness key is listed twice")
                keys.add(cosigner.public)
                policy.witnesses[words[1]] = Witness(words[1], cosigner,
                                                     words[3] if len(words) == 4 else None)
            elif kind == "group" and len(words) >= 4:
                policy.groups[words[1]] = _group(policy, words[1], words[2], words[3:])
            elif kind == "quorum" and len(words) == 2:
                if words[1] != NONE and words[1] not in (*policy.witnesses, *policy.groups):
                    raise PolicyFileError(f"{words[1]!r} is not defined before the quorum")
                policy.quorum = words[1]
                quorums += 1
            else:
                raise PolicyFileError(f"not a policy line: {raw.strip()!r}")
        except (PolicyFileError, KeyFileError) as exc:
            raise PolicyFileError(f"line {number}: {exc}") from None
    if quorums != 1:
        raise PolicyFileError("a policy has exactly one quorum line")
    return policy


def _new_name(policy: TrustPolicy, name: str) -> None:
    if name == NONE or name in policy.witnesses or name in policy.groups:
        raise PolicyFileError(f"{name!r} is already defined (or reserved)")


def _group(policy: TrustPolicy, name: str, k: str, members: list[str]) -> Group:
    _new_name(policy, name)
    for m in members:
        if m not in policy.witnesses and m not in policy.groups:
            raise PolicyFileError(f"group member {m!r} is not defined before the group")
    if len(set(members)) != len(members):
        raise PolicyFileError("a group lists a member at most once")
    if k == "all":
        threshold = len(members)
    elif k == "any":
        threshold = 1
    elif k.isdigit() and k[0] != "0" and 1 <= int(k) <= len(members):
        threshold = int(k)
    else:
        raise PolicyFileError(f"group threshold {k!r} is not all, any or 1..{len(members)}")
    return Group(name, threshold, tuple(members))


def load(path: str | Path) -> TrustPolicy:
    """A policy from a file."""
    try:
        return parse(Path(path).read_bytes().decode("utf-8", errors="strict"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"{path}: cannot read the witness policy: {exc}") from None
